// The GPU benchmark behind bench/gpu.sh: a random-weight GPT-NeoX checkpoint (Pythia-1b shape by
// default), converted in fp32 and fp16 (with a 2-part split of the scoring graph), every task run
// by its own code (runTask) on CUDA in fp32 and fp16, on the CPU in fp32 (the reference), and on
// CUDA as 2 chained parts on one device. Prints scored tokens/s, generated tokens/s, GPU memory,
// the CUDA-vs-CPU difference and the fp16 drift, as markdown.
//
// Usage: node dist/bench/gpu-bench.js [--device cuda|cpu] [--shape 1b|160m|mini] [--items N]
//   [--work DIR] [--out FILE]. `--device cpu` runs every "CUDA" row on the CPU instead (gpu.sh's
//   dry run uses it with the mini shape to exercise this script without a GPU).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConditionalRequest, GenerateResult, LanguageModel, Reduction } from '../src/lm/types.js';
import { neoxSizes, writeCheckpoint, type NeoxSizes } from './score-bench.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = process.env.BENCH_SHARED_DIR ?? path.resolve(REPO, '../shared');

const SHAPES: Record<string, Partial<NeoxSizes>> = {
  mini: { layers: 2, hidden: 64, heads: 4, inner: 256, vocab: 50304 },
  '160m': { layers: 12, hidden: 768, heads: 12, inner: 3072, vocab: 50304 },
  '1b': { layers: 16, hidden: 2048, heads: 8, inner: 8192, vocab: 50304 },
};
const TASKS: Array<{ task: string; condition?: string; file: string }> = [
  { task: 'blimp', file: 'blimp/stimuli.csv' },
  { task: 'dgl', file: 'dgl/stimuli.csv' },
  { task: 'lambada', file: 'lambada/stimuli.jsonl' },
  { task: 'digit_mat', file: 'digit_mat/problems.json' },
  { task: 'crt', condition: 'crt1', file: 'crt/stimuli.csv' },
];

/** Times every call by kind; counts scored and generated tokens. */
class Timed implements LanguageModel {
  scoreSeconds = 0;
  genSeconds = 0;
  scored = 0;
  generated = 0;
  constructor(private readonly lm: LanguageModel) {}
  get info() {
    return this.lm.info;
  }
  get stats() {
    return this.lm.stats;
  }
  private async time<T>(gen: boolean, f: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await f();
    } finally {
      const s = (performance.now() - t) / 1000;
      if (gen) this.genSeconds += s;
      else this.scoreSeconds += s;
    }
  }
  async conditional(r: ConditionalRequest[], red: Reduction) {
    const out = await this.time(false, () => this.lm.conditional(r, red));
    this.scored += out.reduce((a, x) => a + x.tokenLogprobs.length, 0);
    return out;
  }
  async sequence(t: string[]) {
    const out = await this.time(false, () => this.lm.sequence(t));
    this.scored += out.reduce((a, x) => a + x.tokenLogprobs.length, 0);
    return out;
  }
  async nextTokenLogits(t: string[]) {
    const out = await this.time(false, () => this.lm.nextTokenLogits(t));
    this.scored += out.length;
    return out;
  }
  async generate(p: string[], n: number): Promise<GenerateResult[]> {
    const out = await this.time(true, () => this.lm.generate(p, n));
    this.generated += out.reduce((a, x) => a + x.newTokenIds.length, 0);
    return out;
  }
  countTokens(t: string) {
    return this.lm.countTokens(t);
  }
  dispose() {
    return this.lm.dispose();
  }
}

