// Conversion benchmark: writes a synthetic llama-shaped fp32 safetensors checkpoint of a chosen
// size (random weights, written tensor by tensor), converts it in a child process (as the
// convert-model stage's worker would), and reports throughput (checkpoint MB per second) and the
// child's peak RSS. The target: peak RSS below 1.5 GiB for a 4 GB checkpoint.
//
//   npm run bench -- convert                     # 4 GB, fp32 (needs ~9 GB free under the temp dir)
//   CONVERT_BENCH_GB=0.3 npm run bench -- convert   # a quick pass
//   CONVERT_BENCH_DTYPES=fp32,fp16 CONVERT_BENCH_DIR=/big/tmp …
// With CONVERT_BENCH_WRITE=1 the results table replaces the marked section of docs/convert.md.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsWriter, type TensorDecl } from '../src/convert/readers/safetensors-write.js';

export interface LlamaShape {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
}

/** A llama-7B-like width (smaller) with as many layers as make `bytes` of fp32 weights. */
export function shapeFor(bytes: number): LlamaShape {
  const hidden = bytes >= 1e9 ? 2048 : 512;
  const intermediate = Math.round((hidden * 8) / 3 / 64) * 64;
  const vocab = 32000;
  const perLayer = 4 * (4 * hidden * hidden + 3 * hidden * intermediate + 2 * hidden);
  const fixed = 4 * (2 * vocab * hidden + hidden);
  const layers = Math.max(1, Math.round((bytes - fixed) / perLayer));
  return { hidden, intermediate, layers, heads: hidden / 64, kvHeads: hidden / 64, vocab };
}

function tensorsOf(s: LlamaShape): TensorDecl[] {
  const out: TensorDecl[] = [{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [s.vocab, s.hidden] }];
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, dtype: 'F32', shape: [s.hidden] },
      { name: `${p}.self_attn.q_proj.weight`, dtype: 'F32', shape: [s.hidden, s.hidden] },
      { name: `${p}.self_attn.k_proj.weight`, dtype: 'F32', shape: [s.hidden, s.hidden] },
      { name: `${p}.self_attn.v_proj.weight`, dtype: 'F32', shape: [s.hidden, s.hidden] },
      { name: `${p}.self_attn.o_proj.weight`, dtype: 'F32', shape: [s.hidden, s.hidden] },
      { name: `${p}.post_attention_layernorm.weight`, dtype: 'F32', shape: [s.hidden] },
      { name: `${p}.mlp.gate_proj.weight`, dtype: 'F32', shape: [s.intermediate, s.hidden] },
      { name: `${p}.mlp.up_proj.weight`, dtype: 'F32', shape: [s.intermediate, s.hidden] },
      { name: `${p}.mlp.down_proj.weight`, dtype: 'F32', shape: [s.hidden, s.intermediate] },
    );
  }
  out.push({ name: 'model.norm.weight', dtype: 'F32', shape: [s.hidden] }, { name: 'lm_head.weight', dtype: 'F32', shape: [s.vocab, s.hidden] });
  return out;
}

/** xorshift32 uniform draws scaled to ±scale (norms get 1 ± small): fast, and enough for a benchmark. */
function fill(data: Float32Array, seed: number, isNorm: boolean): void {
  let x = seed | 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 4294967296 - 0.5;
    data[i] = isNorm ? 1 + 0.1 * u : 0.04 * u;
  }
}

/** Write the checkpoint folder (config.json + model.safetensors); returns its weight bytes. */
export async function writeSyntheticCheckpoint(dir: string, s: LlamaShape): Promise<number> {
  const decls = tensorsOf(s);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: s.hidden, intermediate_size: s.intermediate,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, vocab_size: s.vocab,
    max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false,
    bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
  }, null, 2));
  const w = await SafetensorsWriter.create(join(dir, 'model.safetensors'), decls);
  let bytes = 0;
  for (const [i, d] of decls.entries()) {
    const data = new Float32Array(d.shape.reduce((a, b) => a * b, 1));
    fill(data, 0x9e3779b9 ^ (i * 2654435761), d.name.endsWith('norm.weight'));
    await w.write(data);
    bytes += data.byteLength;
  }
  await w.close();
  return bytes;
}

export interface ConvertBenchRow {
  dtype: string;
  checkpointBytes: number;
  largestTensorBytes: number;
  seconds: number;
  /** User + system CPU time of the converting process. */
  cpuSeconds: number;
  mbPerS: number;
  peakRssBytes: number;
  outputBytes: number;
}

