// End to end through the CLI against a one-sequence and a batched PyTorch loop over the same
// requests, at equal thread counts (`npm run bench -- e2e`; docs/bench-lm.md).
//
// Per shape (BENCH_E2E_SHAPES: 160m, 1b; default 160m): a random-weight GPT-NeoX checkpoint written
// by the project's safetensors writer; `pipeline score --threads T` per task in one store, each a
// fresh process (start, model load, conversion on the first call), timed by /usr/bin/time (wall,
// user + sys CPU, peak RSS, blocks written); then bench/torch-e2e.py over that call's requests.jsonl
// in "one" and "batched" mode, also whole processes, with torch's, OpenMP's, OpenBLAS's and MKL's
// threads pinned to T. Generation is also timed in-process on both sides (our generate() vs the
// torch loop's greedy part) for the production target. Disk: the checkpoint, the store after the
// run (du), and what the converting call wrote.
//
// Env: BENCH_E2E_SHAPES (160m,1b), BENCH_E2E_ITEMS (items per task, default 6), BENCH_THREADS (1),
// BENCH_E2E_DIR (work folder, default <tmp>/lm-e2e-bench), BENCH_E2E_PYTHON (python with torch,
// default /usr/bin/python3), BENCH_E2E_TORCH=0 to skip torch, BENCH_E2E_TASKS (comma list of task
// names, e.g. blimp,crt/crt1; default all), BENCH_E2E_GEN_ALONE=0 to skip the in-process
// generation timing, BENCH_E2E_REUSE_TORCH=1 to reuse torch runs over identical jobs (torchRun),
// BENCH_E2E_RUNS (CLI runs per task, 1–9, default 1: the median by CPU is reported, every run's CPU
// listed), BENCH_E2E_TORCH_MODES (one,batched,hf; e.g. batched,hf for the 1b shape; hf = generation shaped as
// Hugging Face 4.40.2's generate, run for tasks that generate).

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { neoxSizes, writeCheckpoint, type NeoxSizes } from './score-bench.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = path.resolve(REPO, '../shared');

const SHAPES: Record<string, Partial<NeoxSizes>> = {
  // A few MB, for checking the benchmark itself.
  mini: { layers: 2, hidden: 64, heads: 4, inner: 256, vocab: 50304 },
  '160m': { layers: 12, hidden: 768, heads: 12, inner: 3072, vocab: 50304 },
  '1b': { layers: 16, hidden: 2048, heads: 8, inner: 8192, vocab: 50304 },
};
const TASKS: Array<{ task: string; condition?: string }> = [
  { task: 'blimp' },
  { task: 'dgl' },
  { task: 'lambada' },
  { task: 'digit_mat' },
  { task: 'crt', condition: 'crt1' },
];

interface Timed {
  wall: number;
  cpu: number;
  rssMiB: number;
  writtenMiB: number;
  stdout: string;
}

