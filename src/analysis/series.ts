// The data behind each figure, computed from aggregate's tables (pure). Each series is a list of
// flat rows, so it is written as CSV and JSON alike and can be re-plotted elsewhere.

import { bootstrapLineBand, bootstrapMeanCI, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED } from './bootstrap.js';
import { parseBool, parseNum, type Row, type Table } from './csv-io.js';
import { domainDef, prettyMethod, type Domain } from './domains.js';
import { orderFamilies } from './models.js';

export type SeriesRow = Record<string, string | number | boolean | null>;

function demandOf(domain: Domain, method: string): 'low' | 'high' {
  return domainDef(domain).methods[0] === method ? 'low' : 'high';
}

/** Legend text: "Forced choice (low task demands)". */
export function methodLabel(domain: Domain, method: string): string {
  return `${prettyMethod(domainDef(domain), method)} (${demandOf(domain, method)} task demands)`;
}

function metricValue(domain: Domain, r: Row, where: string): number | null {
  if (domainDef(domain).metric === 'logprob') return parseNum(r.logprob ?? null, `${where} logprob`);
  const b = parseBool(r.response_correct ?? null, `${where} response_correct`);
  return b === null ? null : b ? 1 : 0;
}

/** "Pythia 1.4B" within the Pythia panel reads "1.4B"; names not led by the family stay whole. */
export function shortLabel(display: string, family: string): string {
  return display.startsWith(`${family} `) ? display.slice(family.length + 1) : display;
}

interface Acc { values: number[] }

/**
 * Mean, standard error and the 95% interval of the mean: a seeded percentile bootstrap
 * (BOOTSTRAP_RESAMPLES resamples, seed BOOTSTRAP_SEED, the group's own stream from `key`), the
 * interval seaborn drew on the paper's bars.
 */
function summarise(acc: Acc, key: string): { n: number; mean: number; se: number; ci_low: number; ci_high: number } {
  const v = acc.values;
  const n = v.length;
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  const se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0;
  const [lo, hi] = bootstrapMeanCI(v, key);
  return { n, mean, se, ci_low: lo, ci_high: hi };
}

/** How the intervals are made, for the figures' notes. */
export const INTERVAL_NOTE = `Error bars and band: 95% bootstrap CI (${BOOTSTRAP_RESAMPLES} resamples, seed ${BOOTSTRAP_SEED})`;

/** Mean metric per model and method (digit_mat, crt, syntax: proportion correct; lambada: mean logprob). */
export function byMethodSeries(domain: Domain, long: Table, familyOrder: string[]): SeriesRow[] {
  const groups = new Map<string, { base: SeriesRow; acc: Acc }>();
  long.rows.forEach((r, i) => {
    const v = metricValue(domain, r, `long row ${i + 1}`);
    if (v === null || !Number.isFinite(v)) return;
    const method = String(r.eval_method);
    const key = `${r.model}\u0000${method}`;
    let g = groups.get(key);
    if (!g) {
      const nParams = parseNum(r.model_n_params ?? null, 'model_n_params');
      g = {
        base: {
          model: String(r.model), model_label: shortLabel(String(r.model), String(r.model_family)),
          model_family: String(r.model_family), model_n_params: nParams, eval_method: method, pretty_eval_method: prettyMethod(domainDef(domain), method),
          demand: demandOf(domain, method), method_label: methodLabel(domain, method),
        },
        acc: { values: [] },
      };
      groups.set(key, g);
    }
    g.acc.values.push(v);
  });
  const rows: SeriesRow[] = [...groups.entries()].map(([key, g]) => ({ ...g.base, ...summarise(g.acc, `by_method\u0000${domain}\u0000${key}`) }));
  const families = orderFamilies(rows.map((r) => String(r.model_family)), familyOrder);
  const low = domainDef(domain).methods[0];
  return rows.sort((a, b) =>
    families.indexOf(String(a.model_family)) - families.indexOf(String(b.model_family)) ||
    (Number(a.model_n_params ?? Infinity) - Number(b.model_n_params ?? Infinity)) ||
    String(a.model).localeCompare(String(b.model)) ||
    (a.eval_method === low ? -1 : b.eval_method === low ? 1 : 0));
}

