// `npm run bench -- disk`: a revision sweep's disk use, through the CLI against a fake hub on
// 127.0.0.1 (its own process). N revisions of a ~1 GB GPT-2-shaped random checkpoint (hub PyTorch
// layout) are fetched, converted and scored under a retain policy; the store and the hub cache are
// sampled while it runs (du: each inode once), the bytes the run's process tree handed to write()
// are read from /proc/self/io once it is reaped, and the store after the sweep is compared with
// what the policy promises. Sizes from the environment: DISK_BENCH_MB (default 1024),
// DISK_BENCH_REVISIONS (8), DISK_BENCH_RETAIN (the policy, YAML), DISK_BENCH_DIR (tmpdir).
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SafetensorsWriter } from '../src/convert/readers/safetensors-write.js';
import { tinyModelConfig } from '../src/tinymodel/options.js';
import { EOS_ID, makeTokenizerFiles } from '../src/tinymodel/tokenizer-files.js';
import { INIT, makeRng } from '../src/tinymodel/weights.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'pipeline.js');
const SMALL = 4 * 1024 * 1024;

/** A GPT-2 shape of about `bytes` of fp32 weights: few layers, a wide embedding. */
export function shapeFor(bytes: number): { nEmbd: number; nLayer: number; nHead: number } {
  const nLayer = bytes >= 200e6 ? 3 : 1;
  const a = 48 * nLayer;
  const b = 4 * (50257 + 1024);
  const e = (-b + Math.sqrt(b * b + 4 * a * bytes)) / (2 * a);
  return { nEmbd: Math.max(64, Math.round(e / 64) * 64), nLayer, nHead: 8 };
}

/**
 * A GPT-2 checkpoint in the hub's layout (config, tokenizer, model.safetensors), written tensor by
 * tensor from a tiled pool of seeded normals: the tiny model's own generator draws every value
 * (Box-Muller), too slow for gigabytes on a shared machine. Each seed gives other weights.
 */
async function writeSweepCheckpoint(folder: string, sizes: { nEmbd: number; nLayer: number; nHead: number }, seed: number): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(folder, { recursive: true });
  const tok = await makeTokenizerFiles();
  await writeFile(join(folder, 'config.json'), JSON.stringify(tinyModelConfig({ seed, ...sizes }), null, 2));
  await writeFile(join(folder, 'generation_config.json'), JSON.stringify({ bos_token_id: EOS_ID, eos_token_id: EOS_ID }));
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tok['tokenizer.json']));
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(tok['tokenizer_config.json']));
  await writeFile(join(folder, 'special_tokens_map.json'), JSON.stringify(tok['special_tokens_map.json']));
  const e = sizes.nEmbd;
  const L = sizes.nLayer;
  const depth = 1 / Math.sqrt(2 * L);
  const decls: { name: string; shape: number[]; std: number; mean?: number }[] = [
    { name: 'transformer.wte.weight', shape: [50257, e], std: INIT.wte },
    { name: 'transformer.wpe.weight', shape: [1024, e], std: INIT.wpe },
  ];
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    decls.push(
      { name: `${p}.ln_1.weight`, shape: [e], std: INIT.lnGain, mean: 1 }, { name: `${p}.ln_1.bias`, shape: [e], std: INIT.lnBias },
      { name: `${p}.attn.c_attn.weight`, shape: [e, 3 * e], std: INIT.attn }, { name: `${p}.attn.c_attn.bias`, shape: [3 * e], std: INIT.bias },
      { name: `${p}.attn.c_proj.weight`, shape: [e, e], std: INIT.proj * depth }, { name: `${p}.attn.c_proj.bias`, shape: [e], std: INIT.bias },
      { name: `${p}.ln_2.weight`, shape: [e], std: INIT.lnGain, mean: 1 }, { name: `${p}.ln_2.bias`, shape: [e], std: INIT.lnBias },
      { name: `${p}.mlp.c_fc.weight`, shape: [e, 4 * e], std: INIT.fc }, { name: `${p}.mlp.c_fc.bias`, shape: [4 * e], std: INIT.bias },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * e, e], std: INIT.mlpProj * depth }, { name: `${p}.mlp.c_proj.bias`, shape: [e], std: INIT.bias },
    );
  }
  decls.push({ name: 'transformer.ln_f.weight', shape: [e], std: INIT.lnGain * INIT.lnfGain, mean: INIT.lnfGain }, { name: 'transformer.ln_f.bias', shape: [e], std: INIT.lnBias });
  const rng = makeRng(`disk-bench:${seed}`);
  const POOL = 1 << 20;
  const pool = new Float32Array(POOL + 1);
  for (let i = 0; i < POOL; i++) pool[i] = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const w = await SafetensorsWriter.create(join(folder, 'model.safetensors'), decls.map((d) => ({ name: d.name, dtype: 'F32' as const, shape: d.shape })));
  for (const d of decls) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let at = Math.floor(rng() * POOL);
    const step = 1 + Math.floor(rng() * 7); // a stride per tensor, so tiles do not line up across tensors
    for (let i = 0; i < n; i++) {
      data[i] = (d.mean ?? 0) + d.std * pool[at]!;
      at += step;
      if (at >= POOL) at -= POOL;
    }
    await w.write(data);
  }
  await w.close();
}

