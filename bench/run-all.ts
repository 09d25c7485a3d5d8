// `npm run bench`: the engine benchmark (written to docs/bench.md), the scoring-library benchmark
// (docs/bench-lm.md), the end-to-end CLI benchmark against PyTorch loops (docs/bench-lm.md,
// `npm run bench -- e2e`) and the conversion benchmark (docs/convert.md; `npm run bench -- convert`). The first
// two compare side by side in one run and report ratios: the machine is shared.
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
    const loadStart = loadavg().map((x) => x.toFixed(1)).join(' / ');
    const rows = await engineBench();
    const table = engineTable(rows);
    console.log(table);
    // The per-stage profile and resource use: one full run each, paper-sized.
    const { profileFullRun, profileTable, resourceUse, useTable } = await import('./engine-profile.js');
    const compare = process.env['BENCH_COMPARE'];
    const use = [{ build: 'this build', r: resourceUse(join(REPO, 'bin', 'pipeline.js')) }];
    if (compare) use.push({ build: 'other build', r: resourceUse(resolve(compare)) });
    const usage = useTable(use);
    console.log(usage);
    const profile = profileTable(profileFullRun(1));
    console.log(profile);
    const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
    const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, load average (1 / 5 / 15 min) ${loadStart} at the start, ${load} at the end`;
    const parts: Parameters<typeof engineDoc>[0] = { table, usage, profile, machine };
    if (compare) parts.compared = process.env['BENCH_COMPARE_LABEL'] ?? compare;
    writeFileSync(join(REPO, 'docs', 'bench.md'), engineDoc(parts));
  }
  if (only.includes('profile') && !only.includes('engine')) {
    // Not in the default set: where a full run's per-stage CPU time goes (node --cpu-prof).
    console.log('engine profile (a full run of the paper-shaped DAG under --cpu-prof) …');
    const { profileFullRun, profileTable } = await import('./engine-profile.js');
    console.log(profileTable(profileFullRun(Number(process.env['BENCH_SCALE'] ?? 1))));
  }
  if (only.length === 0 || only.includes('lm')) {
    console.log('scoring-library benchmark (plain vs fast path on tiny-gpt2) …');
    const { runLmBench } = await import('./lm-bench.js');
    await runLmBench({ out: join(REPO, 'docs', 'bench-lm.md') });
  }
  if (only.length === 0 || only.includes('score')) {
    console.log('scoring-graph benchmark (plain, fast, scoring graph, PyTorch loop on converted models) …');
    const { runScoreBench } = await import('./score-bench.js');
    await runScoreBench({ out: join(REPO, 'docs', 'bench-lm.md') });
  }
  if (only.includes('report')) {
    // Not in the default set: it runs the quickstart with every item first (a few minutes).
    console.log('report benchmark (pipeline report over the 266-stage DAG and the full quickstart) …');
    const { reportBench, reportTable } = await import('./report-bench.js');
    const rows = await reportBench();
    console.log(reportTable(rows));
    for (const r of rows) console.log(`${r.case}: ${r.summary}`);
  }
  if (only.length === 0 || only.includes('e2e')) {
    // Shapes, items and threads from the environment (BENCH_E2E_SHAPES=160m,1b; BENCH_E2E_ITEMS; BENCH_THREADS).
    console.log('end-to-end benchmark (pipeline score through the CLI vs one-sequence and batched PyTorch loops) …');
    const { runE2eBench } = await import('./e2e-bench.js');
    await runE2eBench({ out: join(REPO, 'docs', 'bench-lm.md') });
  }
  if (only.includes('disk')) {
    // Not in the default set: it writes ~9 GB (DISK_BENCH_MB, DISK_BENCH_REVISIONS, DISK_BENCH_RETAIN, DISK_BENCH_DIR).
    console.log('disk benchmark (a retained revision sweep against a fake hub: peak disk, bytes written, store after) …');
    const { runDiskBench } = await import('./disk-bench.js');
    await runDiskBench({ out: join(REPO, 'docs', 'bench-disk.md') });
  }
  if (only.length === 0 || only.includes('convert')) {
    // Sizes from the environment (CONVERT_BENCH_GB, default 4; CONVERT_BENCH_DTYPES; CONVERT_BENCH_DIR).
    console.log('conversion benchmark (synthetic llama-shaped fp32 safetensors → ONNX) …');
    const { convertBench, convertTable, writeConvertResults } = await import('./convert-bench.js');
    const rows = await convertBench();
    console.log(convertTable(rows));
    if (process.env.CONVERT_BENCH_WRITE === '1') writeConvertResults(join(REPO, 'docs', 'convert.md'), rows);
  }
}

await main();
