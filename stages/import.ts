// Stage kind `import`: bring existing score CSVs (the paper's, another machine's) into the
// pipeline so that aggregate and plot-data can analyse them without scoring anything.
// Param `dir`: a folder laid out like output/ — `<task>[/<condition>]/<model>[_<revision>].csv`,
// where <model> is a declared model's short name (ModelSpec.name) and <revision> the revision
// ('' = final weights). Output `scores`: a folder with those CSVs copied unchanged (crt files keep
// their own generated_response_label). plan() keys the stage on the folder's digest, so editing
// or adding a file re-runs it; the mapping of files to models happens in aggregate.

import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { ModelRegistry } from '../src/analysis/models.js';
import { listCsvFiles, scanOutputLayout } from '../src/analysis/score-files.js';
import { readParams } from '../src/engine/params.js';

export const importParams = {
  dir: { type: 'string', input: true, doc: 'a folder laid out like output/: <task>[/<condition>]/<model>[_<revision>].csv (required)' },
} as const;

function importDir(ctx: PlanContext): string {
  const { dir } = readParams('import', importParams, ctx.instance.params, `stage ${ctx.instance.id} (import)`);
  if (dir === undefined) {
    throw new Error(`stage ${ctx.instance.id} (import): param "dir" is required: a folder laid out like output/ (<task>[/<condition>]/<model>[_<revision>].csv)`);
  }
  // Relative to the pipeline file's folder; a path typed on the command line (--set import_dir=…)
  // is usually relative to where the user stands, so that is tried next.
  const candidates = [resolve(ctx.spec.projectDir, dir), resolve(process.cwd(), dir)];
  const abs = candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
  if (!abs) {
    throw new Error(`stage ${ctx.instance.id} (import): param "dir" ${JSON.stringify(dir)} is not a folder (looked at ${[...new Set(candidates)].join(' and ')})`);
  }
  return abs;
}

export const importKind: StageKind = {
  name: 'import',
  description: 'Import score CSVs from a folder laid out like output/ (e.g. the paper\'s outputs) for analysis',
  params: importParams,
  isolation: 'inline',
  outputs: () => [{ name: 'scores', type: 'dir' }],
  async plan(ctx) {
    const { digest } = await ctx.digest(importDir(ctx));
    return { dir_digest: digest };
  },
  async execute(ctx: StageContext): Promise<void> {
    const src = importDir(ctx);
    const files = listCsvFiles(src);
    if (files.length === 0) throw new Error(`stage ${ctx.instance.id} (import): no .csv files under ${src}`);
    const out = join(ctx.outDir, 'scores');
    mkdirSync(out, { recursive: true });
    for (const rel of files) {
      const to = join(out, ...rel.split('/'));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(src, ...rel.split('/')), to);
    }
    // Say now which files aggregate will not be able to attribute to a declared model.
    const scan = scanOutputLayout(out, new ModelRegistry(ctx.spec.models));
    for (const s of scan.skipped) ctx.warn(`import: ${s}; aggregate will ignore it`);
    // Where the files came from: aggregate names the user's file, not the store copy, in warnings.
    ctx.record('source_dir', src);
    ctx.record('files', files.length);
    ctx.record('matched', scan.files.length);
    ctx.log(`imported ${files.length} CSV file(s) from ${src} (${scan.files.length} match declared models)`);
  },
};

export default importKind;
