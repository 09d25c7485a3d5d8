// `npm run bench`: the engine benchmark (written to docs/bench.md) and the scoring-library benchmark
// (docs/bench-lm.md). Both compare side by side in one run and report ratios: the machine is shared.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineBench, engineDoc, engineTable } from './engine-bench.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  if (only.length === 0 || only.includes('engine')) {
    console.log('engine benchmark (synthetic paper-shaped DAG and 10×) …');
    const rows = await engineBench();
    const table = engineTable(rows);
    console.log(table);
    const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
    writeFileSync(join(REPO, 'docs', 'bench.md'), engineDoc(table, `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, load average at the end ${load}`));
  }
  if (only.length === 0 || only.includes('lm')) {
    console.log('scoring-library benchmark (plain vs fast path on tiny-gpt2) …');
    const { runLmBench } = await import('./lm-bench.js');
    await runLmBench({ out: join(REPO, 'docs', 'bench-lm.md') });
  }
}

await main();
