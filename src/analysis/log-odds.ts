// The demand gap per model: log odds of being correct with the low-demand method minus with the
// high-demand method (lambada: mean log-probability difference, direct − meta).
//
// p = 0 or 1: the log odds are −∞ or +∞, exactly as numpy computes them in the paper's analysis
// (no clipping, so no invented numbers); the difference is then ±∞, or undefined (NaN, written
// empty) when both sides are infinite in the same direction. CSVs write `inf`/`-inf`; the figures
// and the size regressions leave non-finite gaps out and say how many they left out.

import { parseBool, parseNum, type Row, type Table } from './csv-io.js';
import { domainDef, type Domain } from './domains.js';

export function logOdds(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  return Math.log(p / (1 - p));
}

interface ModelKey { model: string; family: string; nParams: number | null }

/** Models in order of first appearance, with their rows. */
function groupByModel(long: Table): Array<ModelKey & { rows: Row[] }> {
  const groups = new Map<string, ModelKey & { rows: Row[] }>();
  for (const r of long.rows) {
    const model = String(r.model);
    let g = groups.get(model);
    if (!g) {
      const n = r.model_n_params;
      g = { model, family: String(r.model_family ?? ''), nParams: n === null || n === undefined || n === '' ? null : Number(n), rows: [] };
      groups.set(model, g);
    }
    g.rows.push(r);
  }
  return [...groups.values()];
}

export const LOG_ODDS_COLUMNS = [
  'model', 'model_family', 'model_n_params', 'low_demand_method', 'high_demand_method',
  'n_low', 'n_high', 'p_low', 'p_high', 'log_odds_low', 'log_odds_high', 'log_odds_diff',
];

/** Per model: proportion correct per method, its log odds, and low − high (from a long table). */
export function logOddsDiff(domain: Domain, long: Table): Table {
  const [low, high] = domainDef(domain).methods;
  const rows: Row[] = [];
  for (const g of groupByModel(long)) {
    const stat = (method: string): { n: number; p: number } => {
      let n = 0;
      let k = 0;
      for (const r of g.rows) {
        if (r.eval_method !== method) continue;
        const v = parseBool(r.response_correct ?? null, `${g.model} ${method} response_correct`);
        if (v === null) continue;
        n++;
        if (v) k++;
      }
      return { n, p: n === 0 ? NaN : k / n };
    };
    const lo = stat(low);
    const hi = stat(high);
    const loLo = Number.isNaN(lo.p) ? NaN : logOdds(lo.p);
    const hiLo = Number.isNaN(hi.p) ? NaN : logOdds(hi.p);
    rows.push({
      model: g.model, model_family: g.family, model_n_params: g.nParams,
      low_demand_method: low, high_demand_method: high,
      n_low: lo.n, n_high: hi.n, p_low: lo.p, p_high: hi.p,
      log_odds_low: loLo, log_odds_high: hiLo, log_odds_diff: loLo - hiLo,
    });
  }
  return { columns: LOG_ODDS_COLUMNS, rows };
}

export const LOGPROB_DIFF_COLUMNS = [
  'model', 'model_family', 'model_n_params', 'n', 'mean_direct_logprob', 'mean_meta_logprob', 'mean_logprob_diff',
];

/** Lambada: per model, mean direct and meta log-probability and the mean of their difference. */
export function logprobDiff(wide: Table): Table {
  const rows: Row[] = [];
  for (const g of groupByModel(wide)) {
    let n = 0;
    let sd = 0;
    let sm = 0;
    let sdiff = 0;
    for (const r of g.rows) {
      const d = parseNum(r.direct_logprob ?? null, `${g.model} direct_logprob`);
      const m = parseNum(r.meta_logprob ?? null, `${g.model} meta_logprob`);
      if (d === null || m === null) continue;
      n++;
      sd += d;
      sm += m;
      sdiff += d - m;
    }
    rows.push({
      model: g.model, model_family: g.family, model_n_params: g.nParams, n,
      mean_direct_logprob: sd / n, mean_meta_logprob: sm / n, mean_logprob_diff: sdiff / n,
    });
  }
  return { columns: LOGPROB_DIFF_COLUMNS, rows };
}
