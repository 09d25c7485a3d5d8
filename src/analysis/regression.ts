// Least squares and logistic regression (IRLS), as R's lm() and glm(family = binomial) report
// them: estimate, standard error, t or z value, two-sided p. ml-matrix does the linear algebra and
// jstat the distributions (p from the lower tail, so tiny p-values keep their precision). Design matrices are small (a handful of columns), so X'WX is
// accumulated row by row rather than materialising n×n weights.

import { inverse, Matrix, solve } from 'ml-matrix';
import jstatPkg from 'jstat';

const { jStat } = jstatPkg;

export interface Coefficient {
  term: string;
  estimate: number;
  std_error: number;
  /** t value (OLS) or z value (logistic). */
  statistic: number;
  p_value: number;
}

export interface Fit {
  kind: 'ols' | 'logistic';
  coefficients: Coefficient[];
  n: number;
  /** Residual degrees of freedom. */
  dfResidual: number;
  /** OLS: residual standard error; logistic: undefined. */
  sigma?: number;
  rSquared?: number;
  /** Logistic: deviances and iterations (R's "Number of Fisher Scoring iterations"). */
  deviance?: number;
  nullDeviance?: number;
  aic?: number;
  iterations?: number;
  converged?: boolean;
  /** Logistic: some fitted probabilities are numerically 0 or 1 (separation), as R warns. */
  separation?: boolean;
}

/** X'WX and X'Wz for weights w (all 1 for OLS). */
function crossProducts(X: number[][], w: (i: number) => number, z: (i: number) => number): { xtwx: Matrix; xtwz: Matrix } {
  const p = X[0]?.length ?? 0;
  const a = Matrix.zeros(p, p);
  const b = Matrix.zeros(p, 1);
  for (let i = 0; i < X.length; i++) {
    const xi = X[i]!;
    const wi = w(i);
    const zi = z(i);
    for (let j = 0; j < p; j++) {
      const wxj = wi * xi[j]!;
      b.set(j, 0, b.get(j, 0) + wxj * zi);
      for (let k = j; k < p; k++) a.set(j, k, a.get(j, k) + wxj * xi[k]!);
    }
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) a.set(j, k, a.get(k, j));
  return { xtwx: a, xtwz: b };
}

function checkShape(X: number[][], y: number[], terms: string[]): void {
  if (X.length !== y.length) throw new Error(`regression: ${X.length} design rows but ${y.length} responses`);
  if (X.length === 0) throw new Error('regression: no observations');
  if (X.some((r) => r.length !== terms.length)) throw new Error(`regression: every design row needs ${terms.length} columns (${terms.join(', ')})`);
  if (X.length <= terms.length) throw new Error(`regression: ${X.length} observations for ${terms.length} coefficients; need more data`);
}

/** Ordinary least squares: β = (X'X)⁻¹X'y, SE from σ² = RSS/(n − p), t tests with n − p df. */
export function ols(X: number[][], y: number[], terms: string[]): Fit {
  checkShape(X, y, terms);
  const n = X.length;
  const p = terms.length;
  const { xtwx, xtwz } = crossProducts(X, () => 1, (i) => y[i]!);
  const xtxInv = inverse(xtwx);
  const beta = xtxInv.mmul(xtwz).getColumn(0);
  let rss = 0;
  let mean = 0;
  for (const v of y) mean += v / n;
  let tss = 0;
  for (let i = 0; i < n; i++) {
    let fit = 0;
    for (let j = 0; j < p; j++) fit += X[i]![j]! * beta[j]!;
    rss += (y[i]! - fit) ** 2;
    tss += (y[i]! - mean) ** 2;
  }
  const df = n - p;
  const sigma2 = rss / df;
  const coefficients = terms.map((term, j) => {
    const se = Math.sqrt(sigma2 * xtxInv.get(j, j));
    const t = beta[j]! / se;
    return { term, estimate: beta[j]!, std_error: se, statistic: t, p_value: 2 * jStat.studentt.cdf(-Math.abs(t), df) };
  });
  return { kind: 'ols', coefficients, n, dfResidual: df, sigma: Math.sqrt(sigma2), rSquared: 1 - rss / tss };
}

function binomialDeviance(y: number[], mu: number[]): number {
  let d = 0;
  for (let i = 0; i < y.length; i++) {
    const yi = y[i]!;
    const m = mu[i]!;
    if (yi > 0) d += yi * Math.log(yi / m);
    if (yi < 1) d += (1 - yi) * Math.log((1 - yi) / (1 - m));
  }
  return 2 * d;
}

/**
 * Logistic regression by iteratively reweighted least squares (Fisher scoring), started and
 * stopped as R's glm.fit does (μ₀ = (y + ½)/2, |Δdeviance|/(|deviance| + 0.1) < 1e-8, at most
 * 25 iterations). SE = sqrt(diag((X'WX)⁻¹)) at the estimate, z tests against the normal.
 */
