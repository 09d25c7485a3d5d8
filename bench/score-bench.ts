// Benchmark of the three scoring paths of src/lm and a plain PyTorch loop, side by side in one run,
// on converted models: a gpt_neox with Pythia-160m's sizes and random weights (the transformer
// dominates) and a GPT-2 with tiny-gpt2's sizes and tokenizer (the 50,257-wide output layer
// dominates). Both checkpoints are written here as safetensors and converted with the project's
// converter (src/convert), so the ONNX paths and the PyTorch loop read the same weights.
//
// Each task's request mix is what the task's own code sends (runTask over the shared stimuli,
// recorded once through a recording LanguageModel; generation is left out: it runs the decoder
// graph on every path), replayed by each path in its own process (so each has its own peak RSS),
// and by bench/torch-score.py over the same token ids. Results go to docs/bench-lm.md (section
// "Scoring graph"). Sizes come from the environment:
//   BENCH_SCORE_ITEMS (4) items per task, BENCH_SCORE_MODELS (neox,gpt2), BENCH_SCORE_PATHS
//   (plain,fast,graph), BENCH_SCORE_TORCH (1), BENCH_SCORE_DEVICE (cpu | cuda), BENCH_SCORE_DTYPE
//   (fp32 | fp16), BENCH_SCORE_DIR (work folder; models are kept there between runs), BENCH_PYTHON
//   (the python with torch; default /usr/bin/python3, where Debian's python3-torch installs),
//   BENCH_SCORE_THREADS (0 = the libraries' defaults; 1 = one thread for onnxruntime and torch, the
//   fair setting on an oversubscribed machine), BENCH_NEOX_LAYERS / _HIDDEN / _HEADS / _INNER / _VOCAB (12 / 768 / 12 / 3072 / 50304).
// Run: node dist/bench/score-bench.js [--out FILE | --no-write] [--report: rebuild the report from the
// outputs of the last run in BENCH_SCORE_DIR] | --drift (fp16 vs fp32 on the hf-tiny checkpoints)

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExtraLoadOptions, LoadedLanguageModel } from '../src/lm/index.js';
import { planConditional, planSequence } from '../src/lm/tokenize.js';
import type {
  ConditionalRequest,
  ConditionalResult,
  GenerateResult,
  LanguageModel,
  ModelInfo,
  Reduction,
  ScoringStats,
  SequenceResult,
} from '../src/lm/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(repoRoot, '../shared');
const stimuliDir = path.join(shared, 'data', 'stimuli');
const TOL = 1e-4;
/** fp16 graphs differ from each other by fp16 rounding (docs/gpu.md: up to ~1e-2 per token, ~0.1 per
 * summed sequence on the tiny models); the values compared here are sums. */
const TOL_FP16 = 0.25;

