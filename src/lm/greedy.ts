// Batched greedy decoding on an onnxruntime session of a transformers.js-layout decoder graph
// (input_ids, attention_mask, position_ids, past_key_values.{i}.key/value, optionally
// num_logits_to_keep → logits, present.{i}.key/value). No transformers.js in the loop: each
// step's `present` tensors are fed back as the next step's `past` as they are (no copy in
// JavaScript), only the last position's logits are asked for where the graph allows it, and a row
// that has emitted EOS or used its budget leaves the batch (its cache rows are dropped) so the
// others go on without computing it.
//
// Grouping. A row's numbers must not depend on what it is batched with, or an fp32 near-tie could
// flip a greedy token against one-at-a-time generation (the reference). With an ordinary float32
// attention softmax, left padding changes them: a row's keys sit at other offsets in the
// vectorised sum over keys (measured on tiny-gpt2: last-position logits up to 6e-6 apart). So by
// default rows are batched only with prompts of exactly the same token length (no padding; rows of
// equal length batched 2 or 4 deep are bit-identical to the row alone). A decoder graph converted by
// this project computes that softmax in float64 (onnx/decoder.json; decoder-graph.ts), which makes
// a left-padded row bit-identical to the row alone on the CPU in fp32; there (`padded`) prompts of
// different lengths share a batch, left-padded, positions counted from the attention mask as
// Hugging Face does (pads get position 1 and are never attended to).

import type { DecoderSession, OrtLike, OrtTensorLike } from './decoder.js';

export interface GreedyRow {
  ids: readonly number[];
  /** New tokens this row may take (≥ 1). */
  maxNew: number;
}

export interface GreedyCounters {
  forwardCalls: number;
  forwardTokens: number;
  paddedForwardTokens: number;
}

/**
 * Batches in order of prompt length: exact lengths only, or (padded) consecutive lengths. Padding
 * costs only the prefill's pad tokens, while every decoding step streams the weights once for the
 * whole batch, so padded batches are as large as the limits allow.
 */