/** Child mode: convert argv[3] → argv[4] in this process and print timings and peak RSS. */
async function child(src: string, out: string, dtype: 'fp32' | 'fp16'): Promise<void> {
  const { convertCheckpoint } = await import('../src/convert/convert.js');
  const t0 = process.hrtime.bigint();
  const report = await convertCheckpoint(src, out, { dtype });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const outputBytes = report.files.reduce((a, f) => a + f.bytes, 0);
  // maxRSS is in kilobytes: the peak resident set of this process over its whole life. CPU time
  // (microseconds) tells a loaded machine's waiting apart from the conversion's own work.
  const u = process.resourceUsage();
  process.stdout.write(JSON.stringify({ seconds, peakRssBytes: u.maxRSS * 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, outputBytes }) + '\n');
}

export async function convertBench(opts: { gb?: number; dtypes?: string[]; dir?: string } = {}): Promise<ConvertBenchRow[]> {
  const gb = opts.gb ?? Number(process.env.CONVERT_BENCH_GB ?? 4);
  const dtypes = opts.dtypes ?? (process.env.CONVERT_BENCH_DTYPES ?? 'fp32').split(',');
  const base = opts.dir ?? process.env.CONVERT_BENCH_DIR ?? tmpdir();
  const shape = shapeFor(gb * 1e9);
  const need = gb * 1e9 * (1 + dtypes.length) * 1.05;
  const st = statfsSync(base);
  if (st.bavail * st.bsize < need) throw new Error(`convert bench: needs ${(need / 1e9).toFixed(1)} GB free under ${base}, has ${((st.bavail * st.bsize) / 1e9).toFixed(1)} GB (set CONVERT_BENCH_GB or CONVERT_BENCH_DIR)`);
  const dir = mkdtempSync(join(base, 'convert-bench-'));
  const rows: ConvertBenchRow[] = [];
  try {
    const src = join(dir, 'checkpoint');
    (await import('node:fs')).mkdirSync(src);
    const t0 = Date.now();
    const bytes = await writeSyntheticCheckpoint(src, shape);
    console.log(`wrote a ${(bytes / 1e9).toFixed(2)} GB llama-shaped checkpoint (${shape.layers} layers, hidden ${shape.hidden}, vocab ${shape.vocab}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const dtype of dtypes) {
      const out = join(dir, `out-${dtype}`);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', src, out, dtype], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`convert bench child (${dtype}) failed: ${r.stderr.slice(-2000)}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; cpuSeconds: number; peakRssBytes: number; outputBytes: number };
      rows.push({
        dtype,
        checkpointBytes: bytes,
        largestTensorBytes: shape.vocab * shape.hidden * 4,
        seconds: res.seconds,
        cpuSeconds: res.cpuSeconds,
        mbPerS: bytes / 1e6 / res.seconds,
        peakRssBytes: res.peakRssBytes,
        outputBytes: res.outputBytes,
      });
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function convertTable(rows: readonly ConvertBenchRow[]): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    '| checkpoint | largest tensor | graph dtype | wall time | CPU time | throughput (wall) | throughput (CPU) | peak RSS (child) | written |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${(r.checkpointBytes / 1e9).toFixed(2)} GB fp32 | ${(r.largestTensorBytes / 1e6).toFixed(0)} MB | ${r.dtype} | ${r.seconds.toFixed(1)} s | ${r.cpuSeconds.toFixed(1)} s `
      + `| ${r.mbPerS.toFixed(0)} MB/s | ${(r.checkpointBytes / 1e6 / r.cpuSeconds).toFixed(0)} MB/s | ${gib(r.peakRssBytes)} | ${(r.outputBytes / 1e9).toFixed(2)} GB |`),
  ];
  return lines.join('\n');
}

/** Replace the results between the markers in docs/convert.md. */
export function writeConvertResults(docPath: string, rows: readonly ConvertBenchRow[]): void {
  const text = readFileSync(docPath, 'utf8');
  const begin = '<!-- convert-bench:begin -->';
  const end = '<!-- convert-bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${docPath} lacks the ${begin} … ${end} markers`);
  const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
  const body = `\nMeasured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, load average at the end ${load}:\n\n${convertTable(rows)}\n`;
  writeFileSync(docPath, text.slice(0, a + begin.length) + body + text.slice(b));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5] as 'fp32' | 'fp16');
}
