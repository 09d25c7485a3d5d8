// Generation profile (issue 22 item 2): our batched greedy decoding on a converted Pythia-shaped
// random checkpoint vs bench/torch-e2e.py's batched greedy loop, at equal threads, over crt1's and
// digit_mat's own prompts; per step: session.run vs JavaScript time, batch sizes, steps. Torch runs
// twice: our lean batched loop and the loop shaped as Hugging Face 4.40.2's generate (torch-e2e.py hf).
//
// Usage: node dist/bench/gen-profile.js [--shape 160m|mini] [--dir D] [--torch 0]
// Env: BENCH_THREADS (1), BENCH_E2E_GEN_CRT (50), BENCH_E2E_GEN_DIGIT (64).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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
// The converted model is reused while the checkpoint's spec and the graph builders' code are the same.
const graphCode = path.join(REPO, 'dist', 'src', 'convert', 'graph');
const source = readFileSync(path.join(ckpt, 'bench-spec.json'), 'utf8') + readdirSync(graphCode).filter((f) => f.endsWith('.js')).sort().map((f) => readFileSync(path.join(graphCode, f), 'utf8')).join('');
if (!existsSync(stamp) || !existsSync(path.join(model, 'onnx', 'step.onnx')) || readFileSync(stamp, 'utf8') !== source) {
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  await convertCheckpoint(ckpt, model, { dtype: 'fp32' });
  writeFileSync(stamp, source);
}

const { loadLanguageModel } = await import('../src/lm/index.js');
const { greedyProfile } = await import('../src/lm/greedy.js');
const { PREPACK_AFTER_RUNS } = await import('../src/lm/prepack.js');
const tasks = [
  ['crt1', 'crt', 'crt1', 'crt/stimuli.csv', Number(process.env.BENCH_E2E_GEN_CRT ?? 50)],
  ['digit_mat', 'digit_mat', undefined, 'digit_mat/problems.json', Number(process.env.BENCH_E2E_GEN_DIGIT ?? 64)],
] as const;
const only = arg('--task', '');
let lastCpu = 0;
let packedCpu = 0;
// "before": the same converted model without its step graph (the transformers.js decoder path).
const before = path.join(dir, 'model-before');
if (!existsSync(before)) {
  mkdirSync(path.join(before, 'onnx'), { recursive: true });
  for (const f of readdirSync(model)) if (f !== 'onnx') symlinkSync(path.join(model, f), path.join(before, f));
  for (const f of readdirSync(path.join(model, 'onnx'))) if (!f.startsWith('step')) symlinkSync(path.join(model, 'onnx', f), path.join(before, 'onnx', f));
}
const tfm = await import('@huggingface/transformers');
tfm.env.allowRemoteModels = false;
tfm.env.localModelPath = dir + path.sep;
const tok = (await tfm.AutoTokenizer.from_pretrained('model')) as unknown as { encode(t: string): number[] };
for (const [name, task, condition, file, limit] of tasks) {
  if (only && only !== name) continue;
  const all = await taskPrompts(task, condition, file);
  const prompts = all.prompts.slice(0, limit);
  const encodeIds = prompts.map((p) => tok.encode(p));
  // after: the decoder as the CLI loads it (weights unpacked for the first PREPACK_AFTER_RUNS calls,
  // then prepacked: src/lm/prepack.ts), warmed by one call; after-prepacked: warmed past the
  // switch, so every timed call runs on prepacked weights (what a long generation settles into).
  const variants = [...(arg('--before', '1') === '1' ? [['before', before]] : []), ['after', model], ['after-prepacked', model]];
  let oursIds: number[][] | null = null;
  for (const [label, folder] of variants) {
  const lm = await loadLanguageModel(folder!, { threads });
  await lm.generate([prompts[0]!], label === 'after-prepacked' ? PREPACK_AFTER_RUNS + 1 : 1);
  const s0 = { ...lm.stats };
  Object.assign(greedyProfile, { runMs: 0, totalMs: 0, steps: 0, prefills: 0, batchRows: [], prefillMs: 0 });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await lm.generate(prompts, all.maxNew);
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const prof = greedyProfile;
  if (label === 'after') lastCpu = (cu.user + cu.system) / 1e6;
  if (label === 'after-prepacked') packedCpu = (cu.user + cu.system) / 1e6;
  const tokens = res.reduce((a, g) => a + g.newTokenIds.length, 0);
  const ours = { cpu: (cu.user + cu.system) / 1e6, wall, tokens, forwardCalls: lm.stats.forwardCalls - s0.forwardCalls, paddedForwardTokens: lm.stats.paddedForwardTokens - s0.paddedForwardTokens };
  await lm.dispose();
  console.log(`${name} ${label}: ${prompts.length} prompts, maxNew ${all.maxNew}; ours ${JSON.stringify(ours)}`);
  if (prof) console.log(`  profile ${JSON.stringify({ ...prof, batchRows: prof.batchRows.join(' ') })}`);
  const got = res.map((g) => g.newTokenIds);
  if (oursIds) console.log(`  same ids as before: ${got.filter((g, i) => JSON.stringify(g) === JSON.stringify(oursIds![i])).length}/${got.length}`);
  oursIds = got;
  }
  const ids = oursIds!.map((_, i) => encodeIds[i]!);
  writeFileSync(path.join(dir, `ours-${name}.json`), JSON.stringify(oursIds));
  if (arg('--torch', '1') === '1') {
    const gf = path.join(dir, `gen-${name}.json`);
    writeFileSync(gf, JSON.stringify({ jobs: ids.map((p) => ({ ids: p, gen: all.maxNew })), eos: 50256 }));
    const env = { ...process.env, BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    // batched: our lean torch loop (output layer at the last position only); hf: shaped as
    // transformers 4.40.2's generate (output layer at every prefill position): both reported.
    for (const mode of ['batched', 'hf']) {
      const of = path.join(dir, `gen-${name}-${mode}-out.json`);
      const r = spawnSync('/usr/bin/python3', [path.join(REPO, 'bench', 'torch-e2e.py'), ckpt, gf, of, mode], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const o = JSON.parse(readFileSync(of, 'utf8')) as { seconds: number; cpuSeconds: number; generated: Record<string, number[]>; paddedTokens: number; outputRows: number };
      const same = oursIds!.filter((g, i) => JSON.stringify(g) === JSON.stringify(o.generated[String(i)])).length;
      console.log(`  torch ${mode}: cpu ${o.cpuSeconds.toFixed(2)} s, wall ${o.seconds.toFixed(2)} s, padded tokens ${o.paddedTokens}, output rows ${o.outputRows}; same ids ${same}/${oursIds!.length}; ours/torch cpu ${(lastCpu / o.cpuSeconds).toFixed(2)} (prepacked ${(packedCpu / o.cpuSeconds).toFixed(2)})`);
    }
  }
}
