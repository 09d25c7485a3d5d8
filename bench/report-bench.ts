// `npm run bench -- report`: how long `pipeline report` takes. (1) The engine benchmark's
// paper-shaped DAG scaled to the paper pipeline's 266 stages (23 fetch, 118 config, 118 score, 6 aggregate, 1 plot), run once,
// then reported: provenance of every stage from its run records and the planner's verdicts.
// (2) The quickstart with every demo item (--set limit=0): 53 stages, 20 score stages whose items
// (requests.jsonl, tokens decoded) are written as per-stage data files.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { syntheticPipeline } from './engine-bench.js';
import { itemChunkFiles } from '../src/report/site.js';
import type { ItemSet } from '../src/report/types.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'pipeline.js');

function cli(dir: string, args: string[]): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed in ${dir}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface ReportBenchRow {
  case: string;
  stages: number;
  medianMs: number;
  runs: number[];
  summary: string;
}

export async function reportBench(repeats = 3): Promise<ReportBenchRow[]> {
  const rows: ReportBenchRow[] = [];
  const shape = { fetch: 23, config: 118, score: 118, aggregate: 6 };
  const dag = mkdtempSync(join(tmpdir(), 'ltd-report-bench-'));
  mkdirSync(join(dag, 'in'));
  mkdirSync(join(dag, 'out'));
  for (let f = 0; f < shape.fetch; f++) writeFileSync(join(dag, 'in', `${f}.txt`), `input ${f}\n`);
  writeFileSync(join(dag, 'pipeline.yaml'), syntheticPipeline(shape));
  cli(dag, ['run']);
  const dagRuns = Array.from({ length: repeats }, () => cli(dag, ['report']));
  rows.push({ case: 'paper-shaped DAG (run stages)', stages: 266, medianMs: median(dagRuns.map((r) => r.ms)), runs: dagRuns.map((r) => r.ms), summary: dagRuns[0]!.stdout.trim() });

  const qs = mkdtempSync(join(tmpdir(), 'ltd-report-bench-qs-'));
  copyFileSync(join(REPO, 'examples', 'quickstart', 'pipeline.yaml'), join(qs, 'pipeline.yaml'));
  cli(qs, ['run', '--set', 'limit=0']);
  const qsRuns = Array.from({ length: repeats }, () => cli(qs, ['report', '--set', 'limit=0']));
  rows.push({ case: 'quickstart, every demo item', stages: 53, medianMs: median(qsRuns.map((r) => r.ms)), runs: qsRuns.map((r) => r.ms), summary: qsRuns[0]!.stdout.trim() });
  const page = await firstPageBench(join(qs, 'report'), repeats);
  if (page) rows.push(page);
  return rows;
}

/**
 * A lambada-sized item set in the browser: one quickstart lambada set's items repeated to 5,153
 * (the paper's passage count), then the time from opening its items page to the first page shown.
 */
export async function firstPageBench(site: string, repeats: number): Promise<ReportBenchRow | undefined> {
  const chromium = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) return undefined;
  const reportJs = join(site, 'data', 'report.js');
  const data = readFileSync(reportJs, 'utf8');
  const report = JSON.parse(data.slice(data.indexOf('{'), data.lastIndexOf('}') + 1)) as { itemSets: { index: number; task: string; file: string; count: number; chunks: number }[] };
  const set = report.itemSets.find((s) => s.task === 'lambada' && s.file)!;
  const text = readFileSync(join(site, set.file), 'utf8');
  const one = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as ItemSet;
  const items = Array.from({ length: 5153 }, (_, i) => ({ ...one.items[i % one.items.length]!, id: String(i) }));
  const files = itemChunkFiles({ index: set.index, stage: one.stage, columns: one.columns, items });
  let bytes = 0;
  for (const f of files) {
    writeFileSync(join(site, 'data', 'items', f.name), f.text);
    bytes += Buffer.byteLength(f.text);
  }
  set.count = items.length;
  set.chunks = files.length;
  writeFileSync(reportJs, `window.REPORT = ${JSON.stringify(report)};\n`);
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
  const runs: number[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      const page = await browser.newPage();
      const t0 = performance.now();
      await page.goto(`${pathToFileURL(join(site, 'index.html')).href}#/items/${set.index}`);
      await page.waitForSelector('main[data-items-ready]');
      runs.push(performance.now() - t0);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return { case: `items page, 5,153 lambada items (${(bytes / 1e6).toFixed(1)} MB in ${files.length} data files), open → first page shown`, stages: 1, medianMs: median(runs), runs, summary: '' };
}

export function reportTable(rows: ReportBenchRow[]): string {
  return ['| case | stages | `pipeline report` (median, whole process) | runs |', '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.case} | ${r.stages} | ${(r.medianMs / 1000).toFixed(2)} s | ${r.runs.map((x) => (x / 1000).toFixed(2)).join(', ')} s |`)].join('\n');
}