const env = (name: string, dflt: string): string => process.env[name] ?? dflt;
const envInt = (name: string, dflt: number): number => {
  const v = Number(env(name, String(dflt)));
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${process.env[name]}`);
  return v;
};

// ---------------------------------------------------------------- random checkpoints

type ModelKind = 'neox' | 'gpt2';

/** Seeded standard normals (xorshift128+ and Box–Muller): the same checkpoint on every run. */
function normals(seed: number): (n: number, std: number, mean?: number) => Float32Array {
  let s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  let s1 = s0 ^ 0xdeadbeefcafebaben;
  const mask = (1n << 64n) - 1n;
  const next = (): number => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & mask;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((s1 + y) & mask) >> 11n) / 2 ** 53;
  };
  // BigInt is slow: draw 2^16 normals once and walk them with a seeded stride.
  const pool = new Float32Array(1 << 16);
  for (let i = 0; i < pool.length; i += 2) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    pool[i] = r * Math.cos(2 * Math.PI * v);
    pool[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  let k = 0;
  return (n, std, mean = 0) => {
    const out = new Float32Array(n);
    const stride = 1 + 2 * Math.floor(next() * 1000);
    for (let i = 0; i < n; i++) {
      k = (k + stride) & 0xffff;
      out[i] = mean + std * pool[k]!;
    }
    return out;
  };
}

export interface NeoxSizes {
  layers: number;
  hidden: number;
  heads: number;
  inner: number;
  vocab: number;
}

export function neoxSizes(over: Partial<NeoxSizes> = {}): NeoxSizes {
  return {
    layers: envInt('BENCH_NEOX_LAYERS', 12),
    hidden: envInt('BENCH_NEOX_HIDDEN', 768),
    heads: envInt('BENCH_NEOX_HEADS', 12),
    inner: envInt('BENCH_NEOX_INNER', 3072),
    vocab: envInt('BENCH_NEOX_VOCAB', 50304),
    ...over,
  };
}

/** config.json and [name, shape, kind] of every tensor of the checkpoint. */
function checkpointSpec(kind: ModelKind, sizes?: NeoxSizes): { config: Record<string, unknown>; tensors: Array<[string, number[], 'w' | 'g' | 'b']> } {
  const tensors: Array<[string, number[], 'w' | 'g' | 'b']> = [];
  if (kind === 'neox') {
    const s = sizes ?? neoxSizes();
    const H = s.hidden;
    tensors.push(['gpt_neox.embed_in.weight', [s.vocab, H], 'w']);
    for (let i = 0; i < s.layers; i++) {
      const p = `gpt_neox.layers.${i}.`;
      tensors.push(
        [`${p}input_layernorm.weight`, [H], 'g'],
        [`${p}input_layernorm.bias`, [H], 'b'],
        [`${p}post_attention_layernorm.weight`, [H], 'g'],
        [`${p}post_attention_layernorm.bias`, [H], 'b'],
        [`${p}attention.query_key_value.weight`, [3 * H, H], 'w'],
        [`${p}attention.query_key_value.bias`, [3 * H], 'b'],
        [`${p}attention.dense.weight`, [H, H], 'w'],
        [`${p}attention.dense.bias`, [H], 'b'],
        [`${p}mlp.dense_h_to_4h.weight`, [s.inner, H], 'w'],
        [`${p}mlp.dense_h_to_4h.bias`, [s.inner], 'b'],
        [`${p}mlp.dense_4h_to_h.weight`, [H, s.inner], 'w'],
        [`${p}mlp.dense_4h_to_h.bias`, [H], 'b'],
      );
    }
    tensors.push(['gpt_neox.final_layer_norm.weight', [H], 'g'], ['gpt_neox.final_layer_norm.bias', [H], 'b'], ['embed_out.weight', [s.vocab, H], 'w']);
    const config = {
      architectures: ['GPTNeoXForCausalLM'],
      model_type: 'gpt_neox',
      hidden_size: H,
      intermediate_size: s.inner,
      num_attention_heads: s.heads,
      num_hidden_layers: s.layers,
      max_position_embeddings: 2048,
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      use_parallel_residual: true,
      layer_norm_eps: 1e-5,
      hidden_act: 'gelu',
      vocab_size: s.vocab,
      tie_word_embeddings: false,
      bos_token_id: 50256,
      eos_token_id: 50256,
      torch_dtype: 'float32',
    };
    return { config, tensors };
  }
  // tiny-gpt2's own config (2 layers, width 64, 50,257-wide tied output layer).
  const config = JSON.parse(readFileSync(path.join(shared, 'models', 'tiny-gpt2', 'config.json'), 'utf8')) as Record<string, unknown>;
  const H = Number(config['n_embd']);
  const L = Number(config['n_layer']);
  const V = Number(config['vocab_size']);
  const P = Number(config['n_positions']);
  tensors.push(['transformer.wte.weight', [V, H], 'w'], ['transformer.wpe.weight', [P, H], 'w']);
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}.`;
    tensors.push(
      [`${p}ln_1.weight`, [H], 'g'],
      [`${p}ln_1.bias`, [H], 'b'],
      [`${p}attn.c_attn.weight`, [H, 3 * H], 'w'],
      [`${p}attn.c_attn.bias`, [3 * H], 'b'],
      [`${p}attn.c_proj.weight`, [H, H], 'w'],
      [`${p}attn.c_proj.bias`, [H], 'b'],
      [`${p}ln_2.weight`, [H], 'g'],
      [`${p}ln_2.bias`, [H], 'b'],
      [`${p}mlp.c_fc.weight`, [H, 4 * H], 'w'],
      [`${p}mlp.c_fc.bias`, [4 * H], 'b'],
      [`${p}mlp.c_proj.weight`, [4 * H, H], 'w'],
      [`${p}mlp.c_proj.bias`, [H], 'b'],
    );
  }
  tensors.push(['transformer.ln_f.weight', [H], 'g'], ['transformer.ln_f.bias', [H], 'b']);
  return { config, tensors };
}

/** A checkpoint folder (hub layout) with random weights and tiny-gpt2's GPT-2 tokenizer; kept when its spec is unchanged. */
export async function writeCheckpoint(dir: string, kind: ModelKind, sizes?: NeoxSizes): Promise<{ params: number }> {
  const { config, tensors } = checkpointSpec(kind, sizes);
  const params = tensors.reduce((a, [, shape]) => a + shape.reduce((x, y) => x * y, 1), 0);
  const stamp = JSON.stringify({ config, tensors: tensors.map(([n, s]) => [n, s]) });
  const stampFile = path.join(dir, 'bench-spec.json');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return { params };
  mkdirSync(dir, { recursive: true });
  const { SafetensorsWriter } = await import('../src/convert/readers/safetensors-write.js');
  const w = await SafetensorsWriter.create(path.join(dir, 'model.safetensors'), tensors.map(([name, shape]) => ({ name, dtype: 'F32' as const, shape })));
  const draw = normals(kind === 'neox' ? 160 : 2);
  for (const [, shape, role] of tensors) {
    const n = shape.reduce((x, y) => x * y, 1);
    await w.write(role === 'w' ? draw(n, 0.02) : role === 'g' ? draw(n, 0.1, 1) : draw(n, 0.02));
  }
  await w.close();
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 50256, eos_token_id: 50256 }) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    copyFileSync(path.join(shared, 'models', 'tiny-gpt2', f), path.join(dir, f));
  }
  writeFileSync(stampFile, stamp);
  return { params };
}

