import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row, Table } from '../../src/analysis/csv-io.js';
import { byMethodSpec, gapVsSizeSpec, logAxis } from '../../src/analysis/figure-specs.js';
import { byMethodSeries, fitLine, gapVsSizeSeries, OVERALL, shortLabel, trainingSeries } from '../../src/analysis/series.js';

function longRows(spec: Array<[string, string, number, string, boolean[]]>): Table {
  const rows: Row[] = [];
  for (const [model, family, n, method, values] of spec) {
    for (const v of values) rows.push({ model, model_family: family, model_n_params: n, eval_method: method, response_correct: v });
  }
  return { columns: ['model', 'model_family', 'model_n_params', 'eval_method', 'response_correct'], rows };
}

test('by-method series: means per model and method, families in the given order, models by size, low demand first', () => {
  const long = longRows([
    ['Zeta 9B', 'Zeta', 9, 'generated', [true, false, false, false]],
    ['Zeta 9B', 'Zeta', 9, 'mc', [true, true, true, false]],
    ['Pythia 12B', 'Pythia', 12, 'mc', [true, true]],
    ['Pythia 12B', 'Pythia', 12, 'generated', [false, true]],
    ['Pythia 1B', 'Pythia', 1, 'generated', [false, false]],
    ['Pythia 1B', 'Pythia', 1, 'mc', [true, false]],
  ]);
  const s = byMethodSeries('digit_mat', long, ['Pythia', 'OLMo']);
  assert.deepEqual(s.map((r) => [r.model, r.eval_method, r.mean]), [
    ['Pythia 1B', 'mc', 0.5], ['Pythia 1B', 'generated', 0],
    ['Pythia 12B', 'mc', 1], ['Pythia 12B', 'generated', 0.5],
    ['Zeta 9B', 'mc', 0.75], ['Zeta 9B', 'generated', 0.25],
  ]);
  const z = s[4]!;
  // sample SD of (1,1,1,0) is 0.5, SE = 0.25
  assert.equal(z.se, 0.25);
  // Seeded bootstrap percentiles: a resampled mean of (1,1,1,0) is a multiple of 1/4 in [0, 1].
  assert.ok([0.25, 0.5].includes(Number(z.ci_low)) && z.ci_high === 1, `${z.ci_low}..${z.ci_high}`);
  assert.equal(s[5]!.ci_low, 0);
  assert.deepEqual(byMethodSeries('digit_mat', long, ['Pythia', 'OLMo']), s, 'the same intervals on every run (seeded)');
  // A group's interval does not depend on the other groups.
  const alone = byMethodSeries('digit_mat', { columns: long.columns, rows: long.rows.filter((r) => r.model === 'Zeta 9B') }, []);
  assert.deepEqual(alone.find((r) => r.eval_method === 'mc'), z);
  assert.equal(z.method_label, 'Forced choice (low task demands)');
  assert.equal(s[0]!.model_label, '1B');
  assert.equal(shortLabel('Mistral 7B', 'Mistral'), '7B');
  assert.equal(shortLabel('tiny-gpt2', 'tiny'), 'tiny-gpt2');
  const spec = byMethodSpec('digit_mat', s, ['Pythia', 'OLMo']) as { facet: { column: { sort: string[] } } };
  assert.deepEqual(spec.facet.column.sort, ['Pythia', 'Zeta']);
});

test('least-squares line by hand; none from fewer than two distinct x', () => {
  assert.deepEqual(fitLine([{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: 2 }, { x: 3, y: 4 }, { x: 4, y: 6 }]), { intercept: 0.6000000000000001, slope: 1.2 });
  assert.equal(fitLine([{ x: 1, y: 1 }]), undefined);
  assert.equal(fitLine([{ x: 1, y: 1 }, { x: 1, y: 2 }]), undefined);
});

test('gap vs size: per-family and overall lines from finite gaps only; infinite gaps kept as flagged points', () => {
  const gap: Table = {
    columns: [],
    rows: [
      { model: 'A 1B', model_family: 'A', model_n_params: 1, log_odds_diff: 2 },
      { model: 'A 10B', model_family: 'A', model_n_params: 10, log_odds_diff: 1 },
      { model: 'A 100B', model_family: 'A', model_n_params: 100, log_odds_diff: Infinity },
      { model: 'B 10B', model_family: 'B', model_n_params: 10, log_odds_diff: 3 },
    ],
  };
  const s = gapVsSizeSeries('crt', gap, ['B', 'A']);
  const points = s.filter((r) => r.kind === 'point');
  assert.deepEqual(points.map((p) => [p.model, p.log10_params, p.finite]), [['B 10B', 1, true], ['A 1B', 0, true], ['A 10B', 1, true], ['A 100B', 2, false]]);
  const fits = s.filter((r) => r.kind === 'fit');
  // Family A: (0,2), (1,1) → slope −1; B has one model → no line; overall: (0,2), (1,1), (1,3) → x̄ = 2/3,
  // ȳ = 2, Sxx = 2/3, Sxy = (−2/3)(0) + (1/3)(−1) + (1/3)(1) = 0 → slope 0, intercept 2.
  assert.deepEqual(fits.map((f) => f.group), ['A', 'A', OVERALL, OVERALL]);
  assert.equal(fits[0]!.slope, -1);
  assert.deepEqual([fits[0]!.gap, fits[1]!.gap], [2, 1]);
  assert.equal(fits[2]!.slope, 0);
  assert.equal(fits[2]!.intercept, 2);
  const spec = (gapVsSizeSpec('crt', s, ['B', 'A']) as { title: { subtitle: string[] } }).title.subtitle.join(' ');
  assert.match(spec, /at the plot's edge: infinite log odds \(a method at 0% or 100%\), left out of the lines: A 100B/);
});

test('training series: one point per revision and method, ordered by step', () => {
  const rows: Row[] = [];
  const add = (revision: string, step: number, method: string, values: number[]): void => {
    for (const v of values) rows.push({ model: 'M', revision, training_step: step, eval_method: method, logprob: v });
  };
  add('', 557000, 'direct', [-1, -2]);
  add('step10-x', 10, 'direct', [-3, -5]);
  add('step10-x', 10, 'meta', [-6, -6]);
  const s = trainingSeries('lambada', { columns: [], rows });
  assert.deepEqual(s.map((r) => [r.training_step, r.eval_method, r.mean]), [[10, 'direct', -4], [10, 'meta', -6], [557000, 'direct', -1.5]]);
});

test('log axis: 1-2-5 ticks around the data, a usable range for a single model', () => {
  const paper = logAxis([1, 1.4, 2.8, 6.9, 12, 2, 7, 13, 70]);
  assert.deepEqual(paper.domain, [0.8, 87.5]);
  assert.deepEqual(paper.ticks, [1, 2, 5, 10, 20, 50]);
  const one = logAxis([0.0033]);
  assert.ok(one.domain[0] < 0.0033 && one.domain[1] > 0.0033);
  assert.deepEqual(one.ticks, [0.001, 0.002, 0.005, 0.01]); // domain 0.0033/3/1.25 … 0.0033·3·1.25
});
