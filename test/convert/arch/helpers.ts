// Shared helpers of the converter tests: where the hf-tiny checkpoints and their references live,
// temporary output folders, and direct onnxruntime runs of the decoder and scoring graphs.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/test/convert/arch → repository root. */
export const repoRoot = path.resolve(here, '..', '..', '..', '..');
export const hfTinyDir = path.resolve(repoRoot, '../shared/models/hf-tiny');

export interface RefRow {
  text: string;
  ids: number[];
  logprobs: number[];
  logprobs_fp64: number[];
  last_logits_top20: { ids: number[]; values: number[] };
  greedy_10: number[];
}

export async function loadRefs(name: string): Promise<RefRow[]> {
  const text = await readFile(path.join(hfTinyDir, 'refs', `${name}.jsonl`), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as RefRow);
}

export async function tempDir(tag: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `convert-${tag}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

export async function ort(): Promise<Ort> {
  return import('onnxruntime-node');
}

export async function session(file: string): Promise<Session> {
  const o = await ort();
  return o.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

const i64 = async (rows: number[][]) => {
  const o = await ort();
  const w = rows[0]?.length ?? 0;
  return new o.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, w]);
};

/** Decoder graph, no cache: float32 logits [B][T][V] for right-padded rows (`keep` > 0: the last `keep` rows). */
export async function decoderLogits(s: Session, rows: number[][], pad = 0, keep = 0): Promise<{ data: Float32Array; V: number; T: number; dims: readonly number[] }> {
  const o = await ort();
  const T = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...r, ...new Array(T - r.length).fill(pad)]);
  const mask = rows.map((r) => [...r.map(() => 1), ...new Array(T - r.length).fill(0)]);
  const pos = rows.map(() => Array.from({ length: T }, (_, t) => t));
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = { input_ids: await i64(ids), attention_mask: await i64(mask), position_ids: await i64(pos) };
  if (s.inputNames.includes('num_logits_to_keep')) feeds['num_logits_to_keep'] = new o.Tensor('int64', BigInt64Array.from([BigInt(keep)]), []);
  for (const name of s.inputNames) {
    if (!name.startsWith('past_key_values')) continue;
    const meta = s.inputMetadata.find((m) => m.name === name) as unknown as { shape: (number | string)[]; type: string };
    const shape = meta.shape.map((d) => (d === 'batch_size' ? rows.length : typeof d === 'number' ? d : 0));
    feeds[name] = meta.type === 'float16' ? new o.Tensor('float16', new Uint16Array(0), shape) : new o.Tensor('float32', new Float32Array(0), shape);
  }
  const out = await s.run(feeds);
  const logits = out['logits']!;
  return { data: logits.data as Float32Array, V: logits.dims[2]!, T, dims: logits.dims };
}

export interface ScoreInput {
  ids: number[][];
  positions: number[][];
  /** mask[b][t][s]: query t sees key s. */
  mask: boolean[][][];
  scorePositions: number[][];
  targets: number[][];
  logitsPositions: number[][];
}

export async function runScore(s: Session, x: ScoreInput): Promise<{ logprobs: Float32Array; logits: Float32Array; dims: readonly number[] }> {
  const o = await ort();
  const B = x.ids.length;
  const T = x.ids[0]!.length;
  const L = x.logitsPositions[0]?.length ?? 0;
  const mask = new o.Tensor('bool', Uint8Array.from(x.mask.flat(2).map((v) => (v ? 1 : 0))), [B, T, T]);
  const out = await s.run({
    input_ids: await i64(x.ids),
    position_ids: await i64(x.positions),
    attention_mask: mask,
    score_positions: await i64(x.scorePositions),
    target_ids: await i64(x.targets),
    logits_positions: L ? await i64(x.logitsPositions) : new o.Tensor('int64', new BigInt64Array(0), [B, 0]),
  });
  return { logprobs: out['logprobs']!.data as Float32Array, logits: out['logits']!.data as Float32Array, dims: out['logits']!.dims };
}

/** Causal masks for unpadded rows of length `lengths`, padded to T (padding sees only itself). */
export function causalMask(lengths: number[], T: number, window: number | null = null): boolean[][][] {
  return lengths.map((n) =>
    Array.from({ length: T }, (_, t) => Array.from({ length: T }, (_, s) => (t < n ? s <= t && s < n && (window === null || t - s <= window) : s === t))),
  );
}

/** log p of row t's next-token target from a logits row. */
export function logSoftmaxAt(row: Float32Array | Float64Array, target: number): number {
  let mx = -Infinity;
  for (const v of row) mx = Math.max(mx, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - mx);
  return row[target]! - mx - Math.log(sum);
}

export function topIds(row: Float32Array | Float64Array, k: number): number[] {
  return [...row.keys()].sort((a, b) => row[b]! - row[a]! || a - b).slice(0, k);
}