async function convertOnce(src: string, out: string, dtype: 'fp32' | 'fp16', log: (s: string) => void): Promise<void> {
  const stamp = path.join(out, 'bench-source.json');
  const want = readFileSync(path.join(src, 'bench-spec.json'), 'utf8') + dtype;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  const t = performance.now();
  await convertCheckpoint(src, out, { dtype });
  writeFileSync(stamp, want);
  log(`converted ${path.basename(src)} (${dtype}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------- recording the tasks' requests

export type Call =
  | { kind: 'cond'; requests: ConditionalRequest[]; reduction: Reduction }
  | { kind: 'seq'; texts: string[] }
  | { kind: 'next'; texts: string[] };

export interface MixCalls {
  name: string;
  task: string;
  calls: Call[];
}

/** A LanguageModel that records what a task asks and answers with placeholders (no model runs). */
class RecordingLm implements LanguageModel {
  readonly calls: Call[] = [];
  readonly stats: ScoringStats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0 };
  constructor(
    readonly info: ModelInfo,
    private readonly encode: (t: string) => number[],
  ) {}
  async conditional(requests: ConditionalRequest[], reduction: Reduction): Promise<ConditionalResult[]> {
    this.calls.push({ kind: 'cond', requests: requests.map((r) => ({ ...r })), reduction });
    return requests.map(() => ({ logprob: 0, tokenIds: [], tokenLogprobs: [], prefixIds: [] }));
  }
  async sequence(texts: string[]): Promise<SequenceResult[]> {
    this.calls.push({ kind: 'seq', texts: [...texts] });
    return texts.map(() => ({ logprob: 0, tokenIds: [], tokenLogprobs: [], inputIds: [] }));
  }
  async nextTokenLogits(texts: string[]): Promise<Float32Array[]> {
    this.calls.push({ kind: 'next', texts: [...texts] });
    return texts.map((_, i) => Float32Array.from({ length: this.info.vocabSize }, (_v, j) => -Math.abs(j - i)));
  }
  async generate(prompts: string[]): Promise<GenerateResult[]> {
    return prompts.map(() => ({ text: '', promptIds: [], newTokenIds: [] }));
  }
  countTokens(text: string): number {
    return this.encode(text).length;
  }
  async dispose(): Promise<void> {}
}

async function loadTokenizer(folder: string): Promise<(t: string) => number[]> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = path.dirname(folder) + path.sep;
  const tok = (await tf.AutoTokenizer.from_pretrained(path.basename(folder))) as unknown as { encode(t: string): number[] };
  return (t) => tok.encode(t);
}

const TASK_RUNS: Array<{ task: string; condition?: string; file: string }> = [
  { task: 'lambada', file: 'lambada/stimuli.jsonl' },
  { task: 'digit_mat', file: 'digit_mat/problems.json' },
  { task: 'crt', condition: 'crt1', file: 'crt/stimuli.csv' },
  { task: 'crt', condition: 'crt2', file: 'crt/stimuli.csv' },
  { task: 'crt', condition: 'crt3', file: 'crt/stimuli.csv' },
  { task: 'blimp', file: 'blimp/stimuli.csv' },
  { task: 'dgl', file: 'dgl/stimuli.csv' },
];

/** Each task's scoring calls, as runTask sends them; blimp and dgl split into direct and metalinguistic. */
export async function recordMixes(
  folder: string,
  items: number,
  vocab: number,
  context: number | null,
  only: (run: { task: string; condition?: string }) => boolean = () => true,
): Promise<MixCalls[]> {
  const { runTask } = await import('../src/tasks/run-task.js');
  const encode = await loadTokenizer(folder);
  const info: ModelInfo = {
    modelType: 'recording',
    vocabSize: vocab,
    contextLength: context,
    device: 'cpu',
    dtype: 'fp32',
    generation: { doSample: false, eosTokenId: null, forcedGreedy: false },
  };
  const byTask = new Map<string, Call[]>();
  for (const run of TASK_RUNS.filter(only)) {
    const lm = new RecordingLm(info, encode);
    await runTask({ task: run.task, condition: run.condition, stimuliPath: path.join(stimuliDir, run.file), lm, model: 'bench', revision: '', limit: items, maxNewTokens: 1 });
    byTask.set(run.task, [...(byTask.get(run.task) ?? []), ...lm.calls]);
  }
  const mixes: MixCalls[] = [];
  for (const [task, calls] of byTask) {
    if (task === 'blimp' || task === 'dgl') {
      mixes.push({ name: `${task} direct`, task, calls: calls.filter((c) => c.kind === 'seq') });
      mixes.push({ name: `${task} metalinguistic`, task, calls: calls.filter((c) => c.kind !== 'seq') });
    } else mixes.push({ name: task, task, calls });
  }
  return mixes.filter((m) => m.calls.length > 0);
}

// ---------------------------------------------------------------- one path in its own process

interface MixOutcome {
  name: string;
  seconds: number;
  cpuSeconds: number;
  forwardTokens: number;
  paddedForwardTokens: number;
  outputRows: number;
  forwardCalls: number;
  /** Scored tokens (target log-probabilities) of the mix. */
  scoredTokens: number;
  values: number[];
  logitsRows: number;
}

interface PathOutcome {
  path: string;
  loadSeconds: number;
  peakRssMiB: number;
  mixes: MixOutcome[];
  logitsFile: string;
}

async function workerMain(argFile: string): Promise<void> {
  const { folder, opts, mixesFile, out, logitsFile } = JSON.parse(readFileSync(argFile, 'utf8')) as {
    folder: string;
    opts: ExtraLoadOptions;
    mixesFile: string;
    out: string;
    logitsFile: string;
  };
  const mixes = JSON.parse(readFileSync(mixesFile, 'utf8')) as MixCalls[];
  const { loadLanguageModel } = await import('../src/lm/index.js');
  const lm: LoadedLanguageModel = await loadLanguageModel(folder, opts);
  const rows: Float32Array[] = [];
  const outcomes: MixOutcome[] = [];
  for (const mix of mixes) {
    const s0 = { ...lm.stats };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const values: number[] = [];
    let scored = 0;
    let logitsRows = 0;
    for (const call of mix.calls) {
      if (call.kind === 'cond') {
        for (const r of await lm.conditional(call.requests, call.reduction)) {
          values.push(r.logprob);
          scored += r.tokenIds.length;
        }
      } else if (call.kind === 'seq') {
        for (const r of await lm.sequence(call.texts)) {
          values.push(r.logprob);
          scored += r.tokenIds.length;
        }
      } else {
        for (const row of await lm.nextTokenLogits(call.texts)) rows.push(row);
        logitsRows += call.texts.length;
      }
    }
    const c = process.cpuUsage(c0);
    outcomes.push({
      name: mix.name,
      seconds: (performance.now() - t0) / 1000,
      cpuSeconds: (c.user + c.system) / 1e6,
      forwardTokens: lm.stats.forwardTokens - s0.forwardTokens,
      paddedForwardTokens: lm.stats.paddedForwardTokens - s0.paddedForwardTokens,
      outputRows: lm.stats.outputRows - s0.outputRows,
      forwardCalls: lm.stats.forwardCalls - s0.forwardCalls,
      scoredTokens: scored,
      values,
      logitsRows,
    });
  }
  const bytes = Buffer.concat(rows.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength)));
  writeFileSync(logitsFile, bytes);
  const result: PathOutcome = { path: lm.path, loadSeconds: lm.loadSeconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, mixes: outcomes, logitsFile };
  await lm.dispose();
  writeFileSync(out, JSON.stringify(result));
}

function runChild(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}

function runPath(work: string, folder: string, name: string, opts: ExtraLoadOptions, mixesFile: string): PathOutcome {
  const argFile = path.join(work, `${name}.args.json`);
  const out = path.join(work, `${name}.out.json`);
  writeFileSync(argFile, JSON.stringify({ folder, opts, mixesFile, out, logitsFile: path.join(work, `${name}.logits.bin`) }));
  runChild(process.execPath, [fileURLToPath(import.meta.url), '--worker', argFile], `path ${name}`);
  return JSON.parse(readFileSync(out, 'utf8')) as PathOutcome;
}

// ---------------------------------------------------------------- the PyTorch loop

interface TorchJob {
  ids: number[];
  start: number;
  next?: boolean;
}

/** The mixes in token space, exactly as src/lm tokenizes them; `reduce` maps job results back to values. */
function torchJobs(mixes: MixCalls[], encode: (t: string) => number[]): Array<{ name: string; jobs: TorchJob[]; reductions: Array<Reduction | null> }> {
  return mixes.map((m) => {
    const jobs: TorchJob[] = [];
    const reductions: Array<Reduction | null> = [];
    for (const call of m.calls) {
      if (call.kind === 'cond') {
        for (const r of call.requests) {
          const p = planConditional(encode, r);
          jobs.push({ ids: p.ids, start: p.start });
          reductions.push(call.reduction);
        }
      } else if (call.kind === 'seq') {
        for (const t of call.texts) {
          const p = planSequence(encode, t);
          jobs.push({ ids: p.ids, start: p.start });
          reductions.push('sum');
        }
      } else {
        for (const t of call.texts) {
          const ids = encode(t);
          jobs.push({ ids, start: ids.length, next: true });
          reductions.push(null);
        }
      }
    }
    return { name: m.name, jobs, reductions };
  });
}

function runTorch(work: string, folder: string, name: string, jobs: ReturnType<typeof torchJobs>): PathOutcome {
  const jobsFile = path.join(work, `${name}.jobs.json`);
  const out = path.join(work, `${name}.out.json`);
  const logitsFile = path.join(work, `${name}.logits.bin`);
  writeFileSync(jobsFile, JSON.stringify({ tasks: jobs.map((j) => ({ name: j.name, jobs: j.jobs })) }));
  // Debian's python3-torch belongs to /usr/bin/python3 (a pyenv or venv python3 first on PATH lacks it).
  const python = process.env['BENCH_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  runChild(python, [path.join(repoRoot, 'bench', 'torch-score.py'), folder, jobsFile, out, logitsFile], 'the PyTorch loop (needs torch: apt-get install -y python3-torch)');
  return torchOutcome(work, name, jobs);
}

/** The PyTorch loop's saved output as a PathOutcome (its token log-probabilities reduced as src/lm does). */
function torchOutcome(work: string, name: string, jobs: ReturnType<typeof torchJobs>): PathOutcome {
  const out = path.join(work, `${name}.out.json`);
  const logitsFile = path.join(work, `${name}.logits.bin`);
  const res = JSON.parse(readFileSync(out, 'utf8')) as {
    loadSeconds: number;
    peakRssMiB: number;
    tasks: Array<{ name: string; seconds: number; cpuSeconds: number; forwardTokens: number; outputRows: number; logprobs: number[][] }>;
  };
  return {
    path: 'torch',
    loadSeconds: res.loadSeconds,
    peakRssMiB: res.peakRssMiB,
    logitsFile,
    mixes: res.tasks.map((t, k) => {
      const reds = jobs[k]!.reductions;
      const values: number[] = [];
      let scored = 0;
      t.logprobs.forEach((lp, i) => {
        const red = reds[i];
        if (red === null || red === undefined) return;
        scored += lp.length;
        const s = lp.reduce((a, b) => a + b, 0);
        values.push(lp.length === 0 ? 0 : red === 'sum' ? s : s / lp.length);
      });
      return {
        name: t.name,
        seconds: t.seconds,
        cpuSeconds: t.cpuSeconds,
        forwardTokens: t.forwardTokens,
        paddedForwardTokens: t.forwardTokens,
        outputRows: t.outputRows,
        forwardCalls: jobs[k]!.jobs.length,
        scoredTokens: scored,
        values,
        logitsRows: reds.filter((r) => r === null).length,
      };
    }),
  };
}

// ---------------------------------------------------------------- comparison and report

function maxDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function logitsDiff(a: string, b: string): number {
  const x = new Float32Array(readFileSync(a).buffer.slice(0));
  const y = new Float32Array(readFileSync(b).buffer.slice(0));
  return maxDiff(Array.from(x), Array.from(y));
}

export interface ModelReport {
  model: string;
  params: number;
  paths: PathOutcome[];
  /** Per path: the largest difference from the reference path (values and logits rows). */
  diffs: Record<string, number>;
  tol: number;
  markdown: string;
}

const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');

function modelMarkdown(model: string, params: number, paths: PathOutcome[], diffs: Record<string, number>, tol: number): string {
  const by = (p: string) => paths.find((x) => x.path === p);
  const ref = paths[0]!;
  const names = ref.mixes.map((m) => m.name);
  const cols = paths.map((p) => p.path);
  const lines = [
    `### ${model} (${fmt(params / 1e6, 1)}M parameters)`,
    '',
    `| task mix | requests | ${cols.map((c) => `${c} s`).join(' | ')} | ${cols.map((c) => `${c} cpu s`).join(' | ')} | ${by('graph') ? 'graph speed-up vs plain | ' : ''}${by('graph') && by('torch') ? 'graph / torch time | ' : ''}${cols.map((c) => `${c} fwd tok`).join(' | ')} | ${cols.map((c) => `${c} out rows`).join(' | ')} |`,
    `|---|---:|${cols.map(() => '---:').join('|')}|${cols.map(() => '---:').join('|')}|${by('graph') ? '---:|' : ''}${by('graph') && by('torch') ? '---:|' : ''}${cols.map(() => '---:').join('|')}|${cols.map(() => '---:').join('|')}|`,
  ];
  const total = (p: PathOutcome | undefined, k: keyof MixOutcome, filter?: (n: string) => boolean) =>
    (p?.mixes ?? []).filter((m) => !filter || filter(m.name)).reduce((a, m) => a + (m[k] as number), 0);
  names.forEach((name, i) => {
    const get = (p: PathOutcome) => p.mixes[i]!;
    const g = by('graph')?.mixes[i];
    const pl = by('plain')?.mixes[i];
    const t = by('torch')?.mixes[i];
    lines.push(
      `| ${name} | ${ref.mixes[i]!.values.length + ref.mixes[i]!.logitsRows} | ${paths.map((p) => fmt(get(p).seconds, 2)).join(' | ')} | ${paths.map((p) => fmt(get(p).cpuSeconds, 2)).join(' | ')} | ` +
        (g ? `${pl ? fmt(pl.seconds / g.seconds, 1) + '×' : '–'} | ` : '') +
        (g && t ? `${fmt(g.seconds / t.seconds, 2)} | ` : '') +
        `${paths.map((p) => fmt(get(p).forwardTokens)).join(' | ')} | ${paths.map((p) => fmt(get(p).outputRows)).join(' | ')} |`,
    );
  });
  const g = by('graph');
  const pl = by('plain');
  const t = by('torch');
  lines.push(
    `| **all** | ${ref.mixes.reduce((a, m) => a + m.values.length + m.logitsRows, 0)} | ${paths.map((p) => fmt(total(p, 'seconds'), 2)).join(' | ')} | ${paths.map((p) => fmt(total(p, 'cpuSeconds'), 2)).join(' | ')} | ` +
      (g ? `${pl ? fmt(total(pl, 'seconds') / total(g, 'seconds'), 1) + '×' : '–'} | ` : '') +
      (g && t ? `${fmt(total(g, 'seconds') / total(t, 'seconds'), 2)} | ` : '') +
      `${paths.map((p) => fmt(total(p, 'forwardTokens'))).join(' | ')} | ${paths.map((p) => fmt(total(p, 'outputRows'))).join(' | ')} |`,
  );
  lines.push(
    '',
    `Peak RSS per process: ${paths.map((p) => `${p.path} ${fmt(p.peakRssMiB)} MiB`).join(', ')}. ` +
      `Load: ${paths.map((p) => `${p.path} ${fmt(p.loadSeconds, 2)} s`).join(', ')}. ` +
      `Largest difference from ${ref.path} (every log-probability and next-token logit): ` +
      `${Object.entries(diffs).map(([p, d]) => `${p} ${d.toExponential(1)}`).join(', ')}` +
      ` (equal within ${tol}: ${Object.values(diffs).every((d) => d <= tol) ? 'yes' : '**no**'}).`,
  );
  if (g && pl) {
    // The issue's targets: graph >= 3x plain on digit_mat, crt and the metalinguistic mixes; every
    // task (its mixes together) at most half the PyTorch loop's time.
    const ratio = (k: 'seconds' | 'cpuSeconds', f: (n: string) => boolean, a: PathOutcome, b: PathOutcome) => total(a, k, f) / total(b, k, f);
    const fast3 = names.filter((n) => /^(digit_mat|crt)$|metalinguistic/.test(n));
    const speed = fast3.map((n) => `${n} ${fmt(ratio('cpuSeconds', (x) => x === n, pl, g), 1)}× (wall ${fmt(ratio('seconds', (x) => x === n, pl, g), 1)}×)`);
    const met3 = fast3.every((n) => ratio('cpuSeconds', (x) => x === n, pl, g) >= 3);
    lines.push('', `Target "graph at least 3× plain" on digit_mat, crt and the metalinguistic mixes, CPU time: ${speed.join(', ')}: ${met3 ? 'met' : '**not met**'}.`);
    if (t) {
      const tasks = [...new Set(names.map((n) => n.split(' ')[0]!))];
      const half = tasks.map((task) => {
        const f = (x: string) => x.split(' ')[0] === task;
        return { task, cpu: ratio('cpuSeconds', f, g, t), wall: ratio('seconds', f, g, t) };
      });
      const metHalf = half.every((h) => h.cpu <= 0.5);
      lines.push(
        `Target "every task at most half the PyTorch loop's time", graph / torch CPU time: ${half.map((h) => `${h.task} ${fmt(h.cpu, 2)} (wall ${fmt(h.wall, 2)})`).join(', ')}: ${metHalf ? 'met' : '**not met**'}.`,
      );
    }
  }
  if (g) {
    const sec = total(g, 'seconds');
    lines.push(
      '',
      `Scoring graph: ${fmt(total(g, 'scoredTokens') / sec)} scored tokens per second, ${fmt(total(g, 'scoredTokens') / total(g, 'cpuSeconds'))} per CPU second ` +
        `(${fmt(total(g, 'scoredTokens'))} log-probabilities and ${fmt(total(g, 'logitsRows'))} logits rows in ${fmt(sec, 2)} s).`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export interface ScoreBenchResult {
  models: ModelReport[];
  markdown: string;
}

export async function runScoreBench(opts: { out?: string | null; log?: (s: string) => void; reportOnly?: boolean } = {}): Promise<ScoreBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  // Rebuild the report from the outputs a previous run left in BENCH_SCORE_DIR (same settings).
  const reportOnly = opts.reportOnly === true;
  const items = envInt('BENCH_SCORE_ITEMS', 4);
  const kinds = env('BENCH_SCORE_MODELS', 'neox,gpt2').split(',').filter(Boolean) as ModelKind[];
  const pathNames = env('BENCH_SCORE_PATHS', 'plain,fast,graph').split(',').filter(Boolean);
  const device = env('BENCH_SCORE_DEVICE', 'cpu');
  const dtype = env('BENCH_SCORE_DTYPE', 'fp32') as 'fp32' | 'fp16';
  const withTorch = env('BENCH_SCORE_TORCH', device === 'cpu' && dtype === 'fp32' ? '1' : '0') === '1';
  const work = env('BENCH_SCORE_DIR', path.join(os.tmpdir(), 'lm-score-bench'));
  mkdirSync(work, { recursive: true });
  const reports: ModelReport[] = [];
  for (const kind of kinds) {
    if (kind !== 'neox' && kind !== 'gpt2') throw new Error(`BENCH_SCORE_MODELS: unknown model "${kind}" (neox, gpt2)`);
    const label = kind === 'neox' ? 'gpt_neox, Pythia-160m sizes' : 'gpt2, tiny-gpt2 sizes';
    const src = path.join(work, `${kind}-checkpoint`);
    const folder = path.join(work, `${kind}-${dtype}`);
    const t = performance.now();
    const { params } = await writeCheckpoint(src, kind);
    log(`${label}: checkpoint ready (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    await convertOnce(src, folder, dtype, log);
    const { config } = checkpointSpec(kind);
    const vocab = Number(config['vocab_size']);
    const context = Number(config['max_position_embeddings'] ?? config['n_positions']);
    const mixesFile = path.join(work, `${kind}.mixes.json`);
    const mixes = reportOnly ? (JSON.parse(readFileSync(mixesFile, 'utf8')) as MixCalls[]) : await recordMixes(folder, items, vocab, context);
    writeFileSync(mixesFile, JSON.stringify(mixes));
    const threads = envInt('BENCH_SCORE_THREADS', 0);
    const base: ExtraLoadOptions = { device, dtype, ...(threads > 0 ? { threads } : {}) };
    const pathOpts: Record<string, ExtraLoadOptions> = {
      plain: { ...base, plain: true },
      fast: { ...base, scoringGraph: false },
      graph: { ...base, scoringGraph: true },
    };
    const paths: PathOutcome[] = [];
    for (const p of pathNames) {
      const o = pathOpts[p];
      if (!o) throw new Error(`BENCH_SCORE_PATHS: unknown path "${p}" (plain, fast, graph)`);
      if (reportOnly) {
        paths.push(JSON.parse(readFileSync(path.join(work, `${kind}-${p}.out.json`), 'utf8')) as PathOutcome);
        continue;
      }
      log(`${label}: ${p} path …`);
      paths.push(runPath(work, folder, `${kind}-${p}`, o, mixesFile));
    }
    if (withTorch) {
      const jobs = torchJobs(mixes, await loadTokenizer(folder));
      if (reportOnly) paths.push(torchOutcome(work, `${kind}-torch`, jobs));
      else {
        log(`${label}: PyTorch loop …`);
        paths.push(runTorch(work, src, `${kind}-torch`, jobs));
      }
    }
    const ref = paths[0]!;
    const diffs: Record<string, number> = {};
    for (const p of paths.slice(1)) {
      const d = Math.max(...p.mixes.map((m, i) => maxDiff(m.values, ref.mixes[i]!.values)), logitsDiff(p.logitsFile, ref.logitsFile));
      diffs[p.path] = d;
    }
    for (const p of paths) log(`  ${p.path}: ${p.mixes.map((m) => `${m.name} ${m.seconds.toFixed(2)}s`).join(', ')}`);
    log(`  max diff vs ${ref.path}: ${JSON.stringify(diffs)}`);
    reports.push({ model: label, params, paths, diffs, markdown: modelMarkdown(`${label}, ${device}, ${dtype}`, params, paths, diffs, dtype === 'fp16' ? TOL_FP16 : TOL), tol: dtype === 'fp16' ? TOL_FP16 : TOL });
  }
  const md = [
    '## Scoring graph: plain vs fast vs scoring graph vs a PyTorch loop',
    '',
    '> **Not a claim against PyTorch.** The figures in this section are in-process (no process start, no',
    '> model load) and compare with a *one-sequence* torch loop; they compare the three paths with each',
    '> other. The end-to-end section below (`npm run bench -- e2e`) is the comparison with PyTorch.',
    '',
    `Generated by \`node dist/bench/score-bench.js\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}: ` +
      `${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${items} items per task ` +
      `(BENCH_SCORE_ITEMS), ${envInt('BENCH_SCORE_THREADS', 0) > 0 ? `${envInt('BENCH_SCORE_THREADS', 0)} thread(s) per library (BENCH_SCORE_THREADS)` : 'library default threads'}, ` +
      `load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
    'Both models are random-weight checkpoints written by the benchmark (safetensors) and converted by',
    'the project\'s converter. Each task mix is the scoring calls that task\'s own code (`runTask`) sends for',
    'the first items of the shared stimuli; generation is left out (every path generates with the same',
    'transformers.js decoder graph). Each path runs in its own process over the same calls: **plain** (one',
    'sequence per pass, all logits, the reference), **fast** (transformers.js decoder graph, shared',
    'prefixes through copied key/value caches), **graph** (the scoring graph: token-tree rows, the output',
    'layer and log-softmax only at scored positions), **torch** (bench/torch-score.py: a hand-written',
    'forward in PyTorch over the same safetensors and token ids, one sequence at a time, output layer only',
    'where scored: what a researcher would write). "fwd tok" = real tokens through the transformer; "out',
    'rows" = rows through the output layer.',
    '',
    'Reading the times: "s" is wall time, "cpu s" the process\'s CPU time (all threads). On a shared,',
    'oversubscribed machine wall time mostly measures the scheduler; with one thread per library',
    '(BENCH_SCORE_THREADS=1) CPU seconds are the work each path did, so compare those first. The graph',
    'path releases the transformers.js decoder session once loaded (it reloads it only to generate), so',
    'it holds one copy of the weights. The PyTorch loop uses Debian\'s torch with OpenBLAS',
    '(`libopenblas0-pthread`; with Debian\'s default reference BLAS it is several times slower).',
    '',
    ...reports.map((r) => r.markdown),
  ].join('\n');
  const out = opts.out === undefined ? path.join(repoRoot, 'docs', 'bench-lm.md') : opts.out;
  if (out) {
    writeSection(out, '## Scoring graph', md);
    log(`wrote ${path.relative(process.cwd(), out) || out}`);
  }
  return { models: reports, markdown: md };
}

/**
 * fp16 vs fp32 drift of log-probabilities on the shared hf-tiny checkpoints: each converted in both
 * dtypes, the scoring graph's token log-probabilities of the reference texts (refs/<model>.jsonl),
 * against each other and against the references (transformers, float64).
 */
export async function runDrift(log: (s: string) => void = console.log): Promise<string> {
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  const { loadLanguageModel } = await import('../src/lm/index.js');
  const hf = path.join(shared, 'models', 'hf-tiny');
  const work = env('BENCH_SCORE_DIR', path.join(os.tmpdir(), 'lm-score-bench'));
  const rows: string[] = [];
  for (const name of ['gpt2-tiny', 'pythia-tiny', 'llama-tiny', 'olmo-tiny', 'hf_olmo-tiny']) {
    const refs = readFileSync(path.join(hf, 'refs', `${name}.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { text: string; logprobs_fp64: number[] });
    const lp: Record<string, number[][]> = {};
    for (const dtype of ['fp32', 'fp16'] as const) {
      const out = path.join(work, 'drift', `${name}-${dtype}`);
      await convertCheckpoint(path.join(hf, name), out, { dtype });
      const lm = await loadLanguageModel(out, { dtype, scoringGraph: true });
      lp[dtype] = (await lm.sequence(refs.map((r) => r.text))).map((r) => r.tokenLogprobs);
      await lm.dispose();
    }
    const stat = (a: number[][], b: number[][]) => {
      let max = 0;
      let sum = 0;
      let n = 0;
      let seqMax = 0;
      a.forEach((xs, i) => {
        let d = 0;
        xs.forEach((x, j) => {
          const e = Math.abs(x - b[i]![j]!);
          max = Math.max(max, e);
          sum += e;
          n++;
          d += x - b[i]![j]!;
        });
        seqMax = Math.max(seqMax, Math.abs(d));
      });
      return { max, mean: sum / n, seqMax, n };
    };
    const ref = refs.map((r) => r.logprobs_fp64);
    const f32 = stat(lp['fp32']!, ref);
    const f16 = stat(lp['fp16']!, lp['fp32']!);
    const f16ref = stat(lp['fp16']!, ref);
    log(`${name}: fp32 vs reference max ${f32.max.toExponential(1)}; fp16 vs fp32 max ${f16.max.toExponential(1)} mean ${f16.mean.toExponential(1)} per sequence ${f16.seqMax.toExponential(1)}`);
    rows.push(`| ${name} | ${f32.n} | ${f32.max.toExponential(1)} | ${f16.max.toExponential(1)} | ${f16.mean.toExponential(1)} | ${f16.seqMax.toExponential(1)} | ${f16ref.max.toExponential(1)} |`);
  }
  return [
    '| model | scored tokens | fp32 graph vs reference, max | fp16 vs fp32, max per token | fp16 vs fp32, mean per token | fp16 vs fp32, max per sequence (sum) | fp16 vs reference, max |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/** Replace (or append) the section of `file` that starts at `heading`, keeping what comes before it
 * and every section after it (the next heading of the same level: the end-to-end section). */
export function writeSection(file: string, heading: string, md: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(`\n${heading}`);
  const head = at >= 0 ? old.slice(0, at + 1) : old.length > 0 ? old.replace(/\n*$/, '\n\n') : '';
  const level = /^#+ /.exec(heading)?.[0] ?? '## ';
  const next = at >= 0 ? old.indexOf(`\n${level}`, at + 1) : -1;
  const tail = next >= 0 ? old.slice(next + 1) : '';
  writeFileSync(file, head + md + (md.endsWith('\n') ? '' : '\n') + (tail ? `\n${tail}` : ''));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') {
    await workerMain(args[1]!);
  } else if (args[0] === '--drift') {
    console.log(await runDrift());
  } else {
    const i = args.indexOf('--out');
    const result = await runScoreBench({ out: args.includes('--no-write') ? null : i >= 0 ? args[i + 1] : undefined, reportOnly: args.includes('--report') });
    if (result.models.some((m) => Object.values(m.diffs).some((d) => !(d <= m.tol)))) {
      console.error('the paths disagree on some task mix');
      process.exitCode = 1;
    }
  }
}
