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

/** Where decoding time goes (benchmarks: bench/gen-profile.ts); reset by the caller. */
export const greedyProfile = { runMs: 0, totalMs: 0, steps: 0, prefills: 0, batchRows: [] as number[], prefillMs: 0 };

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
  let widest = 0;
  for (const r of sorted) {
    // The cache is as wide as the batch's widest row (longest prompt + new tokens) for every row.
    const wide = Math.max(widest, size(r));
    const joins = cur.length > 0 && cur.length < limits.maxRows && (cur.length + 1) * wide <= limits.batchTokens && (limits.padded || cur[0]!.ids.length === r.ids.length);
    if (cur.length > 0 && !joins) {
      out.push(cur);
      cur = [];
    }
    widest = cur.length === 0 ? size(r) : Math.max(widest, size(r));
    cur.push(r);
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

/** A graph's key/value cache as its inputs and outputs declare it. */
interface CacheLayout {
  /** Per cache tensor: its input name and the output that answers it. */
  names: { input: string; output: string }[];
  /** Element type of the cache tensors (the graph's dtype). */
  type: string;
  heads: number;
  headDim: number;
}

/**
 * The cache inputs matching `input` (groups: layer, key|value) and the output each names
 * (`output(layer, kind)`), checked: heads and head size fixed numbers, every output present.
 */
function readCacheLayout(session: DecoderSession, graph: string, input: RegExp, output: (layer: string, kind: string) => string): CacheLayout {
  const names: CacheLayout['names'] = [];
  let type = 'float32';
  let heads = 0;
  let headDim = 0;
  for (const meta of session.inputMetadata) {
    const m = input.exec(meta.name);
    if (!m) continue;
    names.push({ input: meta.name, output: output(m[1]!, m[2]!) });
    type = meta.type ?? type;
    const [, h, , d] = meta.shape ?? [];
    if (typeof h !== 'number' || typeof d !== 'number') {
      throw new Error(`${graph} input ${meta.name} has shape ${JSON.stringify(meta.shape)}: heads and head size must be fixed numbers`);
    }
    heads = h;
    headDim = d;
  }
  for (const n of names) {
    if (!session.outputNames.includes(n.output)) throw new Error(`${graph} has input ${n.input} but no output ${n.output}`);
  }
  return { names, type, heads, headDim };
}

/** The transformers.js decoder graph: past_key_values.{i}.key/value in, present.{i}.key/value out. */
function cacheLayout(session: DecoderSession): CacheLayout {
  return readCacheLayout(session, 'decoder graph', /^past_key_values\.(\d+)\.(key|value)$/, (i, kv) => `present.${i}.${kv}`);
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
  const step = stepLayout(session);
  return step ? greedyBatchCached(ort, session, step, rows, eos, counters) : greedyBatchGrown(ort, session, rows, eos, counters);
}

/** greedyBatch on the transformers.js decoder graph: `present` fed back as `past` (grown in the graph). */
async function greedyBatchGrown(
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
  let past: Record<string, OrtTensorLike> = Object.fromEntries(layout.names.map((n) => [n.input, emptyCache()]));
  const keepOne = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  const t0 = performance.now();

  while (live.length > 0) {
    const feeds: Record<string, OrtTensorLike> = { ...past, input_ids: new ort.Tensor('int64', input, [B, T]) };
    if (wants.has('attention_mask')) {
      const am = new BigInt64Array(B * total);
      mask.forEach((m, b) => m.forEach((v, j) => v && (am[b * total + j] = 1n)));
      feeds['attention_mask'] = new ort.Tensor('int64', am, [B, total]);
    }
    if (wants.has('position_ids')) feeds['position_ids'] = new ort.Tensor('int64', pos, [B, T]);
    if (wants.has('num_logits_to_keep')) feeds['num_logits_to_keep'] = keepOne;
    const tr = performance.now();
    const res = await session.run(feeds);
    const dt = performance.now() - tr;
    greedyProfile.runMs += dt;
    greedyProfile.steps++;
    if (T > 1 || total === T) {
      greedyProfile.prefills++;
      greedyProfile.prefillMs += dt;
      greedyProfile.batchRows.push(B);
    }
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
    past = Object.fromEntries(layout.names.map((n) => [n.input, res[n.output]!]));
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
  greedyProfile.totalMs += performance.now() - t0;
  return out;
}

/** Each batch row's greedy token: the graph's next_token where fetched, else the logits' argmax. */
function nextTokens(res: Record<string, OrtTensorLike>, what: string): (b: number) => number {
  const next = res['next_token'];
  if (next) {
    const ids = next.data as BigInt64Array;
    return (b) => Number(ids[b]!);
  }
  const logits = res['logits'];
  if (!logits) throw new Error(`${what} returned neither "next_token" nor "logits"`);
  const lg = logits.type === 'float32' ? (logits.data as Float32Array) : Float32Array.from(logits.data as ArrayLike<number>);
  const V = logits.dims[2]!;
  return (b) => argmaxRow(lg, b * V, V);
}

/** Slots the step graph's cache capacity grows by (greedyBatchCached). */
export const CACHE_GROWTH = 32;

/** The step graph's cache layout (onnx/step.onnx: cache.{i}.key/value in, key.{i}/value.{i} out), or null. */
export function stepLayout(session: DecoderSession): CacheLayout | null {
  const layout = readCacheLayout(session, 'step graph', /^cache\.(\d+)\.(key|value)$/, (i, kv) => `${kv}.${i}`);
  return layout.names.length === 0 ? null : layout;
}

type CacheArray = Float32Array | Uint16Array;

/**
 * greedyBatch on the step graph. The key/value cache is one buffer per layer and kind, of capacity
 * longest prompt S + up to CACHE_GROWTH new tokens (grown as tokens come), kept here; each call reads it in place and
 * returns only its own keys/values, written into the buffer at the next slots. Prompts are laid
 * out left-padded (each ends at slot S − 1) but prefilled without pads: each run of rows of one
 * length L is one call at past_length S − L, so no pad token is computed. A finished row keeps its
 * place (its tokens are ignored) until finished rows are an eighth of the batch; then the live rows
 * are moved down in place and the batch shrinks, so rows leave without a copy per step.
 */
async function greedyBatchCached(
  ort: OrtLike,
  session: DecoderSession,
  layout: CacheLayout,
  rows: readonly GreedyRow[],
  eos: ReadonlySet<number>,
  counters: GreedyCounters,
): Promise<number[][]> {
  const S = Math.max(...rows.map((r) => r.ids.length));
  const most = S + Math.max(...rows.map((r) => r.maxNew)) - 1; // slots ever written: the last new token is never fed back
  const { heads: H, headDim: D } = layout;
  const Ctor = layout.type === 'float16' ? Uint16Array : Float32Array;
  // The capacity grows with the tokens written (CACHE_GROWTH slots at a time): every step reads
  // the whole capacity of every layer's cache (at 50 rows, 12 layers and 149 slots ~550 MB per
  // step), so slots not written yet would cost memory traffic for exact zero weights (the numbers
  // are the same at any capacity). The buffers are allocated once for the most slots and the rows
  // are re-strided in place when the capacity grows: no fresh pages per growth.
  let C = Math.min(most, S + CACHE_GROWTH);
  let per = H * C * D; // elements of one row in one cache tensor
  const caches: CacheArray[] = layout.names.map(() => new Ctor(rows.length * H * most * D));
  const out: number[][] = rows.map(() => []);
  let live = rows.map((_, i) => i); // batch row b is rows[live[b]]
  let done = rows.map(() => false); // by batch row: finished, still in the buffers
  let slots = rows.map(() => new Uint8Array(most)); // by batch row: which cache slots hold real keys
  const t0 = performance.now();
  // Step graphs converted before next_token existed give logits only.
  const fetches = [session.outputNames.includes('next_token') ? 'next_token' : 'logits', ...layout.names.map((nm) => nm.output)];

  /**
   * One call on batch rows [b0, b0 + n), T new tokens each (all real), written from slot `at`:
   * picks each live row's next token; returns how many of them go on. A prefill (`fresh`) sees an
   * empty cache: every slot before its prompt is unwritten, so the graph gets a cache of capacity
   * 0 rather than attend to C masked slots (exact zero weights either way: the same numbers, with
   * no scores, softmax or products over slots that hold nothing).
   */
  const call = async (b0: number, n: number, T: number, at: number, input: BigInt64Array, pos: BigInt64Array, write: boolean, fresh: boolean): Promise<number> => {
    const cap = fresh ? 0 : C;
    const am = new BigInt64Array(n * (cap + T));
    for (let b = 0; b < n; b++) {
      const s = slots[b0 + b]!;
      const o = b * (cap + T);
      if (!fresh) for (let j = 0; j < at; j++) if (s[j]) am[o + j] = 1n;
      am.fill(1n, o + cap, o + cap + T);
    }
    const feeds: Record<string, OrtTensorLike> = {
      input_ids: new ort.Tensor('int64', input, [n, T]),
      position_ids: new ort.Tensor('int64', pos, [n, T]),
      past_length: new ort.Tensor('int64', BigInt64Array.from([BigInt(fresh ? 0 : at)]), []),
      attention_mask: new ort.Tensor('int64', am, [n, cap + T]),
    };
    layout.names.forEach(
      (nm, k) =>
        (feeds[nm.input] = fresh
          ? new ort.Tensor(layout.type, new Ctor(0), [n, H, 0, D])
          : new ort.Tensor(layout.type, caches[k]!.subarray(b0 * per, (b0 + n) * per), [n, H, C, D])),
    );
    const tr = performance.now();
    const res = await session.run(feeds, fetches);
    const dt = performance.now() - tr;
    greedyProfile.runMs += dt;
    greedyProfile.steps++;
    if (T > 1 || at < S) {
      greedyProfile.prefills++;
      greedyProfile.prefillMs += dt;
      greedyProfile.batchRows.push(n);
    }
    counters.forwardCalls++;
    let running = 0;
    for (let b = 0; b < n; b++) if (!done[b0 + b]) running++;
    counters.forwardTokens += running * T;
    counters.paddedForwardTokens += n * T;
    const pick = nextTokens(res, 'step graph');
    running = 0;
    for (let b = 0; b < n; b++) {
      if (done[b0 + b]) continue;
      const i = live[b0 + b]!;
      const id = pick(b);
      out[i]!.push(id);
      input[b] = BigInt(id); // the next step's input (prefill inputs are not read again)
      if (eos.has(id) || out[i]!.length >= rows[i]!.maxNew) done[b0 + b] = true;
      else running++;
    }
    if (write) {
      // This call's keys/values into slots [at, at + T) of each of its rows.
      layout.names.forEach((nm, k) => {
        const got = res[nm.output]!.data as CacheArray;
        const cache = caches[k]!;
        const base = b0 * H;
        for (let bh = 0; bh < n * H; bh++) cache.set(got.subarray(bh * T * D, (bh + 1) * T * D), ((base + bh) * C + at) * D);
      });
      for (let b = 0; b < n; b++) slots[b0 + b]!.fill(1, at, at + T);
    }
    return running;
  };

  // Prefill: each run of rows of one length, unpadded, ending at slot S − 1.
  let B = rows.length;
  let running = 0;
  const chosen = new BigInt64Array(B);
  for (let b0 = 0; b0 < B; ) {
    const L = rows[b0]!.ids.length;
    let n = 1;
    while (b0 + n < B && rows[b0 + n]!.ids.length === L) n++;
    const input = new BigInt64Array(n * L);
    const pos = new BigInt64Array(n * L);
    for (let b = 0; b < n; b++) rows[b0 + b]!.ids.forEach((id, j) => ((input[b * L + j] = BigInt(id)), (pos[b * L + j] = BigInt(j))));
    running += await call(b0, n, L, S - L, input, pos, true, true);
    for (let b = 0; b < n; b++) chosen[b0 + b] = input[b]!;
    b0 += n;
  }
  let input = chosen;
  let next = rows.map((r) => r.ids.length); // each row's next position
  let past = S;
  while (running > 0) {
    const dead = B - running;
    if (dead > 0 && dead * 8 >= B) {
      // Move the live rows down in place; the buffers' tails are simply not fed any more.
      const keep = [...Array(B).keys()].filter((b) => !done[b]);
      for (const cache of caches) keep.forEach((b, j) => j !== b && cache.copyWithin(j * per, b * per, (b + 1) * per));
      live = keep.map((b) => live[b]!);
      slots = keep.map((b) => slots[b]!);
      next = keep.map((b) => next[b]!);
      input = BigInt64Array.from(keep, (b) => input[b]!);
      done = keep.map(() => false);
      B = keep.length;
    }
    const pos = BigInt64Array.from(next, (p) => BigInt(p));
    next = next.map((p) => p + 1);
    // The last slot is written only if a row can still take a token after this one.
    const write = past + 1 < most;
    if (write && past >= C) {
      const wider = Math.min(most, C + CACHE_GROWTH);
      for (const cache of caches) {
        // Last (batch row, head) first: each moves up, never onto one not yet moved.
        for (let bh = B * H - 1; bh >= 0; bh--) {
          cache.copyWithin(bh * wider * D, bh * C * D, (bh + 1) * C * D);
          cache.fill(0, (bh * wider + C) * D, (bh + 1) * wider * D);
        }
      }
      C = wider;
      per = H * C * D;
    }
    running = await call(0, B, 1, past, input, pos, write, false);
    past += 1;
  }
  greedyProfile.totalMs += performance.now() - t0;
  return out;
}