/** Bytes on disk under some folders, each inode once (hard links shared by the store and the hub cache count once), as du does. */
function diskUse(roots: string[]): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue; // removed meanwhile
      }
      if (st.isDirectory()) walk(p);
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      total += st.blocks * 512;
    }
  };
  for (const r of roots) walk(r);
  return total;
}

/** Large files (over 4 MiB) under a folder, each inode once. */
function largeFiles(root: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = lstatSync(p);
        if (st.size > SMALL && !seen.has(st.ino)) {
          seen.add(st.ino);
          total += st.size;
        }
      }
    }
  };
  walk(root);
  return total;
}

function io(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/self/io', 'utf8').split('\n')) {
    const [k, v] = line.split(':');
    if (k && v) out[k.trim()] = Number(v.trim());
  }
  return out;
}

const GB = (n: number): string => `${(n / 1e9).toFixed(2)} GB`;

export interface DiskBenchResult {
  revisions: number;
  checkpointBytes: number;
  onnxBytes: number;
  shape: string;
  retain: string;
  peakBytes: number;
  wchar: number;
  writeBytes: number;
  storeAfter: number;
  largeAfter: number;
  promisedLarge: number;
  hubAfter: number;
  peakCheckpoints: number;
  peakConverted: number;
  wallS: number;
  code: number;
}