export function logistic(X: number[][], y: number[], terms: string[], opts: { maxIter?: number; tol?: number } = {}): Fit {
  checkShape(X, y, terms);
  if (y.some((v) => v !== 0 && v !== 1)) throw new Error('logistic regression: responses must be 0 or 1');
  const n = X.length;
  const p = terms.length;
  const maxIter = opts.maxIter ?? 25;
  const tol = opts.tol ?? 1e-8;
  let mu = y.map((v) => (v + 0.5) / 2);
  let eta = mu.map((m) => Math.log(m / (1 - m)));
  let dev = binomialDeviance(y, mu);
  let beta: number[] = new Array<number>(p).fill(0);
  let converged = false;
  let iter = 0;
  for (iter = 1; iter <= maxIter; iter++) {
    const w = mu.map((m) => m * (1 - m));
    const z = eta.map((e, i) => e + (y[i]! - mu[i]!) / w[i]!);
    const { xtwx, xtwz } = crossProducts(X, (i) => w[i]!, (i) => z[i]!);
    beta = solve(xtwx, xtwz).getColumn(0);
    eta = X.map((xi) => xi.reduce((s, v, j) => s + v * beta[j]!, 0));
    mu = eta.map((e) => 1 / (1 + Math.exp(-e)));
    // Keep μ inside (0, 1) as R's binomial()$linkinv does, so weights stay positive.
    mu = mu.map((m) => Math.min(Math.max(m, Number.EPSILON), 1 - Number.EPSILON));
    const devNew = binomialDeviance(y, mu);
    const done = Math.abs(devNew - dev) / (Math.abs(devNew) + 0.1) < tol;
    dev = devNew;
    if (done) { converged = true; break; }
  }
  const w = mu.map((m) => m * (1 - m));
  const { xtwx } = crossProducts(X, (i) => w[i]!, () => 0);
  const cov = inverse(xtwx);
  const coefficients = terms.map((term, j) => {
    const se = Math.sqrt(cov.get(j, j));
    const zval = beta[j]! / se;
    return { term, estimate: beta[j]!, std_error: se, statistic: zval, p_value: 2 * jStat.normal.cdf(-Math.abs(zval), 0, 1) };
  });
  // R's glm.fit warning threshold: 10 × machine epsilon from 0 or 1.
  const eps = 10 * Number.EPSILON;
  const separation = mu.some((m) => m < eps || m > 1 - eps);
  const ybar = y.reduce((s, v) => s + v, 0) / n;
  const nullDeviance = binomialDeviance(y, y.map(() => ybar));
  return {
    kind: 'logistic', coefficients, n, dfResidual: n - p, deviance: dev, nullDeviance,
    aic: dev + 2 * p, iterations: Math.min(iter, maxIter), converged, separation,
  };
}

export const REGRESSION_COLUMNS = ['term', 'estimate', 'std_error', 'statistic', 'p_value'];

function fmt(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential(digits - 1);
  return x.toPrecision(digits);
}

/** A readable summary in the spirit of R's summary.lm / summary.glm. */
export function summariseFit(fit: Fit, formula: string, title: string): string {
  const stat = fit.kind === 'ols' ? 't value' : 'z value';
  const pcol = fit.kind === 'ols' ? 'Pr(>|t|)' : 'Pr(>|z|)';
  const head = ['', 'Estimate', 'Std. Error', stat, pcol];
  // As R prints it: below machine epsilon a p-value is only "< 2e-16" (jstat's tails underflow to 0 there).
  const pv = (x: number): string => (x < 2.2e-16 ? '< 2e-16' : fmt(x, 4));
  const body = fit.coefficients.map((c) => [c.term, fmt(c.estimate), fmt(c.std_error), fmt(c.statistic, 4), pv(c.p_value)]);
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((r) => r[j]!.length)));
  const line = (r: string[]): string => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]!) : v.padStart(widths[j]!))).join('  ');
  const out = [
    title,
    '',
    `${fit.kind === 'ols' ? 'Linear model (least squares)' : 'Logistic regression (binomial, logit link; IRLS)'}: ${formula}`,
    `Observations: ${fit.n}`,
    '',
    'Coefficients:',
    line(head),
    ...body.map(line),
    '',
  ];
  if (fit.kind === 'ols') {
    out.push(`Residual standard error: ${fmt(fit.sigma ?? NaN)} on ${fit.dfResidual} degrees of freedom`);
    out.push(`Multiple R-squared: ${fmt(fit.rSquared ?? NaN)}`);
  } else {
    out.push(`Null deviance: ${fmt(fit.nullDeviance ?? NaN)} on ${fit.n - 1} degrees of freedom`);
    out.push(`Residual deviance: ${fmt(fit.deviance ?? NaN)} on ${fit.dfResidual} degrees of freedom`);
    out.push(`AIC: ${fmt(fit.aic ?? NaN)}`);
    out.push(`Fisher scoring iterations: ${fit.iterations}${fit.converged ? '' : ' (did NOT converge: the estimates are unreliable, e.g. separation)'}`);
    if (fit.separation) out.push('Warning: fitted probabilities numerically 0 or 1 occurred (separation); estimates and standard errors are unreliable');
  }
  return `${out.join('\n')}\n`;
}
