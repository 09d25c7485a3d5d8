// The training-time regressions (TASKS.md): on the long training-time table, with
// training_step_log = log10(training_step) and eval_method treatment-coded against its
// alphabetically first level (R's default), digit_mat fits
// `response_correct ~ training_step_log * eval_method` by logistic regression and lambada fits
// `logprob ~ training_step_log * eval_method` by least squares. Term names follow R.

import { parseBool, parseNum, type Row, type Table } from './csv-io.js';
import { domainDef, type Domain } from './domains.js';
import { logistic, ols, REGRESSION_COLUMNS, summariseFit, type Fit } from './regression.js';

export interface TrainingRegression {
  fit: Fit;
  table: Table;
  text: string;
  formula: string;
}

export function trainingDesign(domain: Domain, long: Table): { X: number[][]; y: number[]; terms: string[]; formula: string } {
  const def = domainDef(domain);
  const levels = [...new Set(long.rows.map((r) => String(r.eval_method)))].sort();
  if (levels.length !== 2) throw new Error(`${domain} training-time regression: expected 2 evaluation methods, found ${levels.join(', ') || 'none'}`);
  const [ref, other] = levels as [string, string];
  const response = def.metric === 'correct' ? 'response_correct' : 'logprob';
  const terms = ['(Intercept)', 'training_step_log', `eval_method${other}`, `training_step_log:eval_method${other}`];
  const X: number[][] = [];
  const y: number[] = [];
  long.rows.forEach((r: Row, i) => {
    const where = `${domain} long training-time row ${i + 1}`;
    const step = parseNum(r.training_step ?? null, `${where} training_step`);
    const v = def.metric === 'correct' ? parseBool(r[response] ?? null, `${where} ${response}`) : parseNum(r[response] ?? null, `${where} ${response}`);
    if (step === null || v === null) return;
    if (!(step > 0)) throw new Error(`${where}: training_step ${step} has no log10; steps must be positive`);
    const x = Math.log10(step);
    const d = r.eval_method === ref ? 0 : 1;
    X.push([1, x, d, x * d]);
    y.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
  });
  return { X, y, terms, formula: `${response} ~ training_step_log * eval_method (reference: ${ref})` };
}

export function regressTrainingTime(domain: Domain, long: Table): TrainingRegression {
  const { X, y, terms, formula } = trainingDesign(domain, long);
  const fit = domainDef(domain).metric === 'correct' ? logistic(X, y, terms) : ols(X, y, terms);
  const table: Table = { columns: REGRESSION_COLUMNS, rows: fit.coefficients.map((c) => ({ ...c })) };
  const text = summariseFit(fit, formula, `${domain}: effect of training time by evaluation method`);
  return { fit, table, text, formula };
}