/** Least-squares line y = a + b·x; undefined with fewer than two distinct x. */
export function fitLine(points: Array<{ x: number; y: number }>): { intercept: number; slope: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

export const OVERALL = 'All models';
/** Grid points of the overall line's band (seaborn's regplot uses 100). */
const BAND_POINTS = 100;

/**
 * The demand gap (log-odds difference; lambada: mean logprob difference) against log10 of the
 * parameter count: one `point` row per model, and two `fit` rows (the ends) per regression line —
 * one per family with at least two models, one over all models — and `band` rows: the overall
 * line's 95% bootstrap band (`band_low`, `band_high`) at 100 points. Models with an infinite gap or
 * no size are kept as points with `finite: false` and left out of the lines.
 */
export function gapVsSizeSeries(domain: Domain, gap: Table, familyOrder: string[]): SeriesRow[] {
  const gapCol = domainDef(domain).metric === 'correct' ? 'log_odds_diff' : 'mean_logprob_diff';
  const points: SeriesRow[] = gap.rows.map((r) => {
    const n = parseNum(r.model_n_params ?? null, 'model_n_params');
    const y = parseNum(r[gapCol] ?? null, gapCol);
    const x = n !== null && n > 0 ? Math.log10(n) : null;
    const finite = x !== null && y !== null && Number.isFinite(y);
    return { kind: 'point', group: String(r.model_family), model: String(r.model), model_family: String(r.model_family), model_n_params: n, log10_params: x, gap: y, finite };
  });
  const families = orderFamilies(points.map((p) => String(p.model_family)), familyOrder);
  const lines: SeriesRow[] = [];
  const addLine = (group: string, pts: SeriesRow[]): void => {
    const xy = pts.filter((p) => p.finite).map((p) => ({ x: Number(p.log10_params), y: Number(p.gap) }));
    const fit = fitLine(xy);
    if (!fit) return;
    const xs = xy.map((p) => p.x);
    for (const x of [Math.min(...xs), Math.max(...xs)]) {
      lines.push({ kind: 'fit', group, model: null, model_family: group === OVERALL ? null : group, model_n_params: 10 ** x, log10_params: x, gap: fit.intercept + fit.slope * x, finite: true, slope: fit.slope, intercept: fit.intercept });
    }
  };
  for (const f of families) addLine(f, points.filter((p) => p.model_family === f));
  addLine(OVERALL, points);
  // The 95% band of the overall line (seaborn's regplot: bootstrap over the models), on 100 points.
  const xy = points.filter((p) => p.finite).map((p) => ({ x: Number(p.log10_params), y: Number(p.gap) }));
  if (fitLine(xy)) {
    const xs = xy.map((p) => p.x);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const grid = Array.from({ length: BAND_POINTS }, (_, i) => x0 + ((x1 - x0) * i) / (BAND_POINTS - 1));
    const band = bootstrapLineBand(xy, grid, `gap_vs_size\u0000${domain}`);
    grid.forEach((x, i) => {
      lines.push({ kind: 'band', group: OVERALL, model: null, model_family: null, model_n_params: 10 ** x, log10_params: x, gap: null, finite: true, band_low: band[i]![0], band_high: band[i]![1] });
    });
  }
  points.sort((a, b) => families.indexOf(String(a.model_family)) - families.indexOf(String(b.model_family)) || Number(a.model_n_params) - Number(b.model_n_params));
  return [...points, ...lines];
}

/** Mean metric per revision (training step) and method, for models with revisions. */
export function trainingSeries(domain: Domain, longTT: Table): SeriesRow[] {
  const groups = new Map<string, { base: SeriesRow; acc: Acc }>();
  longTT.rows.forEach((r, i) => {
    const v = metricValue(domain, r, `long training-time row ${i + 1}`);
    if (v === null || !Number.isFinite(v)) return;
    const method = String(r.eval_method);
    const key = `${r.model}\u0000${r.revision}\u0000${method}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        base: {
          model: String(r.model), revision: String(r.revision ?? ''), training_step: parseNum(r.training_step ?? null, 'training_step'),
          eval_method: method, pretty_eval_method: prettyMethod(domainDef(domain), method), demand: demandOf(domain, method),
          method_label: methodLabel(domain, method),
        },
        acc: { values: [] },
      };
      groups.set(key, g);
    }
    g.acc.values.push(v);
  });
  return [...groups.entries()].map(([key, g]): SeriesRow => ({ ...g.base, ...summarise(g.acc, `training_time\u0000${domain}\u0000${key}`) }))
    .sort((a, b) => String(a.model).localeCompare(String(b.model)) || Number(a.training_step) - Number(b.training_step) || String(a.eval_method).localeCompare(String(b.eval_method)));
}

export function seriesColumns(rows: SeriesRow[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}
