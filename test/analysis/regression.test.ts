import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '../../src/analysis/csv-io.js';
import { logistic, ols } from '../../src/analysis/regression.js';
import { regressTrainingTime } from '../../src/analysis/training-regression.js';

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} differs from ${expected} by more than ${tol}`);
}

test('OLS on a five-point line, derived by hand', () => {
  // x̄ = 2, ȳ = 3, Sxx = 10, Sxy = 12 → b = 1.2, a = 0.6; residuals .4 .2 −1 −.2 .6 → RSS = 1.6,
  // σ² = 1.6/3; SE(b) = √(σ²/Sxx), SE(a) = √(σ²(1/n + x̄²/Sxx)) = √0.32; t(b) = 3√3 on 3 df, whose
  // two-sided p has the closed form 1 − (2/π)(t/√3/(1 + t²/3) + atan(t/√3)) = 1 − (2/π)(0.3 + atan 3).
  const x = [0, 1, 2, 3, 4];
  const y = [1, 2, 2, 4, 6];
  const fit = ols(x.map((v) => [1, v]), y, ['(Intercept)', 'x']);
  const [a, b] = fit.coefficients as [typeof fit.coefficients[0], typeof fit.coefficients[0]];
  close(a.estimate, 0.6, 1e-12, 'intercept');
  close(b.estimate, 1.2, 1e-12, 'slope');
  close(b.std_error, Math.sqrt(1.6 / 3 / 10), 1e-12, 'SE slope');
  close(a.std_error, Math.sqrt(0.32), 1e-12, 'SE intercept');
  close(b.statistic, 3 * Math.sqrt(3), 1e-10, 't slope');
  close(b.p_value, 1 - (2 / Math.PI) * (0.3 + Math.atan(3)), 1e-9, 'p slope');
  assert.equal(fit.dfResidual, 3);
  close(fit.sigma!, Math.sqrt(1.6 / 3), 1e-12, 'sigma');
});

function lambadaLong(groups: Record<string, number[]>): { columns: string[]; rows: Row[] } {
  const steps = [1, 10, 100, 1000, 10000]; // log10 → 0..4
  const rows: Row[] = [];
  for (const [method, ys] of Object.entries(groups)) ys.forEach((v, i) => rows.push({ training_step: steps[i]!, eval_method: method, logprob: v }));
  return { columns: ['training_step', 'eval_method', 'logprob'], rows };
}

test('lambada regression: interaction OLS equals the two separate lines, with pooled standard errors', () => {
  // direct: y = 1 2 2 4 6 → 0.6 + 1.2x (RSS 1.6); meta: y = 2 2 3 3 5 → 1.6 + 0.7x (RSS 1.1).
  // Pooled σ² = 2.7/6 = 0.45; SE: intercept √(0.45·0.6), slope √(0.045), method √(2·0.27), interaction √(2·0.045) = 0.3.
  const r = regressTrainingTime('lambada', lambadaLong({ meta: [2, 2, 3, 3, 5], direct: [1, 2, 2, 4, 6] }));
  const c = Object.fromEntries(r.fit.coefficients.map((k) => [k.term, k]));
  assert.deepEqual(r.table.columns, ['term', 'estimate', 'std_error', 'statistic', 'p_value']);
  assert.deepEqual(r.fit.coefficients.map((k) => k.term), ['(Intercept)', 'training_step_log', 'eval_methodmeta', 'training_step_log:eval_methodmeta']);
  close(c['(Intercept)']!.estimate, 0.6, 1e-10, 'intercept');
  close(c['training_step_log']!.estimate, 1.2, 1e-10, 'slope');
  close(c['eval_methodmeta']!.estimate, 1.0, 1e-10, 'method');
  close(c['training_step_log:eval_methodmeta']!.estimate, -0.5, 1e-10, 'interaction');
  close(c['(Intercept)']!.std_error, Math.sqrt(0.27), 1e-10, 'SE intercept');
  close(c['training_step_log']!.std_error, Math.sqrt(0.045), 1e-10, 'SE slope');
  close(c['eval_methodmeta']!.std_error, Math.sqrt(0.54), 1e-10, 'SE method');
  close(c['training_step_log:eval_methodmeta']!.std_error, 0.3, 1e-10, 'SE interaction');
  close(c['training_step_log:eval_methodmeta']!.statistic, -0.5 / 0.3, 1e-9, 't interaction');
  assert.equal(r.fit.dfResidual, 6);
  assert.match(r.text, /Linear model \(least squares\): logprob ~ training_step_log \* eval_method \(reference: direct\)/);
});

const logit = (p: number): number => Math.log(p / (1 - p));

test('digit_mat regression: IRLS on a saturated 2×2 design matches the closed-form MLE and inverse Fisher information', () => {
  // Cells (method, log10 step): generated@0 3/10, generated@1 6/10, mc@0 4/8, mc@1 7/8. With four
  // parameters for four cells the fit reproduces the cell proportions, so each coefficient is a
  // contrast of cell logits and its variance the sum of the cells' 1/(n p (1 − p)).
  const cells: Array<[string, number, number, number]> = [['generated', 1, 10, 3], ['generated', 10, 10, 6], ['mc', 1, 8, 4], ['mc', 10, 8, 7]];
  const rows: Row[] = [];
  for (const [method, step, n, k] of cells) for (let i = 0; i < n; i++) rows.push({ training_step: step, eval_method: method, response_correct: i < k });
  const r = regressTrainingTime('digit_mat', { columns: ['training_step', 'eval_method', 'response_correct'], rows });
  assert.deepEqual(r.fit.coefficients.map((k) => k.term), ['(Intercept)', 'training_step_log', 'eval_methodmc', 'training_step_log:eval_methodmc']);
  const [b0, b1, b2, b3] = r.fit.coefficients.map((k) => k.estimate) as [number, number, number, number];
  const [s0, s1, s2, s3] = r.fit.coefficients.map((k) => k.std_error) as [number, number, number, number];
  close(b0, logit(0.3), 1e-8, 'intercept');
  close(b1, logit(0.6) - logit(0.3), 1e-8, 'slope');
  close(b2, logit(0.5) - logit(0.3), 1e-8, 'method');
  close(b3, logit(0.875) - logit(0.5) - (logit(0.6) - logit(0.3)), 1e-8, 'interaction');
  const v = [1 / (10 * 0.3 * 0.7), 1 / (10 * 0.6 * 0.4), 1 / (8 * 0.5 * 0.5), 1 / (8 * 0.875 * 0.125)] as const;
  close(s0, Math.sqrt(v[0]), 1e-7, 'SE intercept');
  close(s1, Math.sqrt(v[0] + v[1]), 1e-7, 'SE slope');
  close(s2, Math.sqrt(v[0] + v[2]), 1e-7, 'SE method');
  close(s3, Math.sqrt(v[0] + v[1] + v[2] + v[3]), 1e-7, 'SE interaction');
  assert.equal(r.fit.converged, true);
  close(r.fit.coefficients[0]!.statistic, b0 / s0, 1e-12, 'z = estimate / SE');
  assert.match(r.text, /Logistic regression/);
});

test('logistic regression: score equations vanish at the estimate on unbalanced data', () => {
  // Not saturated: x takes five values. At the MLE, X'(y − μ) = 0.
  const x = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4];
  const y = [0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1];
  const fit = logistic(x.map((v) => [1, v]), y, ['(Intercept)', 'x']);
  const [a, b] = fit.coefficients.map((c) => c.estimate) as [number, number];
  let g0 = 0;
  let g1 = 0;
  x.forEach((xi, i) => {
    const mu = 1 / (1 + Math.exp(-(a + b * xi)));
    g0 += y[i]! - mu;
    g1 += xi * (y[i]! - mu);
  });
  close(g0, 0, 1e-6, 'score for the intercept');
  close(g1, 0, 1e-6, 'score for the slope');
  assert.ok(b > 0);
  assert.equal(fit.separation, false);
});

test('logistic regression flags separation as R does', () => {
  const x = [0, 1, 2, 3, 4, 5];
  const y = [0, 0, 0, 1, 1, 1];
  const fit = logistic(x.map((v) => [1, v]), y, ['(Intercept)', 'x']);
  assert.equal(fit.separation, true);
});

test('bad regression inputs are named', () => {
  assert.throws(() => ols([[1, 0]], [1], ['(Intercept)', 'x']), /1 observations for 2 coefficients/);
  assert.throws(() => logistic([[1, 0], [1, 1], [1, 2]], [0, 2, 1], ['(Intercept)', 'x']), /responses must be 0 or 1/);
  assert.throws(() => regressTrainingTime('lambada', { columns: [], rows: [{ training_step: 1, eval_method: 'direct', logprob: 1 }] }), /expected 2 evaluation methods/);
});
