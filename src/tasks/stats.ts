// The lambada next-word-distribution measures (TASKS.md "lambada"): KL divergence between the
// direct and metalinguistic next-token distributions, and Spearman rank correlations of their
// logits over the full width and over the direct distribution's top 100 ids.

import { createRequire } from 'node:module';

// jstat ships no types; load it through require so no ambient module declaration is needed.
const { jStat } = createRequire(import.meta.url)('jstat') as { jStat: { ibeta(x: number, a: number, b: number): number } };

/** log-softmax in double precision. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

/**
 * KL(direct ‖ meta) in nats over the full width, and the paper's value: the same divided by the
 * width (torch `kl_div(..., reduction='batchmean')` on a 1-D tensor divides by its length).
 */
export function klDivergence(directLogits: ArrayLike<number>, metaLogits: ArrayLike<number>): { batchmean: number; nats: number } {
  if (directLogits.length !== metaLogits.length) throw new Error(`klDivergence: widths differ (${directLogits.length} vs ${metaLogits.length})`);
  const lp = logSoftmax(directLogits);
  const lq = logSoftmax(metaLogits);
  let kl = 0;
  for (let i = 0; i < lp.length; i++) {
    const p = Math.exp(lp[i]!);
    if (p > 0) kl += p * (lp[i]! - lq[i]!);
  }
  return { nats: kl, batchmean: kl / lp.length };
}

/** Ranks 1..n with ties given their average rank (scipy's rankdata 'average'). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = sortedOrder(values);
  const n = values.length;
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Indices of `values` in ascending order of value; equal values keep index order. */
function sortedOrder(values: ArrayLike<number>): Uint32Array {
  const n = values.length;
  const keys = values instanceof Float32Array ? orderedBits(values) : null;
  if (keys) return radixOrder(keys);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  return order;
}

/**
 * A float32 row's bits mapped to unsigned integers in the same order as the values (negative
 * floats: all bits flipped; others: sign bit set), or null when it holds a NaN, which has no order.
 */
function orderedBits(values: Float32Array): Uint32Array | null {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const keys = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== values[i]) return null;
    const b = bits[i]!;
    keys[i] = b >= 0x80000000 ? ~b : b | 0x80000000;
  }
  return keys;
}

// A vocabulary-wide logits row is ranked twice per lambada item: a stable LSD radix sort of its
// ordered bits (3 passes of 11 bits) takes a fraction of a comparator sort's time, in the same order.
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

function radixOrder(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let order = new Uint32Array(n);
  let next = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const count = new Uint32Array(RADIX);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i]! >>> shift) & (RADIX - 1)]!++;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const id = order[i]!;
      next[count[(keys[id]! >>> shift) & (RADIX - 1)]!++] = id;
    }
    [order, next] = [next, order];
  }
  return order;
}

function pearson(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Spearman's rho (Pearson correlation of average ranks) and its two-sided p-value from Student's t
 * with n−2 degrees of freedom, as scipy.stats.spearmanr. The tail is computed as the regularised
 * incomplete beta I(df/(df+t²); df/2, 1/2), which is Student's t two-sided p written without the
 * 1 − cdf cancellation, so tiny p-values keep their digits (and underflow to 0.0 as scipy's do).
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): { r: number; p: number } {
  if (x.length !== y.length) throw new Error(`spearman: lengths differ (${x.length} vs ${y.length})`);
  const n = x.length;
  if (n < 2) return { r: NaN, p: NaN };
  const r = pearson(averageRanks(x), averageRanks(y));
  if (Number.isNaN(r)) return { r, p: NaN };
  const rc = Math.max(-1, Math.min(1, r));
  const df = n - 2;
  if (df <= 0 || Math.abs(rc) === 1) return { r: rc, p: df <= 0 ? 1 : 0 };
  const t2 = (rc * rc * df) / ((1 - rc) * (1 + rc));
  const p = jStat.ibeta(df / (df + t2), df / 2, 0.5);
  return { r: rc, p: Math.min(1, Math.max(0, p)) };
}

/** The k ids with the highest values (ties: lower id first), returned in increasing id order. */
export function topIds(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  if (Number.isInteger(k) && k >= 1 && k < n && !hasNaN(values)) return topIdsByHeap(values, k);
  const ids = Array.from({ length: n }, (_, i) => i);
  ids.sort((a, b) => values[b]! - values[a]! || a - b);
  return ids.slice(0, Math.min(k, ids.length)).sort((a, b) => a - b);
}

function hasNaN(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) return true;
  return false;
}

/**
 * The same selection as the sort in topIds, in O(n log k): a heap of the k best ids so far whose
 * root is the worst of them (the lowest value; among equal values, the highest id).
 */
function topIdsByHeap(values: ArrayLike<number>, k: number): number[] {
  const worse = (a: number, b: number): boolean => values[a]! < values[b]! || (values[a] === values[b] && a > b);
  const heap = new Int32Array(k);
  const siftDown = (from: number, size: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const w = r < size && worse(heap[r]!, heap[l]!) ? r : l;
      if (!worse(heap[w]!, heap[i]!)) return;
      const t = heap[i]!;
      heap[i] = heap[w]!;
      heap[w] = t;
      i = w;
    }
  };
  for (let i = 0; i < k; i++) heap[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i, k);
  for (let i = k; i < values.length; i++) {
    if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0, k);
    }
  }
  return Array.from(heap).sort((a, b) => a - b);
}

export function pick(values: ArrayLike<number>, ids: readonly number[]): Float64Array {
  const out = new Float64Array(ids.length);
  ids.forEach((id, i) => (out[i] = values[id]!));
  return out;
}