/** Run a command under /usr/bin/time: wall, user+sys CPU, peak RSS, blocks written. */
function timed(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Timed {
  // Per bench process: two benches sharing a BENCH_E2E_DIR would otherwise read each other's figures.
  const stats = path.join(opts.cwd, `.time-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-o', stats, '-f', '%e %U %S %M %O', cmd, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  const [e, u, s, m, o] = readFileSync(stats, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  rmSync(stats, { force: true });
  return { wall: e!, cpu: u! + s!, rssMiB: m! / 1024, writtenMiB: (o! * 512) / 2 ** 20, stdout: r.stdout };
}

/**
 * One torch-e2e.py process, timed. BENCH_E2E_REUSE_TORCH=1 reuses an earlier run's timing and
 * output (OUT.timed.json beside OUT) when it was over byte-identical jobs and threads: the torch
 * side does not change between runs of our side, and its loops are the slow part.
 */
function torchRun(python: string, ckpt: string, jobsFile: string, outFile: string, mode: string, cwd: string, env: NodeJS.ProcessEnv, log: (s: string) => void): Timed {
  const sidecar = outFile.replace(/\.json$/, '.timed.json');
  const key = { jobs: createHash('sha256').update(readFileSync(jobsFile)).digest('hex'), threads: env['BENCH_THREADS'], mode };
  if (process.env.BENCH_E2E_REUSE_TORCH === '1' && existsSync(sidecar) && existsSync(outFile)) {
    const prev = JSON.parse(readFileSync(sidecar, 'utf8')) as { key: typeof key; timed: Timed };
    if (JSON.stringify(prev.key) === JSON.stringify(key)) {
      log(`   (reusing the torch ${mode} run of ${path.basename(jobsFile)} from an earlier bench run: same jobs, same threads)`);
      return prev.timed;
    }
  }
  const tr = timed(python, [path.join(REPO, 'bench', 'torch-e2e.py'), ckpt, jobsFile, outFile, mode], { cwd, env });
  writeFileSync(sidecar, JSON.stringify({ key, timed: { ...tr, stdout: '' } }));
  return tr;
}

function du(p: string): number {
  return Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]);
}

interface Row {
  task: string;
  requests: number;
  gens: number;
  cli: Timed;
  /** CPU seconds of every CLI run (BENCH_E2E_RUNS); `cli` is the median one. */
  cliCpuRuns: number[];
  one?: Timed & { work: number; workCpu: number };
  batched?: Timed & { work: number; workCpu: number };
  /** torch-e2e.py's hf mode (generation shaped as HF 4.40.2's generate): tasks that generate only. */
  hf?: Timed & { work: number; workCpu: number };
  sameGenerated?: string;
  /** Largest |ours − torch| log-probability over every scored token, both torch modes. */
  maxDiff?: number;
  /** Next-token argmaxes that agree with torch batched. */
  sameArgmax?: string | null;
  /** Requests whose token ids differ between the CLI's record and the torch job (must be 0). */
  idMismatches: number;
}

async function tokenizer(folder: string): Promise<(t: string) => number[]> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = path.dirname(folder) + path.sep;
  const tok = (await tf.AutoTokenizer.from_pretrained(path.basename(folder))) as unknown as { encode(t: string): number[] };
  return (t) => tok.encode(t);
}

type Job = { ids: number[]; start?: number; next?: boolean; gen?: number; text?: string };

/** What the CLI recorded for a job (requests.jsonl): scored tokens' log-probabilities, or a next-token argmax. */
type Ref = { tokenLogprobs: number[] } | { argmax: number };

/**
 * The torch jobs for a CLI call's requests.jsonl: the same token ids the model saw (sequence and
 * generate records carry them; a conditional's are re-tokenized as the scorer does and checked
 * against the continuation ids it recorded).
 */
function jobsOf(requestsFile: string, encode: (t: string) => number[], planConditional: (e: (t: string) => number[], r: { prefix: string; continuation: string; separator: string }) => { ids: number[]; start: number }): { jobs: Job[]; ours: Map<number, number[]>; refs: Map<number, Ref>; idMismatches: number } {
  const jobs: Job[] = [];
  const ours = new Map<number, number[]>();
  const refs = new Map<number, Ref>();
  let idMismatches = 0;
  for (const line of readFileSync(requestsFile, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r['kind'] === 'conditional') {
      const p = planConditional(encode, r as never);
      if (JSON.stringify(p.ids.slice(p.start)) !== JSON.stringify(r['token_ids'])) idMismatches++;
      if (p.ids.length > p.start) {
        refs.set(jobs.length, { tokenLogprobs: r['token_logprobs'] as number[] });
        jobs.push({ ids: p.ids, start: p.start });
      }
    } else if (r['kind'] === 'sequence') {
      const ids = r['input_ids'] as number[];
      if (JSON.stringify(ids.slice(1)) !== JSON.stringify(r['token_ids'])) idMismatches++;
      refs.set(jobs.length, { tokenLogprobs: r['token_logprobs'] as number[] });
      jobs.push({ ids, start: 1 });
    } else if (r['kind'] === 'next-token') {
      refs.set(jobs.length, { argmax: Number(r['argmax']) });
      jobs.push({ ids: encode(String(r['text'])), next: true });
    } else if (r['kind'] === 'generate') {
      ours.set(jobs.length, r['new_token_ids'] as number[]);
      jobs.push({ ids: r['prompt_ids'] as number[], gen: Number(r['max_new_tokens']) });
    }
  }
  return { jobs, ours, refs, idMismatches };
}

/** Largest |ours − torch| over every scored token, and how many next-token argmaxes agree. */
function compare(refs: Map<number, Ref>, scores: Record<string, number[] | number>): { maxDiff: number; argmax: string | null; missing: number } {
  let maxDiff = 0;
  let missing = 0;
  let nextSame = 0;
  let nextAll = 0;
  for (const [i, ref] of refs) {
    const t = scores[String(i)];
    if (t === undefined) {
      missing++;
      continue;
    }
    if ('argmax' in ref) {
      nextAll++;
      if (t === ref.argmax) nextSame++;
    } else if (Array.isArray(t) && t.length === ref.tokenLogprobs.length) {
      for (let k = 0; k < t.length; k++) maxDiff = Math.max(maxDiff, Math.abs(t[k]! - ref.tokenLogprobs[k]!));
    } else missing++;
  }
  return { maxDiff, argmax: nextAll ? `${nextSame}/${nextAll}` : null, missing };
}

const f2 = (x: number) => x.toFixed(2);
const ratio = (a: number, b: number | undefined) => (b ? f2(a / b) : '–');

export async function runE2eBench(opts: { out?: string | null; log?: (s: string) => void } = {}): Promise<string> {
  const log = opts.log ?? console.log;
  const shapes = (process.env.BENCH_E2E_SHAPES ?? '160m').split(',').map((s) => s.trim()).filter(Boolean);
  const items = Number(process.env.BENCH_E2E_ITEMS ?? 6);
  const reps = Math.max(1, Math.min(9, Number(process.env.BENCH_E2E_RUNS ?? 1) || 1));
  const threads = Number(process.env.BENCH_THREADS ?? 1);
  const python = process.env.BENCH_E2E_PYTHON ?? '/usr/bin/python3';
  const work = process.env.BENCH_E2E_DIR ?? path.join(tmpdir(), 'lm-e2e-bench');
  let torchProblem: string | null = process.env.BENCH_E2E_TORCH === '0' ? 'skipped (BENCH_E2E_TORCH=0)' : null;
  if (!torchProblem) {
    const probe = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    torchProblem = probe.status === 0 ? null : `torch is not importable by ${python}: ${probe.stderr.trim().split('\n').at(-1)}`;
    if (!torchProblem) log(`torch ${probe.stdout.trim()} (${python})`);
  }
  if (torchProblem) log(`torch comparison: ${torchProblem}`);
  const { planConditional } = await import('../src/lm/tokenize.js');
  const pinned = { ...process.env, BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const sections: string[] = [];
  for (const shape of shapes) {
    const sizes = SHAPES[shape];
    if (!sizes) throw new Error(`BENCH_E2E_SHAPES: unknown shape "${shape}" (known: ${Object.keys(SHAPES).join(', ')})`);
    const dir = path.join(work, shape);
    const ckpt = path.join(dir, 'checkpoint');
    const cwd = path.join(dir, 'run');
    log(`== ${shape}: writing the random checkpoint …`);
    const { params } = await writeCheckpoint(ckpt, 'neox', neoxSizes(sizes));
    // BENCH_E2E_KEEP=1 keeps the store of an earlier run (its converted model) to save the conversion.
    if (process.env.BENCH_E2E_KEEP !== '1') rmSync(cwd, { recursive: true, force: true });
    mkdirSync(cwd, { recursive: true });
    // Repetition r > 0 sets chunk_requests to 2048 − r: a new stage key (the store cannot answer it)
    // and, for fewer than 2,000 requests, the same model calls as the default.
    const cli = (task: string, condition: string | undefined, limit: number, rep = 0) =>
      timed(process.execPath, [path.join(REPO, 'bin', 'pipeline.js'), '--stimuli-dir', path.join(SHARED, 'data', 'stimuli'), 'score', '--model', ckpt, '--task', task, ...(condition ? ['--condition', condition] : []), '--limit', String(limit), '--threads', String(threads), '--param', 'request_cache=false', ...(rep > 0 ? ['--param', `chunk_requests=${2048 - rep}`] : []), '--json'], { cwd });
    log(`== ${shape}: first call (fetch + convert + 1 blimp item) …`);
    const first = cli('blimp', undefined, 1);
    const storeBytes = du(path.join(cwd, '.pipeline-score', 'cache'));
    const encode = await tokenizer(ckpt);
    const gen = await generationOnly(cwd, dir, threads, python, torchProblem ? null : pinned, log);
    const rows: Row[] = [];
    // BENCH_E2E_GEN_ONLY=1: production alone, no per-task CLI runs.
    const only = process.env.BENCH_E2E_TASKS?.split(',').map((s) => s.trim()).filter(Boolean);
    for (const t of process.env.BENCH_E2E_GEN_ONLY === '1' ? [] : TASKS) {
      const name = t.task + (t.condition ? `/${t.condition}` : '');
      if (only && !only.includes(name)) continue;
      log(`== ${shape}: ${name} through the CLI …`);
      const runs = Array.from({ length: reps }, (_, r) => cli(t.task, t.condition, items, r));
      // The median run by CPU (single CLI runs vary by ±0.5 CPU s even on a quiet machine).
      const res = runs.slice().sort((a, b) => a.cpu - b.cpu)[(runs.length - 1) >> 1]!;
      const out = JSON.parse(res.stdout) as { requests: string; cached?: boolean };
      // A stage answered from the store would time nothing (BENCH_E2E_KEEP=1 with unchanged code).
      if (out.cached) throw new Error(`${name}: pipeline score answered from its store (cached); remove ${cwd} or change the limit`);
      const { jobs, ours, refs, idMismatches } = jobsOf(out.requests, encode, planConditional);
      const row: Row = { task: name, requests: jobs.length, gens: ours.size, cli: res, cliCpuRuns: runs.map((r) => r.cpu), idMismatches };
      const jobsFile = path.join(dir, `jobs-${t.task}.json`);
      writeFileSync(jobsFile, JSON.stringify({ jobs, eos: 50256 }));
      if (!torchProblem) {
        const modes = (process.env.BENCH_E2E_TORCH_MODES ?? 'one,batched,hf').split(',').filter((m): m is 'one' | 'batched' | 'hf' => m === 'one' || m === 'batched' || m === 'hf');
        for (const mode of modes) {
          // hf differs from batched only in generation.
          if (mode === 'hf' && !ours.size) continue;
          log(`== ${shape}: ${name} torch ${mode} …`);
          const outFile = path.join(dir, `torch-${t.task}-${mode}.json`);
          const tr = torchRun(python, ckpt, jobsFile, outFile, mode, cwd, pinned, log);
          const o = JSON.parse(readFileSync(outFile, 'utf8')) as { seconds: number; cpuSeconds: number; threads: number; generated: Record<string, number[]>; scores: Record<string, number[] | number> };
          if (o.threads !== threads) throw new Error(`torch-e2e.py ran with ${o.threads} threads, not ${threads}`);
          row[mode] = { ...tr, work: o.seconds, workCpu: o.cpuSeconds };
          const c = compare(refs, o.scores);
          if (c.missing) throw new Error(`${name}: torch ${mode} returned no score for ${c.missing} request(s)`);
          row.maxDiff = Math.max(row.maxDiff ?? 0, c.maxDiff);
          if (mode === 'batched') row.sameArgmax = c.argmax;
          if (mode === 'batched' && ours.size) {
            const same = [...ours].filter(([i, ids]) => JSON.stringify(o.generated[String(i)]) === JSON.stringify(ids)).length;
            row.sameGenerated = `${same}/${ours.size}`;
          }
        }
      }
      rows.push(row);
      log(`row: ${JSON.stringify({ ...row, cli: { ...row.cli, stdout: undefined } })}`);
    }
    sections.push(shapeMarkdown(shape, params, rows, first, storeBytes, du(ckpt), threads, gen));
  }
  const head = [
    '## End to end through the CLI vs PyTorch loops (`npm run bench -- e2e`)',
    '',
    `Generated by \`node dist/bench/run-all.js e2e\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, ${items} items per task (BENCH_E2E_ITEMS), ${threads} thread(s) per side (BENCH_THREADS), load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
    'Each "CLI" figure is a whole `pipeline score --threads T` process (start, model load, the task, writing',
    'its outputs; the store already holds the converted model) timed by /usr/bin/time; each torch figure a',
    'whole bench/torch-e2e.py process (start, loading the safetensors, the same token ids as the CLI sent,',
    'from its requests.jsonl) with torch, OpenMP, OpenBLAS and MKL pinned to T threads. "one" = one sequence',
    'at a time (generation: greedy with a key/value cache, one prompt at a time); "batched" = length-sorted',
    'batches of 16 (scoring right-padded; generation left-padded with positions from the mask and a',
    'key/value cache; output layer at the last position only: leaner than Hugging Face `generate`);',
    '"HF-shaped" = batched, with generation as transformers 4.40.2\'s `generate` runs it (the prefill\'s output',
    'layer at every position, finished rows computing until the batch ends). The torch side is a hand-written GPT-NeoX forward',
    '(Hugging Face transformers is not installable here), not `transformers` itself.',
    torchProblem ? `\n**Torch comparison not run: ${torchProblem}.** Only the CLI side is reported.` : '',
  ];
  const md = head.join('\n') + '\n\n' + sections.join('\n\n') + '\n';
  if (opts.out) {
    const { writeSection } = await import('./score-bench.js');
    writeSection(opts.out, '## End to end through the CLI vs PyTorch loops', md);
  }
  log(md);
  return md;
}

interface GenOnly {
  task: string;
  prompts: number;
  tokens: number;
  same: string | null;
  oursCpu: number;
  oursWall: number;
  torchCpu: number | null;
  torchWall: number | null;
}

/** The prompts a task generates from, as its own code builds them (no model runs: a stand-in answers). */
export async function taskPrompts(task: string, condition: string | undefined, file: string): Promise<{ prompts: string[]; maxNew: number }> {
  const { runTask } = await import('../src/tasks/run-task.js');
  const prompts: string[] = [];
  let maxNew = 0;
  const lm = {
    info: { generation: { doSample: false, eosTokenId: 50256, forcedGreedy: false }, modelType: 'stand-in', vocabSize: 50304, contextLength: 2048, device: 'cpu', dtype: 'fp32' },
    stats: { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0 },
    conditional: async (r: unknown[]) => r.map(() => ({ logprob: 0, tokenIds: [], tokenLogprobs: [], prefixIds: [] })),
    sequence: async (t: unknown[]) => t.map(() => ({ logprob: 0, tokenIds: [], tokenLogprobs: [], inputIds: [] })),
    nextTokenLogits: async (t: unknown[]) => t.map(() => new Float32Array(4)),
    generate: async (p: string[], n: number) => {
      prompts.push(...p);
      maxNew = n;
      return p.map(() => ({ text: '', promptIds: [], newTokenIds: [] }));
    },
    countTokens: (t: string) => t.length,
    dispose: async () => undefined,
  };
  await runTask({ task, condition, stimuliPath: path.join(SHARED, 'data', 'stimuli', file), lm, model: 'stand-in', revision: '', maxNewTokens: task === 'digit_mat' ? 10 : 100 });
  return { prompts, maxNew };
}

/**
 * Production alone, in-process on both sides (no process start, no load): our generate() on the
 * converted model vs the torch loop's batched greedy generation, over the task's own prompts (the
 * first BENCH_E2E_GEN_CRT crt1 questions, default all 50; the first BENCH_E2E_GEN_DIGIT digit_mat
 * problems, default 64).
 */
async function generationOnly(cwd: string, dir: string, threads: number, python: string, env: NodeJS.ProcessEnv | null, log: (s: string) => void): Promise<GenOnly[]> {
  if (process.env.BENCH_E2E_GEN_ALONE === '0') return [];
  const { loadLanguageModel } = await import('../src/lm/index.js');
  const { readdirSync } = await import('node:fs');
  const trees = path.join(cwd, '.pipeline-score', 'cache', 'trees');
  const folder = existsSync(trees) ? readdirSync(trees).map((d) => path.join(trees, d)).find((d) => existsSync(path.join(d, 'onnx', 'model.onnx'))) : undefined;
  if (!folder) {
    log('generation-only: no converted model folder under cache/trees; skipped');
    return [];
  }
  const encode = await tokenizer(folder);
  const out: GenOnly[] = [];
  const digit = Number(process.env.BENCH_E2E_GEN_DIGIT ?? 64);
  const crt = Number(process.env.BENCH_E2E_GEN_CRT ?? 50);
  for (const [name, task, condition, file, limit] of [['crt/crt1', 'crt', 'crt1', 'crt/stimuli.csv', crt], ['digit_mat', 'digit_mat', undefined, 'digit_mat/problems.json', digit]] as const) {
    const all = await taskPrompts(task, condition, file);
    const prompts = all.prompts.slice(0, limit);
    log(`== generation alone: ${name}, ${prompts.length} prompts, ours …`);
    const lm = await loadLanguageModel(folder, { threads });
    await lm.generate([prompts[0]!], 1); // loads the decoder session: load time is not production
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await lm.generate(prompts, all.maxNew);
    const wall = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    await lm.dispose();
    let torchCpu: number | null = null;
    let torchWall: number | null = null;
    let same: string | null = null;
    if (env) {
      log(`== generation alone: ${name}, torch batched …`);
      const gf = path.join(dir, `gen-${task}.json`);
      writeFileSync(gf, JSON.stringify({ jobs: prompts.map((p) => ({ ids: encode(p), gen: all.maxNew })), eos: 50256 }));
      const of = path.join(dir, `gen-${task}-out.json`);
      timed(python, [path.join(REPO, 'bench', 'torch-e2e.py'), path.join(dir, 'checkpoint'), gf, of, 'batched'], { cwd, env });
      const o = JSON.parse(readFileSync(of, 'utf8')) as { seconds: number; cpuSeconds: number; generated: Record<string, number[]> };
      torchCpu = o.cpuSeconds;
      torchWall = o.seconds;
      same = `${res.filter((g, i) => JSON.stringify(g.newTokenIds) === JSON.stringify(o.generated[String(i)])).length}/${res.length}`;
    }
    out.push({ task: name, prompts: prompts.length, tokens: res.reduce((a, g) => a + g.newTokenIds.length, 0), oursCpu: (cu.user + cu.system) / 1e6, oursWall: wall, torchCpu, torchWall, same });
    log(`generation alone: ${JSON.stringify(out.at(-1))}`);
  }
  return out;
}

function shapeMarkdown(shape: string, params: number, rows: Row[], first: Timed, storeBytes: number, ckptBytes: number, threads: number, gen: GenOnly[]): string {
  const GiB = (b: number) => (b / 2 ** 30).toFixed(2);
  const lines = [
    `### GPT-NeoX, Pythia-${shape} shape, cpu, fp32 (${(params / 1e6).toFixed(1)}M parameters), ${threads} thread(s)`,
    '',
    '| task | requests (generations) | CLI s | CLI cpu s | torch one s | torch one cpu s | torch batched s | torch batched cpu s | CLI / one, cpu | CLI / batched, cpu | CLI / batched, wall | CLI peak RSS MiB | torch one / batched peak RSS MiB | max \\|Δ logprob\\| vs torch | same next-token argmax | same greedy ids as torch batched | torch HF-generate-shaped cpu s | CLI / HF-shaped, cpu |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.task} | ${r.requests}${r.gens ? ` (${r.gens})` : ''} | ${f2(r.cli.wall)} | ${f2(r.cli.cpu)} | ${r.one ? f2(r.one.wall) : '–'} | ${r.one ? f2(r.one.cpu) : '–'} | ${r.batched ? f2(r.batched.wall) : '–'} | ${r.batched ? f2(r.batched.cpu) : '–'} | ${ratio(r.cli.cpu, r.one?.cpu)} | ${ratio(r.cli.cpu, r.batched?.cpu)} | ${ratio(r.cli.wall, r.batched?.wall)} | ${r.cli.rssMiB.toFixed(0)} | ${r.one ? r.one.rssMiB.toFixed(0) : '–'} / ${r.batched ? r.batched.rssMiB.toFixed(0) : '–'} | ${r.maxDiff === undefined ? '–' : r.maxDiff.toExponential(1)} | ${r.sameArgmax ?? '–'} | ${r.sameGenerated ?? '–'} | ${r.hf ? f2(r.hf.cpu) : '–'} | ${ratio(r.cli.cpu, r.hf?.cpu)} |`,
    );
  }
  const mism = rows.reduce((a, r) => a + r.idMismatches, 0);
  const repeated = rows.filter((r) => r.cliCpuRuns.length > 1);
  if (repeated.length) {
    lines.push('', `CLI figures are the median of ${repeated[0]!.cliCpuRuns.length} runs by CPU (BENCH_E2E_RUNS). Every run's CPU s, and its ratio to torch batched: ` +
      repeated.map((r) => `${r.task} ${r.cliCpuRuns.map((c) => `${f2(c)} (${ratio(c, r.batched?.cpu)})`).join(', ')}`).join('; ') + '.');
  }
  lines.push(
    '',
    mism ? `**Token ids: ${mism} request(s) differ between the CLI's record and the torch job** (the comparison is not like for like there).` : 'Token ids: every request the torch loops scored or generated from has exactly the ids the CLI recorded in requests.jsonl.',
    '',
    `First call (fetch-model from the folder, convert-model, one blimp item): ${f2(first.wall)} s wall, ${f2(first.cpu)} s CPU, ${first.writtenMiB.toFixed(0)} MiB written. Disk: checkpoint ${GiB(ckptBytes)} GiB; the store after converting ${GiB(storeBytes)} GiB (${(storeBytes / ckptBytes).toFixed(2)}× the checkpoint).`,
  );
  if (gen.length) {
    lines.push('', 'Production alone (in-process work only, no start or load): our batched greedy `generate()` on the converted model vs the torch loop\'s batched greedy generation (batches of 16, left-padded, key/value cache) over the task\'s own prompts:', '', '| task | prompts | new tokens (ours) | ours s | ours cpu s | torch batched s | torch batched cpu s | ours / torch batched, cpu | ours / torch batched, wall | same greedy ids |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const g of gen) lines.push(`| ${g.task} | ${g.prompts} | ${g.tokens} | ${f2(g.oursWall)} | ${f2(g.oursCpu)} | ${g.torchWall === null ? '–' : f2(g.torchWall)} | ${g.torchCpu === null ? '–' : f2(g.torchCpu)} | ${ratio(g.oursCpu, g.torchCpu ?? undefined)} | ${ratio(g.oursWall, g.torchWall ?? undefined)} | ${g.same ?? '–'} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const i = process.argv.indexOf('--out');
  await runE2eBench({ out: i > 0 ? process.argv[i + 1] ?? null : null });
}
