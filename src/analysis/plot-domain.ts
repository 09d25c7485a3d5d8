// The figures of one domain: which files exist (known before running) and their contents, from
// aggregate's tables: series as CSV and JSON, and the SVG drawn from the same series.

import { toCsv, type Table } from './csv-io.js';
import { domainDef, type Domain } from './domains.js';
import { byMethodSpec, gapVsSizeSpec, trainingSpec } from './figure-specs.js';
import { renderSvg } from './render.js';
import { byMethodSeries, gapVsSizeSeries, seriesColumns, trainingSeries, type SeriesRow } from './series.js';

export type FigureName = 'by_method' | 'gap_vs_size' | 'training_time';

export interface FigureFile {
  /** Output name (`digit_mat_by_method_svg`). */
  name: string;
  /** File name under figures/ (`digit_mat_by_method.svg`). */
  file: string;
}

export function figureNames(domain: Domain, trainingTime: boolean): FigureName[] {
  const names: FigureName[] = ['by_method', 'gap_vs_size'];
  if (domainDef(domain).trainingTime && trainingTime) names.push('training_time');
  return names;
}

export function plotOutputFiles(domain: Domain, trainingTime: boolean): FigureFile[] {
  return figureNames(domain, trainingTime).flatMap((fig) => (['svg', 'json', 'csv'] as const).map((ext) => ({
    name: `${domain}_${fig}_${ext}`,
    file: `${domain}_${fig}.${ext}`,
  })));
}

export interface PlotInputs {
  longSize: Table;
  /** `<domain>_log_odds_diff` or `lambada_logprob_diff`. */
  gap: Table;
  longTrainingTime?: Table;
}

export interface PlotOptions {
  familyOrder: string[];
  trainingTime: boolean;
  /** Skip SVG rendering (tests of the series alone). */
  render?: boolean;
}

/** The series of each figure of a domain. */
export function domainSeries(domain: Domain, inputs: PlotInputs, opts: PlotOptions): Record<FigureName, SeriesRow[] | undefined> {
  const wantTT = domainDef(domain).trainingTime && opts.trainingTime;
  if (wantTT && !inputs.longTrainingTime) throw new Error(`${domain}: the training-time figure needs ${domain}_long_training_time from aggregate`);
  return {
    by_method: byMethodSeries(domain, inputs.longSize, opts.familyOrder),
    gap_vs_size: gapVsSizeSeries(domain, inputs.gap, opts.familyOrder),
    training_time: wantTT ? trainingSeries(domain, inputs.longTrainingTime!) : undefined,
  };
}

export async function plotDomain(domain: Domain, inputs: PlotInputs, opts: PlotOptions): Promise<Array<FigureFile & { content: string }>> {
  const series = domainSeries(domain, inputs, opts);
  const out: Array<FigureFile & { content: string }> = [];
  for (const fig of figureNames(domain, opts.trainingTime)) {
    const rows = series[fig]!;
    const spec = fig === 'by_method' ? byMethodSpec(domain, rows, opts.familyOrder)
      : fig === 'gap_vs_size' ? gapVsSizeSpec(domain, rows, opts.familyOrder)
        : trainingSpec(domain, rows);
    const base = `${domain}_${fig}`;
    const json = JSON.stringify({ domain, figure: fig, rows }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
    out.push({ name: `${base}_svg`, file: `${base}.svg`, content: opts.render === false ? '' : await renderSvg(spec) });
    out.push({ name: `${base}_json`, file: `${base}.json`, content: `${json}\n` });
    out.push({ name: `${base}_csv`, file: `${base}.csv`, content: toCsv({ columns: seriesColumns(rows), rows }) });
  }
  return out;
}
