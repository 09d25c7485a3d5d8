// The seeded bootstrap behind the figures' intervals: numpy's percentile, reproducibility, the
// interval of a mean against its normal approximation, and seaborn's regplot band (with its pinv
// fit of a degenerate resample).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapLineBand, bootstrapMeanCI, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, groupSeed, percentileSorted } from '../../src/analysis/bootstrap.js';
import { mulberry32 } from '../../src/random/mulberry32.js';
import { gapVsSizeSeries, OVERALL } from '../../src/analysis/series.js';

test('numpy percentile (linear interpolation); documented defaults', () => {
  // np.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) == [1.075, 2.5, 3.925]
  assert.ok(Math.abs(percentileSorted([1, 2, 3, 4], 2.5) - 1.075) < 1e-12);
  assert.equal(percentileSorted([1, 2, 3, 4], 50), 2.5);
  assert.ok(Math.abs(percentileSorted([1, 2, 3, 4], 97.5) - 3.925) < 1e-12);
  assert.equal(percentileSorted([7], 2.5), 7);
  assert.equal(BOOTSTRAP_RESAMPLES, 1000);
  assert.equal(BOOTSTRAP_SEED, 0);
  const r = mulberry32(1);
  const xs = Array.from({ length: 10000 }, () => r());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(xs.reduce((a, b) => a + b, 0) / xs.length - 0.5) < 0.01);
  assert.notEqual(groupSeed(0, 'a'), groupSeed(0, 'b'));
  assert.notEqual(groupSeed(0, 'a'), groupSeed(1, 'a'));
});

test('the bootstrap interval of a mean: seeded, per key, close to mean ± 1.96 SE for large n', () => {
  const r = mulberry32(42);
  const v: number[] = Array.from({ length: 2000 }, () => (r() < 0.3 ? 1 : 0));
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const se = Math.sqrt(mean * (1 - mean) / (v.length - 1));
  const [lo, hi] = bootstrapMeanCI(v, 'k');
  assert.deepEqual(bootstrapMeanCI(v, 'k'), [lo, hi]);
  assert.notDeepEqual(bootstrapMeanCI(v, 'other key'), [lo, hi]);
  assert.ok(Math.abs(lo - (mean - 1.96 * se)) < 0.25 * se && Math.abs(hi - (mean + 1.96 * se)) < 0.25 * se, `${lo} ${hi} vs ${mean} ± ${1.96 * se}`);
  assert.deepEqual(bootstrapMeanCI([3, 3, 3], 'k'), [3, 3]);
  assert.ok(bootstrapMeanCI([], 'k').every(Number.isNaN));
});

test('regplot band: brackets the fitted line, widens away from the data\'s centre; degenerate resamples use pinv', () => {
  const pts = [0, 0.5, 1, 1.5, 2].map((x, i) => ({ x, y: 1 + 2 * x + [0.3, -0.2, 0.1, -0.3, 0.2][i]! }));
  const grid = [0, 1, 2];
  const band = bootstrapLineBand(pts, grid, 'k');
  for (const [g, [lo, hi]] of band.entries()) assert.ok(lo <= 1 + 2 * grid[g]! + 0.05 && hi >= 1 + 2 * grid[g]! - 0.05 && lo < hi);
  assert.ok(band[1]![1] - band[1]![0] < band[0]![1] - band[0]![0], 'narrowest at the centre');
  // Two points: a third of the resamples repeat one point; their pinv fit is finite, never NaN.
  const two = bootstrapLineBand([{ x: 1, y: 1 }, { x: 2, y: 3 }], [1, 2], 'k');
  assert.ok(two.flat().every(Number.isFinite));
});

test('gap vs size: the overall line gets a 100-point band; families do not', () => {
  const spec: Array<[string, string, number, number]> = [['A 1B', 'A', 1, 0.2], ['A 10B', 'A', 10, 0.5], ['B 2B', 'B', 2, 0.9], ['B 20B', 'B', 20, 0.4], ['B 70B', 'B', 70, 0.1]];
  const rows = spec.map(([model, family, n, gap]) => ({ model, model_family: family, model_n_params: n, log_odds_diff: gap }));
  const s = gapVsSizeSeries('crt', { columns: [], rows }, ['A', 'B']);
  const band = s.filter((r) => r.kind === 'band');
  assert.equal(band.length, 100);
  assert.ok(band.every((r) => r.group === OVERALL && Number(r.band_low) <= Number(r.band_high)));
  assert.equal(band[0]!.log10_params, 0);
  assert.ok(Math.abs(Number(band[99]!.log10_params) - Math.log10(70)) < 1e-12);
  const fit = s.find((r) => r.kind === 'fit' && r.group === OVERALL)!;
  const mid = band[50]!;
  const y = Number(fit.intercept) + Number(fit.slope) * Number(mid.log10_params);
  assert.ok(Number(mid.band_low) <= y && y <= Number(mid.band_high), 'the band holds the fitted line');
});
