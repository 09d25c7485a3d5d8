// Generation profile (issue 22 item 2): our batched greedy decoding on a converted Pythia-shaped
// random checkpoint vs bench/torch-e2e.py's batched greedy loop, at equal threads, over crt1's and
// digit_mat's own prompts; per step: session.run vs JavaScript time, batch sizes, steps.
//
// Usage: node dist/bench/gen-profile.js [--shape 160m|mini] [--dir D] [--torch 0]
// Env: BENCH_THREADS (1), BENCH_E2E_GEN_CRT (50), BENCH_E2E_GEN_DIGIT (64).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { neoxSizes, writeCheckpoint } from './score-bench.js';
import { taskPrompts } from './e2e-bench.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] ?? d : d;
};
const shape = arg('--shape', '160m');
const dir = arg('--dir', path.join(tmpdir(), `gen-profile-${shape}`));
const threads = Number(process.env.BENCH_THREADS ?? 1);
const sizes = shape === 'mini' ? { layers: 2, hidden: 64, heads: 4, inner: 256, vocab: 50304 } : { layers: 12, hidden: 768, heads: 12, inner: 3072, vocab: 50304 };

const ckpt = path.join(dir, 'checkpoint');
const model = path.join(dir, 'model');
await writeCheckpoint(ckpt, 'neox', neoxSizes(sizes));
const stamp = path.join(model, 'bench-source.json');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== readFileSync(path.join(ckpt, 'bench-spec.json'), 'utf8')) {
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  await convertCheckpoint(ckpt, model, { dtype: 'fp32' });
  writeFileSync(stamp, readFileSync(path.join(ckpt, 'bench-spec.json'), 'utf8'));
}

const { loadLanguageModel } = await import('../src/lm/index.js');
const { greedyProfile } = await import('../src/lm/greedy.js');
const tasks = [
  ['crt1', 'crt', 'crt1', 'crt/stimuli.csv', Number(process.env.BENCH_E2E_GEN_CRT ?? 50)],
  ['digit_mat', 'digit_mat', undefined, 'digit_mat/problems.json', Number(process.env.BENCH_E2E_GEN_DIGIT ?? 64)],
] as const;
const only = arg('--task', '');
for (const [name, task, condition, file, limit] of tasks) {
  if (only && only !== name) continue;
  const all = await taskPrompts(task, condition, file);
  const prompts = all.prompts.slice(0, limit);
  const lm = await loadLanguageModel(model, { threads });
  await lm.generate([prompts[0]!], 1);
  const s0 = { ...lm.stats };
  Object.assign(greedyProfile, { runMs: 0, totalMs: 0, steps: 0, prefills: 0, batchRows: [], prefillMs: 0 });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await lm.generate(prompts, all.maxNew);
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const prof = greedyProfile;
  const tokens = res.reduce((a, g) => a + g.newTokenIds.length, 0);
  const ours = { cpu: (cu.user + cu.system) / 1e6, wall, tokens, forwardCalls: lm.stats.forwardCalls - s0.forwardCalls, paddedForwardTokens: lm.stats.paddedForwardTokens - s0.paddedForwardTokens };
  await lm.dispose();
  console.log(`${name}: ${prompts.length} prompts, maxNew ${all.maxNew}; ours ${JSON.stringify(ours)}`);
  if (prof) console.log(`  profile ${JSON.stringify(prof)}`);
  const ids = res.map((g) => g.promptIds);
  writeFileSync(path.join(dir, `ours-${name}.json`), JSON.stringify(res.map((g) => g.newTokenIds)));
  if (arg('--torch', '1') === '1') {
    const gf = path.join(dir, `gen-${name}.json`);
    writeFileSync(gf, JSON.stringify({ jobs: ids.map((p) => ({ ids: p, gen: all.maxNew })), eos: 50256 }));
    const of = path.join(dir, `gen-${name}-out.json`);
    const env = { ...process.env, BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    const r = spawnSync('/usr/bin/python3', [path.join(REPO, 'bench', 'torch-e2e.py'), ckpt, gf, of, 'batched'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const o = JSON.parse(readFileSync(of, 'utf8')) as { seconds: number; cpuSeconds: number; generated: Record<string, number[]>; paddedTokens: number };
    const same = res.filter((g, i) => JSON.stringify(g.newTokenIds) === JSON.stringify(o.generated[String(i)])).length;
    console.log(`  torch batched: cpu ${o.cpuSeconds.toFixed(2)} s, wall ${o.seconds.toFixed(2)} s, padded tokens ${o.paddedTokens}; same ids ${same}/${res.length}; ours/torch cpu ${(ours.cpu / o.cpuSeconds).toFixed(2)}`);
  }
}
