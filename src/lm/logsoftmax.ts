// Log-softmax over the full logits width, one row at a time. Accumulates in float64 so that the
// plain and fast paths (which see the same logits up to batching noise) agree to ~1e-6.

import type { Reduction } from './types.js';

/** log Σ exp(row[i]) over the whole row. */
export function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (v > max) max = v;
  }
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** log p(target) under softmax(row). */
export function logProbOf(row: ArrayLike<number>, target: number): number {
  const v = row[target];
  if (v === undefined) throw new Error(`token id ${target} is outside the logits width ${row.length}`);
  return v - logSumExp(row);
}

/** The full log-softmax of a row (for tests and next-token distributions). */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  const lse = logSumExp(row);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

/** Sum or mean of per-token log-probabilities; 0.0 for no tokens (both reductions). */
export function reduce(values: readonly number[], reduction: Reduction): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v;
  return reduction === 'sum' ? s : s / values.length;
}
