// Everything the report shows, from the store and the planner's verdicts of the current pipeline
// file: stages' provenance, the domains' figures and tables, and the item sets of score stages
// (built one at a time when the site is written, so a large sweep never sits in memory at once).
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseCsv, type Table } from '../analysis/csv-io.js';
import { modelInfo } from '../analysis/models.js';
import type { ModelSpec } from '../engine/kind.js';
import type { Engine } from '../engine/engine.js';
import type { Verdict } from '../engine/planner.js';
import type { Store } from '../engine/store/store.js';
import { domainOf, reportDomains, useReportTasks } from './domains.js';
import type { DeclaredTask } from '../tasks/registry.js';
import { buildItemSet, type ItemSetSource } from './items.js';
import { domainView } from './overview.js';
import { stageProvenance, type Describe } from './provenance.js';
import { TokenDecoders } from './tokens.js';
import type { ItemSet, ItemSetIndex, ReportData } from './types.js';

export class ReportError extends Error {
  override name = 'ReportError';
}

export interface Collected {
  data: ReportData;
  /** Build the items of one item set (data.itemSets[i]). */
  items(i: number): Promise<ItemSet>;
}

/** The report of a pipeline file: its planner's verdicts (the ones `status` shows) over the store. */
export async function collectReport(engine: Engine, opts: { compare?: string } = {}): Promise<Collected> {
  const store = engine.store;
  if (!existsSync(store.dir('runs'))) {
    const file = relative(process.cwd(), engine.opts.file) || engine.opts.file;
    throw new ReportError(`no results to report: the store ${store.root} has no run records (missing or empty); run \`npx pipeline run -f ${file}\` first, or pass --store <dir>`);
  }
  const verdicts = await engine.status();
  const describe: Describe = (id) => {
    const i = engine.graph.byId.get(id);
    return i ? { kind: i.kind, vars: i.vars } : undefined;
  };
  return collectFrom({ store, verdicts, describe, models: engine.spec.models, tasks: engine.spec.tasks, pipeline: engine.opts.file, ...opts });
}

export interface CollectSource {
  store: Store;
  verdicts: Map<string, Verdict>;
  describe: Describe;
  models: ModelSpec[];
  /** The pipeline's tasks: its declared ones are registered, so their domains are reported. */
  tasks?: readonly DeclaredTask[];
  /** What the report is of (the pipeline file), for its heading. */
  pipeline: string;
  compare?: string;
}

export async function collectFrom(src: CollectSource): Promise<Collected> {
  const { store, verdicts } = src;
  if (src.tasks) useReportTasks(src.tasks);
  const opts = src.compare ? { compare: src.compare } : {};
  const stages = await stageProvenance(src.describe, verdicts, store);
  const displays = new Map(src.models.map((m) => [m.name, modelInfo(m).display]));

  // Long tables of fresh aggregate stages, per domain: the per-item method values.
  const long = new Map<string, { size?: Table; trainingTime?: Table }>();
  for (const p of stages) {
    if (p.kind !== 'aggregate' || p.state !== 'fresh' || !p.run) continue;
    for (const d of reportDomains()) {
      const e = long.get(d.name) ?? {};
      const read = (n: string): Table | undefined => {
        const o = p.run!.outputs[n];
        return o ? parseCsv(readFileSync(store.objectPath(o.digest), 'utf8'), `${p.id} ${n}`) : undefined;
      };
      e.size ??= read(`${d.name}_long_size`);
      e.trainingTime ??= read(`${d.name}_long_training_time`);
      long.set(d.name, e);
    }
  }

  const itemSets: ItemSetIndex[] = [];
  const sources: (Omit<ItemSetSource, 'decode'> & { tree?: string })[] = [];
  for (const p of stages) {
    if (p.kind !== 'score') continue;
    const task = String(p.vars['task'] ?? '');
    const condition = String(p.vars['condition'] ?? '');
    const model = String(p.vars['model'] ?? '');
    const revision = String(p.vars['revision'] ?? '');
    const dom = domainOf(task);
    const csv = p.state === 'fresh' ? p.run?.outputs['csv'] : undefined;
    const index = itemSets.length;
    itemSets.push({
      index, stage: p.id, task, condition, model, display: displays.get(model) ?? model, revision, domain: dom?.name ?? '', state: p.state,
      count: 0, chunks: 0, file: csv ? `data/items/${index}-0.js` : '',
    });
    if (!csv) continue;
    const l = dom ? long.get(dom.name) : undefined;
    const tbl = revision ? l?.trainingTime : l?.size;
    const tree = p.model?.checkpoint ?? p.model?.converted;
    const req = p.run?.outputs['requests'];
    sources.push({
      index, stage: p.id, task, condition, display: displays.get(model) ?? model, revision, domain: dom, csvDigest: csv.digest,
      ...(req ? { requestsDigest: req.digest } : {}), ...(tbl ? { long: tbl } : {}), ...(tree ? { tree } : {}),
    });
  }

  const domains = reportDomains().map((d) => domainView(d, { store, stages, itemSets, long }))
    .filter((v) => v.figures.length || v.table.length || v.problems.length || itemSets.some((s) => s.domain === v.name));
  const counts: Record<string, number> = {};
  for (const p of stages) counts[p.state] = (counts[p.state] ?? 0) + 1;
  const data: ReportData = { generatedAt: new Date().toISOString(), pipeline: src.pipeline, counts, domains, itemSets, stages };
  if (opts.compare) {
    const rev = opts.compare;
    if (!itemSets.some((s) => s.revision === rev)) {
      const known = [...new Set(itemSets.map((s) => s.revision).filter(Boolean))];
      throw new ReportError(`--compare ${rev}: no score stage of this pipeline has revision "${rev}"${known.length ? `; revisions: ${known.join(', ')}` : ' (it declares no revisions)'}`);
    }
    const pairs = itemSets.filter((s) => s.revision === rev).flatMap((o) => {
      const base = itemSets.find((b) => b.revision === '' && b.task === o.task && b.condition === o.condition && b.model === o.model);
      return base ? [{ base: base.index, other: o.index }] : [];
    });
    data.compare = { revision: rev, pairs };
  }

  const decoders = new TokenDecoders(store);
  const bySource = new Map(sources.map((s) => [s.index, s]));
  return {
    data,
    async items(i) {
      const s = bySource.get(i);
      if (!s) throw new Error(`item set ${i} has no fresh results`);
      const decode = await decoders.forTree(s.tree);
      const set = buildItemSet(store, decode ? { ...s, decode } : s);
      itemSets[i]!.count = set.items.length;
      return set;
    },
  };
}
