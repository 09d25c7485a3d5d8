// Stage kind `report`: the report site (figures, tables, items, provenance; see docs/report.md)
// of the stages it needs and everything upstream of them, as one folder output materialised at
// `out` (default report/). Every stage it shows is current by construction: it runs only after
// its needs succeeded, and each upstream's run record is the one whose outputs it was given.
// `pipeline report` makes the same site for a whole pipeline file, stale stages included.
import { join } from 'node:path';
import type { StageContext, StageKind } from '../src/engine/kind.js';
import { readParams } from '../src/engine/params.js';
import type { Verdict } from '../src/engine/planner.js';
import { Store, storeRootOfOutput } from '../src/engine/store/store.js';
import { collectFrom } from '../src/report/collect.js';
import { writeSite } from '../src/report/site.js';

const reportParamDecls = {
  out: { type: 'string', default: 'report', doc: 'folder (relative to the pipeline file) the site is materialised at' },
} as const;

// The page's own files are copied into the site, not imported: named here so that the kind's code
// key (its import closure) covers them.
export const PAGE_FILES = [new URL('../src/report/assets/report.js', import.meta.url), new URL('../src/report/assets/report.css', import.meta.url)];

export const report: StageKind = {
  name: 'report',
  description: 'The report site (figures, tables, items, provenance) of the stages it needs',
  libraries: ['vega', 'vega-lite', 'vega-embed'],
  params: reportParamDecls,
  isolation: 'inline',
  outputs(ctx) {
    const p = readParams('report', reportParamDecls, ctx.instance.params, `stage ${ctx.instance.id} (report)`);
    return [{ name: 'site', type: 'dir', materialize: p.out }];
  },
  plan: () => ({}),
  async execute(ctx: StageContext): Promise<void> {
    const first = ctx.inputs.flatMap((i) => Object.values(i.outputs))[0];
    if (!first) throw new Error(`stage ${ctx.instance.id} (report): it needs the stages to report on (needs: [plot-data], for example)`);
    const store = new Store(storeRootOfOutput(first.path, first.type));
    // The inputs, then everything upstream of them (from each run's fingerprint).
    const verdicts = new Map<string, Verdict>();
    const kinds = new Map<string, { kind: string; vars: Record<string, unknown> }>();
    const queue = ctx.inputs.map((i) => i.stageId);
    while (queue.length) {
      const id = queue.shift()!;
      if (verdicts.has(id)) continue;
      const key = await store.lastKey(id);
      const record = key ? await store.readRun(key) : undefined;
      const fp = key ? await store.readFingerprint(key) : undefined;
      if (!key || !record || !fp) throw new Error(`stage ${ctx.instance.id} (report): no run record of upstream stage ${id} in the store`);
      verdicts.set(id, { state: 'fresh', key, record });
      kinds.set(id, { kind: fp.kind, vars: fp.vars });
      queue.push(...Object.keys(fp.inputs));
    }
    const c = await collectFrom({ store, verdicts, describe: (id) => kinds.get(id), models: ctx.spec.models, tasks: ctx.spec.tasks, pipeline: `${ctx.instance.id} in ${ctx.spec.projectDir}` });
    const r = await writeSite(c, join(ctx.outDir, 'site'));
    ctx.log(`report: ${verdicts.size} stages, ${r.itemSets} score stages, ${r.items} items`);
    ctx.record('report', { stages: verdicts.size, item_sets: r.itemSets, items: r.items });
  },
};

export default report;