export async function runDiskBench(opts: { out?: string } = {}): Promise<DiskBenchResult> {
  const mb = Number(process.env.DISK_BENCH_MB ?? 1024);
  const n = Number(process.env.DISK_BENCH_REVISIONS ?? 8);
  const retain = process.env.DISK_BENCH_RETAIN ?? '{ checkpoints: false, converted: after-scoring }';
  const reuse = process.env.DISK_BENCH_DIR && existsSync(join(process.env.DISK_BENCH_DIR, 'repo')) ? process.env.DISK_BENCH_DIR : undefined;
  const base = reuse ?? mkdtempSync(join(process.env.DISK_BENCH_DIR ?? tmpdir(), 'ltd-disk-bench-'));
  if (reuse) for (const d of ['project', 'hf']) rmSync(join(base, d), { recursive: true, force: true });
  const st = statfsSync(base);
  const need = mb * 1e6 * (n + 4);
  if (st.bavail * st.bsize < need) throw new Error(`disk bench: needs ${GB(need)} free under ${base} (the fake hub's ${n} revisions and the sweep), has ${GB(st.bavail * st.bsize)}; set DISK_BENCH_MB, DISK_BENCH_REVISIONS or DISK_BENCH_DIR`);
  const shape = shapeFor(mb * 1e6);
  const revisions = Array.from({ length: n }, (_, i) => `step${(i + 1) * 1000}`);
  const repo = join(base, 'repo');
  console.log(`writing ${n} revisions of a GPT-2-shaped checkpoint (nEmbd ${shape.nEmbd}, ${shape.nLayer} layers) under ${repo} …`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(repo, { recursive: true }); // main: no files; the revisions are branches
  for (const [i, r] of revisions.entries()) {
    // DISK_BENCH_KEEP=1 keeps the folder: a second run with DISK_BENCH_DIR=<it> reuses the revisions written.
    if (!existsSync(join(repo, 'revisions', r, 'model.safetensors'))) await writeSweepCheckpoint(join(repo, 'revisions', r), shape, i + 1);
  }
  const checkpointBytes = readdirSync(join(repo, 'revisions', revisions[0]!)).reduce((s, f) => s + lstatSync(join(repo, 'revisions', revisions[0]!, f)).size, 0);
  const project = join(base, 'project');
  const pipeline = `version: 1
models:
  - id: bench-org/gpt-sweep
    display: { name: gpt sweep, family: T }
    revisions: [${revisions.join(', ')}]
    retain: ${retain}
tasks:
  lambada: {}
stages:
  fetch-model: { uses: fetch-model, matrix: { model: $models, revision: $checkpoints } }
  convert-model: { uses: convert-model, matrix: { model: $models, revision: $checkpoints }, needs: [fetch-model] }
  stimuli: { uses: demo-stimuli, matrix: { task: $tasks } }
  build-config: { uses: build-config, matrix: { task: $tasks, condition: $conditions, model: $models } }
  score:
    uses: score
    matrix: { task: $tasks, condition: $conditions, model: $models, revision: $checkpoints }
    needs: [convert-model, stimuli, build-config]
    params: { limit: 2 }
`;
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'pipeline.yaml'), pipeline);

  const hub = spawn(process.execPath, [join(REPO, 'dist', 'bench', 'disk-hub.js'), 'bench-org/gpt-sweep', repo], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: hub.stdout! }).once('line', res);
    hub.once('exit', (c) => rej(new Error(`the fake hub exited (${c})`)));
  });
  const roots = [join(project, 'cache'), join(base, 'hf')];
  console.log(`fake hub at ${url} (revisions listed and hashed); the sweep starts`);
  const io0 = io();
  const t0 = Date.now();
  let peakBytes = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakBytes = Math.max(peakBytes, diskUse(roots));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const held = { 'fetch-model': 0, 'convert-model': 0 };
  const peak = { 'fetch-model': 0, 'convert-model': 0 };
  let onnxBytes = 0;
  const cli = spawn(process.execPath, [BIN, 'run', '--json'], { cwd: project, env: { ...process.env, HF_HOME: join(base, 'hf'), HF_ENDPOINT: url, CI: 'true', PIPELINE_HTTP_TIMEOUT: '600' }, stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: cli.stdout! }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    const e = JSON.parse(l) as { type: string; id?: string; bytes?: number; message?: string };
    const kind = e.id?.split('/')[0] as keyof typeof held | undefined;
    if (e.type === 'stage-start' && kind && kind in held) peak[kind] = Math.max(peak[kind], ++held[kind]);
    if (e.type === 'stage-released' && kind && kind in held) {
      held[kind]--;
      if (kind === 'convert-model') onnxBytes = Math.max(onnxBytes, e.bytes ?? 0);
    }
    if (e.type === 'stage-blocked') e.message = (e as { failure?: { message?: string } }).failure?.message;
    if (['stage-done', 'stage-released', 'stage-failed', 'stage-blocked', 'warning'].includes(e.type)) {
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s ${e.type} ${e.id ?? ''}${e.message ? `: ${e.message}` : ''} (disk peak so far ${GB(peakBytes)})`);
    }
  });
  const code = await new Promise<number>((res) => cli.on('exit', (c) => res(c ?? -1)));
  const io1 = io();
  sampling = false;
  await sampler;
  peakBytes = Math.max(peakBytes, diskUse(roots));
  const wallS = (Date.now() - t0) / 1000;
  hub.stdin!.end();
  const policy = /converted:\s*(true|false|after-scoring)/.exec(retain)?.[1] ?? 'true';
  const ckPolicy = /checkpoints:\s*(true|false|after-scoring)/.exec(retain)?.[1] ?? 'true';
  const promisedLarge = (ckPolicy === 'true' ? n * checkpointBytes : 0) + (policy === 'true' ? n * onnxBytes : 0);
  const r: DiskBenchResult = {
    revisions: n,
    checkpointBytes,
    onnxBytes,
    shape: `GPT-2, nEmbd ${shape.nEmbd}, ${shape.nLayer} layers, vocab 50257, fp32 safetensors`,
    retain,
    peakBytes,
    wchar: io1['wchar']! - io0['wchar']!,
    writeBytes: io1['write_bytes']! - io0['write_bytes']!,
    storeAfter: diskUse([join(project, 'cache')]),
    largeAfter: largeFiles(join(project, 'cache')),
    promisedLarge,
    hubAfter: diskUse([join(base, 'hf')]),
    peakCheckpoints: peak['fetch-model'],
    peakConverted: peak['convert-model'],
    wallS,
    code,
  };
  const table = diskTable(r);
  console.log(table);
  if (opts.out && code === 0) writeFileSync(opts.out, diskDoc(table, r));
  if (process.env.DISK_BENCH_KEEP !== '1') rmSync(base, { recursive: true, force: true });
  else for (const d of ['project', 'hf']) rmSync(join(base, d), { recursive: true, force: true });
  if (code !== 0) throw new Error(`disk bench: the sweep failed (exit ${code}); see above`);
  return r;
}

export function diskTable(r: DiskBenchResult): string {
  const C = r.checkpointBytes;
  const rows: [string, string, string][] = [
    ['one checkpoint (C)', GB(C), ''],
    ['its converted ONNX model', GB(r.onnxBytes), `${(r.onnxBytes / C).toFixed(2)} C`],
    ['peak on disk, store + hub cache', GB(r.peakBytes), `${(r.peakBytes / C).toFixed(2)} C (target < 3 C)`],
    ['written per revision (write() calls of the run)', GB(r.wchar / r.revisions), `${(r.wchar / r.revisions / C).toFixed(2)} C (target < 2.5 C)`],
    ['written per revision (reached the disk, write_bytes)', GB(r.writeBytes / r.revisions), `${(r.writeBytes / r.revisions / C).toFixed(2)} C`],
    ['checkpoints / converted models held at once', `${r.peakCheckpoints} / ${r.peakConverted}`, 'from the run\'s events'],
    ['store after the sweep', GB(r.storeAfter), `files over 4 MiB: ${GB(r.largeAfter)}; the policy promises ${GB(r.promisedLarge)}`],
    ['hub cache after the sweep', GB(r.hubAfter), ''],
    ['sweep wall time', `${r.wallS.toFixed(0)} s`, ''],
  ];
  return ['| measure | value | relative |', '|---|---|---|', ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
}

function diskDoc(table: string, r: DiskBenchResult): string {
  return `# Disk benchmark: a revision sweep under a retain policy

Written by \`npm run bench -- disk\` (bench/disk-bench.ts); do not edit by hand.

A sweep of ${r.revisions} revisions of a ${GB(r.checkpointBytes)} checkpoint (${r.shape}; random weights,
one seed per revision, written in the hub's PyTorch layout) served by a fake hub on 127.0.0.1 in
its own process; the pipeline fetches, converts and scores each revision (lambada, 2 items) through
the CLI with \`retain: ${r.retain}\`. The store and the hub cache are sampled every 100 ms while it
runs (each inode once, as \`du\`: a checkpoint the store adopted from the hub cache by hard link is
one copy). "Written" is what the run's process tree (the CLI, its model workers) handed to
\`write()\` (/proc/self/io \`wchar\` of the benchmark once it has reaped the run); \`write_bytes\` is
what reached the block device by then.

${table}

Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}.

Before this work the same fetch and conversion kept a copy of the checkpoint in the store beside
the hub cache's (issue 22: a 4.05 GB checkpoint grew the store by 7.6 GiB and wrote 15.4 GiB), and
every revision of a sweep stayed.
`;
}