function gpuMemoryMiB(): number | null {
  try {
    return Number(execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', '0'], { encoding: 'utf8' }).trim().split('\n')[0]);
  } catch {
    return null;
  }
}

interface RunResult {
  name: string;
  loadSeconds: number;
  scoreSeconds: number;
  genSeconds: number;
  scored: number;
  generated: number;
  memMiB: number | null;
  /** Per task: every request's token log-probabilities, and generated ids. */
  values: Map<string, number[][]>;
  gens: Map<string, number[][]>;
}

async function runOne(name: string, folder: string, opts: Record<string, unknown>, items: number): Promise<RunResult> {
  const { loadLanguageModel } = await import('../src/lm/index.js');
  const { runTask } = await import('../src/tasks/run-task.js');
  const t0 = performance.now();
  const inner = await loadLanguageModel(folder, opts);
  const loadSeconds = (performance.now() - t0) / 1000;
  const lm = new Timed(inner);
  const values = new Map<string, number[][]>();
  const gens = new Map<string, number[][]>();
  try {
    for (const t of TASKS) {
      const key = t.task + (t.condition ? `/${t.condition}` : '');
      const res = await runTask({ task: t.task, condition: t.condition, stimuliPath: path.join(SHARED, 'data', 'stimuli', t.file), lm, model: 'bench', revision: '', limit: items, maxNewTokens: t.task === 'digit_mat' ? 10 : 100 });
      const reqs = res.requests as Array<Record<string, unknown>>;
      values.set(key, reqs.filter((r) => Array.isArray(r['token_logprobs'])).map((r) => r['token_logprobs'] as number[]));
      gens.set(key, reqs.filter((r) => r['kind'] === 'generate').map((r) => r['new_token_ids'] as number[]));
    }
    return { name, loadSeconds, scoreSeconds: lm.scoreSeconds, genSeconds: lm.genSeconds, scored: lm.scored, generated: lm.generated, memMiB: gpuMemoryMiB(), values, gens };
  } finally {
    await lm.dispose();
  }
}

/** Largest per-token and per-request (sum) difference between two runs, and generated ids equal. */
function compare(a: RunResult, b: RunResult): { token: number; sum: number; sameGen: string } {
  let token = 0;
  let sum = 0;
  let same = 0;
  let all = 0;
  for (const [k, rows] of a.values) {
    const other = b.values.get(k) ?? [];
    rows.forEach((r, i) => {
      const o = other[i] ?? [];
      let s = 0;
      r.forEach((x, j) => {
        token = Math.max(token, Math.abs(x - (o[j] ?? NaN)) || 0);
        s += x - (o[j] ?? 0);
      });
      sum = Math.max(sum, Math.abs(s));
    });
    const g = b.gens.get(k) ?? [];
    (a.gens.get(k) ?? []).forEach((ids, i) => {
      all++;
      if (JSON.stringify(ids) === JSON.stringify(g[i])) same++;
    });
  }
  return { token, sum, sameGen: `${same}/${all}` };
}

export async function runGpuBench(o: { device: string; shape: string; items: number; work: string; out: string | null }): Promise<string> {
  const sizes = SHAPES[o.shape];
  if (!sizes) throw new Error(`--shape: unknown shape "${o.shape}" (known: ${Object.keys(SHAPES).join(', ')})`);
  mkdirSync(o.work, { recursive: true });
  const ckpt = path.join(o.work, `checkpoint-${o.shape}`);
  console.log(`writing the random ${o.shape} checkpoint …`);
  const { params } = await writeCheckpoint(ckpt, 'neox', neoxSizes(sizes));
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  const folders: Record<string, string> = {};
  for (const dtype of ['fp32', 'fp16'] as const) {
    const out = path.join(o.work, `converted-${o.shape}-${dtype}`);
    const stamp = path.join(out, 'bench-done');
    if (!existsSync(stamp)) {
      console.log(`converting (${dtype}, scoring graph also in 2 parts) …`);
      await convertCheckpoint(ckpt, out, { dtype, scoringParts: 2 });
      writeFileSync(stamp, 'ok\n');
    }
    folders[dtype] = out;
  }
  const dev = o.device;
  const runs: RunResult[] = [];
  const plan: Array<[string, string, Record<string, unknown>]> = [
    ['cpu fp32 (reference)', folders['fp32']!, { device: 'cpu', dtype: 'fp32' }],
    [`${dev} fp32`, folders['fp32']!, { device: dev, dtype: 'fp32', deviceIds: [0] }],
    [`${dev} fp16`, folders['fp16']!, { device: dev, dtype: 'fp16', deviceIds: [0] }],
    [`${dev} fp32, 2 parts on device 0`, folders['fp32']!, { device: dev, dtype: 'fp32', parts: 2, deviceIds: [0, 0] }],
  ];
  for (const [name, folder, opts] of plan) {
    console.log(`running every task: ${name} …`);
    runs.push(await runOne(name, folder, opts, o.items));
  }
  const [cpu, f32, f16, parts] = runs as [RunResult, RunResult, RunResult, RunResult];
  const rate = (n: number, s: number) => (s > 0 ? Math.round(n / s).toLocaleString('en-US') : '–');
  const lines = [
    `GPT-NeoX, Pythia-${o.shape} shape, random weights (${(params / 1e6).toFixed(1)}M parameters), ${o.items} items per task (blimp, dgl, lambada, digit_mat, crt1), device "${dev}".`,
    '',
    '| run | load s | scoring s | scored tokens | scored tokens/s | generation s | generated tokens | generated tokens/s | GPU memory used after the run, MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.name} | ${r.loadSeconds.toFixed(1)} | ${r.scoreSeconds.toFixed(2)} | ${r.scored} | ${rate(r.scored, r.scoreSeconds)} | ${r.genSeconds.toFixed(2)} | ${r.generated} | ${rate(r.generated, r.genSeconds)} | ${r.memMiB ?? '–'} |`),
    '',
    '| comparison | max per-token difference (nats) | max per-request sum difference | same generated ids |',
    '|---|---:|---:|---:|',
  ];
  for (const [what, a, b] of [[`${dev} fp32 vs cpu fp32`, f32, cpu], [`${dev} fp16 vs ${dev} fp32 (fp16 drift)`, f16, f32], ['2 parts vs 1 graph', parts, f32]] as const) {
    const c = compare(a, b);
    lines.push(`| ${what} | ${c.token.toExponential(1)} | ${c.sum.toExponential(1)} | ${c.sameGen} |`);
  }
  const md = lines.join('\n') + '\n';
  if (o.out) writeFileSync(o.out, md);
  console.log(md);
  return md;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
  };
  await runGpuBench({
    device: arg('device', 'cuda'),
    shape: arg('shape', '1b'),
    items: Number(arg('items', '4')),
    work: arg('work', path.join(tmpdir(), 'lm-gpu-bench')),
    out: process.argv.includes('--out') ? arg('out', '') : null,
  });
}
