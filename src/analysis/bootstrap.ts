import { mulberry32 } from '../random/mulberry32.js';
// Seeded bootstrap intervals, as the paper's seaborn figures drew them but reproducible: seaborn's
// barplot (errorbar=('ci', 95)) and regplot (ci=95) resample 1000 times and take the 2.5th and
// 97.5th percentiles (numpy's linear interpolation) — with a fresh random seed on every run. Here
// the generator is seeded, and each group's stream is derived from the seed and the group's key, so
// an interval does not depend on which other groups are in the figure or in which order.

/** seaborn's default number of resamples. */
export const BOOTSTRAP_RESAMPLES = 1000;
/** The documented seed of every figure's bootstrap. */
export const BOOTSTRAP_SEED = 0;


/** A 32-bit seed from the figure seed and a group key (FNV-1a over both). */
export function groupSeed(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** numpy.percentile(values, q) with the default linear interpolation; `values` sorted ascending. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
}

/** 95% percentile bootstrap interval of the mean of `values` (resampled with replacement). */
export function bootstrapMeanCI(values: ArrayLike<number>, key: string, opts: BootstrapOptions = {}): [number, number] {
  const n = values.length;
  if (n === 0) return [NaN, NaN];
  const B = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const rand = mulberry32(groupSeed(opts.seed ?? BOOTSTRAP_SEED, key));
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rand() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  return [percentileSorted(means, 2.5), percentileSorted(means, 97.5)];
}

/**
 * The 95% band of a least-squares line y = a + b·x over `grid`, as seaborn's regplot draws it:
 * resample the points with replacement, refit (numpy's pinv least squares, so a resample whose x
 * are all equal gives the minimum-norm fit, as in seaborn), predict on the grid, and take the
 * percentiles at each grid point.
 */
export function bootstrapLineBand(points: Array<{ x: number; y: number }>, grid: number[], key: string, opts: BootstrapOptions = {}): Array<[number, number]> {
  const n = points.length;
  const B = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const rand = mulberry32(groupSeed(opts.seed ?? BOOTSTRAP_SEED, key));
  const preds = grid.map(() => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    let sx = 0;
    let sy = 0;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = points[Math.floor(rand() * n)]!;
      xs[i] = p.x;
      ys[i] = p.y;
      sx += p.x;
      sy += p.y;
    }
    const mx = sx / n;
    const my = sy / n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      sxx += (xs[i]! - mx) ** 2;
      sxy += (xs[i]! - mx) * (ys[i]! - my);
    }
    let a: number;
    let s: number;
    if (sxx > 1e-12 * Math.max(1, mx * mx)) {
      s = sxy / sxx;
      a = my - s * mx;
    } else {
      // X = [1, c] in every row: pinv gives [a, s] = mean(y)·[1, c] / (1 + c²).
      a = my / (1 + mx * mx);
      s = (my * mx) / (1 + mx * mx);
    }
    grid.forEach((x, g) => { preds[g]![b] = a + s * x; });
  }
  return preds.map((p) => {
    p.sort();
    return [percentileSorted(p, 2.5), percentileSorted(p, 97.5)];
  });
}
