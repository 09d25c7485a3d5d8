// The static site: index.html, the page's script and styles, vega/vega-lite/vega-embed copied
// from node_modules (no network), data/report.js and one data/items/<n>.js per score stage. Data
// files are scripts (`window.…(…)`), not JSON fetched, because browsers refuse fetch() on file://.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Collected } from './collect.js';
import type { ItemSet } from './types.js';

/** A file of an installed package (its `exports` hide the prebuilt bundles from require.resolve). */
function packageFile(rel: string): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (;;) {
    const p = join(dir, 'node_modules', rel);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error(`node_modules/${rel} is missing: run npm ci in the project folder`);
    dir = up;
  }
}

/** The page's own files: compiled beside this module (dist/src/report/assets), else the sources. */
export function assetsDir(): string {
  const here = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(join(here, 'report.js'))) return here;
  const src = fileURLToPath(new URL('../../../src/report/assets/', import.meta.url));
  if (existsSync(join(src, 'report.js'))) return src;
  throw new Error(`the report's page files are missing (looked in ${here} and ${src}); run npm run build`);
}

const LIBS: [string, string][] = [
  ['vega/build/vega.min.js', 'vega.min.js'],
  ['vega-lite/build/vega-lite.min.js', 'vega-lite.min.js'],
  ['vega-embed/build/vega-embed.min.js', 'vega-embed.min.js'],
];

/** Items per data file: the first page shows when the first file is in, whatever the set's size. */
export const ITEMS_PER_CHUNK = 200;

/** One score stage's items as data files `<index>-<chunk>.js` (data/items/). */
export function itemChunkFiles(set: ItemSet): { name: string; text: string }[] {
  const chunks = Math.max(1, Math.ceil(set.items.length / ITEMS_PER_CHUNK));
  return Array.from({ length: chunks }, (_, k) => ({
    name: `${set.index}-${k}.js`,
    text: `window.__reportItems(${JSON.stringify({ ...set, chunk: k, chunks, items: set.items.slice(k * ITEMS_PER_CHUNK, (k + 1) * ITEMS_PER_CHUNK) })});\n`,
  }));
}

function indexHtml(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title.replace(/[<&>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</title>
<link rel="stylesheet" href="assets/report.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><h1>Experiment report</h1><nav aria-label="Sections" id="nav"></nav></header>
<main id="main" tabindex="-1"><p id="loading">Loading…</p></main>
<script src="data/report.js"></script>
<script src="assets/report.js"></script>
</body>
</html>
`;
}

export interface WriteResult {
  dir: string;
  stages: number;
  itemSets: number;
  items: number;
  ms: number;
}

export async function writeSite(c: Collected, dir: string): Promise<WriteResult> {
  const t0 = Date.now();
  mkdirSync(join(dir, 'assets'), { recursive: true });
  rmSync(join(dir, 'data'), { recursive: true, force: true });
  mkdirSync(join(dir, 'data', 'items'), { recursive: true });
  const assets = assetsDir();
  for (const f of ['report.js', 'report.css']) copyFileSync(join(assets, f), join(dir, 'assets', f));
  for (const [from, to] of LIBS) copyFileSync(packageFile(from), join(dir, 'assets', to));
  let items = 0;
  // Item files first: writing them fills in each set's count, which data/report.js carries.
  for (const s of c.data.itemSets) {
    if (!s.file) continue;
    const set = await c.items(s.index);
    items += set.items.length;
    const files = itemChunkFiles(set);
    s.chunks = files.length;
    for (const f of files) writeFileSync(join(dir, 'data', 'items', f.name), f.text);
  }
  writeFileSync(join(dir, 'data', 'report.js'), `window.REPORT = ${JSON.stringify(c.data)};\n`);
  writeFileSync(join(dir, 'index.html'), indexHtml(`Report: ${c.data.pipeline}`));
  return { dir, stages: c.data.stages.length, itemSets: c.data.itemSets.filter((s) => s.file).length, items, ms: Date.now() - t0 };
}
