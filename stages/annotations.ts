// Stage kind `annotations`: the researcher's hand labels for crt responses, brought into the store
// so that aggregation (and only aggregation) re-runs when they change. Param `path`: a folder of
// `<condition>/<model>.csv` files (columns item_id,label) or one CSV (condition,model,item_id,label);
// docs/analysis.md has the format. A path that does not exist yet gives an empty folder: without
// annotations, aggregate keeps the naive labels.
import { copyFileSync, cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { readParams } from '../src/engine/params.js';

export const annotationsParams = {
  path: { type: 'string', input: true, doc: 'a folder of <condition>/<model>.csv files or one CSV, relative to the pipeline file (required)' },
} as const;

function source(ctx: PlanContext): { abs: string; type: 'file' | 'dir' | 'missing' } {
  const p = readParams('annotations', annotationsParams, ctx.instance.params, `stage ${ctx.instance.id} (annotations)`).path;
  if (p === undefined) throw new Error(`stage ${ctx.instance.id} (annotations): param "path" is required (a folder <condition>/<model>.csv, or one CSV)`);
  const abs = resolve(ctx.spec.projectDir, p);
  if (!existsSync(abs)) return { abs, type: 'missing' };
  return { abs, type: statSync(abs).isDirectory() ? 'dir' : 'file' };
}

export const annotationsKind: StageKind = {
  name: 'annotations',
  description: 'crt hand labels (item_id → label per condition and model) for aggregation',
  params: annotationsParams,
  isolation: 'inline',
  outputs: (ctx) => [{ name: 'annotations', type: source(ctx).type === 'file' ? 'file' : 'dir' }],
  async plan(ctx) {
    const s = source(ctx);
    return { path: s.abs, annotations: s.type === 'missing' ? 'none' : (await ctx.digest(s.abs)).digest };
  },
  async execute(ctx: StageContext) {
    const s = source(ctx);
    // Aggregate reads the stored copy; errors about a label name the user's file, relative to the project.
    ctx.record('source', relative(ctx.spec.projectDir, s.abs) || '.');
    const out = join(ctx.outDir, 'annotations');
    if (s.type === 'file') copyFileSync(s.abs, out);
    else if (s.type === 'dir') cpSync(s.abs, out, { recursive: true });
    else {
      mkdirSync(out);
      ctx.log(`no annotations at ${s.abs} yet: crt keeps the naive labels (add <condition>/<model>.csv files with item_id,label to annotate)`);
    }
  },
};

export default annotationsKind;