export function greedyBatches<T extends { ids: readonly number[] }>(
  rows: readonly T[],
  limits: { maxRows: number; batchTokens: number; size?: (row: T) => number; padded?: boolean },
): T[][] {
  const size = limits.size ?? ((r: T) => r.ids.length);
  const sorted = [...rows].sort((a, b) => a.ids.length - b.ids.length);
  const out: T[][] = [];
  let cur: T[] = [];
  let used = 0;
  for (const r of sorted) {
    const joins = cur.length > 0 && cur.length < limits.maxRows && used + size(r) <= limits.batchTokens && (limits.padded || cur[0]!.ids.length === r.ids.length);
    if (cur.length > 0 && !joins) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(r);
    used += size(r);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function argmaxRow(data: Float32Array, off: number, width: number): number {
  let best = 0;
  let max = data[off]!;
  for (let i = 1; i < width; i++) {
    const v = data[off + i]!;
    if (v > max) {
      max = v;
      best = i;
    }
  }
  return best;
}

interface CacheLayout {
  names: { past: string; present: string }[];
  /** Element type of the cache tensors (the graph's dtype). */
  type: string;
  heads: number;
  headDim: number;
}

function cacheLayout(session: DecoderSession): CacheLayout {
  const names: CacheLayout['names'] = [];
  let type = 'float32';
  let heads = 0;
  let headDim = 0;
  for (const meta of session.inputMetadata) {
    const m = /^past_key_values\.(\d+)\.(key|value)$/.exec(meta.name);
    if (!m) continue;
    names.push({ past: meta.name, present: `present.${m[1]}.${m[2]}` });
    type = meta.type ?? type;
    const [, h, , d] = meta.shape ?? [];
    if (typeof h !== 'number' || typeof d !== 'number') {
      throw new Error(`decoder graph input ${meta.name} has shape ${JSON.stringify(meta.shape)}: heads and head size must be fixed numbers`);
    }
    heads = h;
    headDim = d;
  }
  for (const n of names) {
    if (!session.outputNames.includes(n.present)) throw new Error(`decoder graph has input ${n.past} but no output ${n.present}`);
  }
  return { names, type, heads, headDim };
}

/** Keep rows `keep` (indices into the batch dimension) of a [B, ...] tensor. */
function keepRows(ort: OrtLike, t: OrtTensorLike, keep: readonly number[]): OrtTensorLike {
  const B = t.dims[0]!;
  const data = t.data as Float32Array | Uint16Array | BigInt64Array;
  const per = data.length / B;
  const Ctor = data.constructor as new (n: number) => typeof data;
  const out = new Ctor(keep.length * per);
  keep.forEach((b, j) => (out as Float32Array).set((data as Float32Array).subarray(b * per, (b + 1) * per), j * per));
  return new ort.Tensor(t.type, out, [keep.length, ...t.dims.slice(1)]);
}

/**
 * Greedy new tokens for each row of one batch, left-padded to its longest prompt. A row stops
 * after an EOS token (kept in its output) or after maxNew tokens.
 */
export async function greedyBatch(
  ort: OrtLike,
  session: DecoderSession,
  rows: readonly GreedyRow[],
  eos: ReadonlySet<number>,
  counters: GreedyCounters,
): Promise<number[][]> {
  const S = Math.max(...rows.map((r) => r.ids.length));
  const layout = cacheLayout(session);
  const wants = new Set(session.inputNames);
  const out: number[][] = rows.map(() => []);
  let live = rows.map((_, i) => i); // batch row j is rows[live[j]]
  let B = rows.length;
  let T = S;
  let input = new BigInt64Array(B * S);
  // Attention mask rows (grown by one column per step) and each row's next position.
  let mask: Uint8Array[] = [];
  let next = new Array<number>(B);
  let pos = new BigInt64Array(B * S).fill(1n);
  rows.forEach((r, b) => {
    const off = S - r.ids.length;
    const m = new Uint8Array(S);
    r.ids.forEach((id, j) => {
      input[b * S + off + j] = BigInt(id);
      pos[b * S + off + j] = BigInt(j);
      m[off + j] = 1;
    });
    mask.push(m);
    next[b] = r.ids.length;
  });
  let total = S;
  const emptyCache = () =>
    new ort.Tensor(layout.type, layout.type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [B, layout.heads, 0, layout.headDim]);
  let past: Record<string, OrtTensorLike> = Object.fromEntries(layout.names.map((n) => [n.past, emptyCache()]));
  const keepOne = new ort.Tensor('int64', BigInt64Array.from([1n]), []);

  while (live.length > 0) {
    const feeds: Record<string, OrtTensorLike> = { ...past, input_ids: new ort.Tensor('int64', input, [B, T]) };
    if (wants.has('attention_mask')) {
      const am = new BigInt64Array(B * total);
      mask.forEach((m, b) => m.forEach((v, j) => v && (am[b * total + j] = 1n)));
      feeds['attention_mask'] = new ort.Tensor('int64', am, [B, total]);
    }
    if (wants.has('position_ids')) feeds['position_ids'] = new ort.Tensor('int64', pos, [B, T]);
    if (wants.has('num_logits_to_keep')) feeds['num_logits_to_keep'] = keepOne;
    const res = await session.run(feeds);
    counters.forwardCalls++;
    counters.forwardTokens += T === 1 ? B : live.reduce((a, i) => a + rows[i]!.ids.length, 0);
    counters.paddedForwardTokens += B * T;
    const logits = res['logits'];
    if (!logits) throw new Error('decoder graph returned no "logits" output');
    const lg = logits.type === 'float32' ? (logits.data as Float32Array) : Float32Array.from(logits.data as ArrayLike<number>);
    const [, L, V] = logits.dims as [number, number, number];
    const chosen: number[] = [];
    const stay: number[] = [];
    live.forEach((i, b) => {
      const id = argmaxRow(lg, (b * L + L - 1) * V, V);
      out[i]!.push(id);
      chosen.push(id);
      if (!eos.has(id) && out[i]!.length < rows[i]!.maxNew) stay.push(b);
    });
    if (stay.length === 0) break;
    past = Object.fromEntries(layout.names.map((n) => [n.past, res[n.present]!]));
    if (stay.length < B) {
      // Drop finished rows from the cache: the rest never compute them again.
      past = Object.fromEntries(Object.entries(past).map(([k, t]) => [k, keepRows(ort, t, stay)]));
      live = stay.map((b) => live[b]!);
      mask = stay.map((b) => mask[b]!);
      next = stay.map((b) => next[b]!);
    }
    B = live.length;
    input = BigInt64Array.from(stay.map((b) => BigInt(chosen[b]!)));
    pos = BigInt64Array.from(next.map((p) => BigInt(p)));
    next = next.map((p) => p + 1);
    mask = mask.map((m) => {
      const g = new Uint8Array(m.length + 1);
      g.set(m);
      g[m.length] = 1;
      return g;
    });
    total += 1;
    T = 1;
  }
  return out;
}
