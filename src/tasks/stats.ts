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
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
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
  const ids = Array.from({ length: values.length }, (_, i) => i);
  ids.sort((a, b) => values[b]! - values[a]! || a - b);
  return ids.slice(0, Math.min(k, ids.length)).sort((a, b) => a - b);
}

export function pick(values: ArrayLike<number>, ids: readonly number[]): Float64Array {
  const out = new Float64Array(ids.length);
  ids.forEach((id, i) => (out[i] = values[id]!));
  return out;
}
