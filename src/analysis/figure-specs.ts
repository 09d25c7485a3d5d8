// Vega-Lite specifications of the figures (plain data; rendering is in render.ts). Low- and
// high-demand methods are blue and orange (distinct in hue and lightness, colour-blind safe);
// families keep the paper's hues (Pythia blue, OLMo red, Gemma green, Llama-2 purple, Mistral
// orange).

import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED } from './bootstrap.js';
import { domainDef, type Domain } from './domains.js';
import { orderFamilies } from './models.js';
import { methodLabel, OVERALL, type SeriesRow } from './series.js';

export const LOW_DEMAND_COLOR = '#2b7bba';
export const HIGH_DEMAND_COLOR = '#e8743b';

const FAMILY_COLORS: Record<string, string> = {
  Pythia: '#3182bd', OLMo: '#de2d26', Gemma: '#31a354', 'Llama-2': '#756bb1', Mistral: '#e6550d',
};
const EXTRA_COLORS = ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];
const SHAPES = ['circle', 'triangle-down', 'diamond', 'square', 'triangle-up', 'cross', 'triangle-left', 'triangle-right'];

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: false },
  header: { labelFontSize: 12, labelFontWeight: 'bold' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
  title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start' },
  padding: 12,
};

function metricTitle(domain: Domain): string {
  return domainDef(domain).metric === 'logprob' ? 'Mean log probability' : 'Proportion correct';
}

/** Proportions on a fixed 0–1 axis (comparable across figures, and never a collapsed domain). */
function metricScale(domain: Domain, bars: boolean): { scale: Record<string, unknown> } {
  if (domainDef(domain).metric === 'correct') return { scale: { domain: [0, 1] } };
  return { scale: bars ? { zero: true } : { zero: false } };
}

function methodScale(domain: Domain): { domain: string[]; range: string[] } {
  const [low, high] = domainDef(domain).methods;
  return { domain: [methodLabel(domain, low), methodLabel(domain, high)], range: [LOW_DEMAND_COLOR, HIGH_DEMAND_COLOR] };
}

/** Bars of the metric by method for every model, one panel per family. */
export function byMethodSpec(domain: Domain, rows: SeriesRow[], familyOrder: string[]): Record<string, unknown> {
  const families = orderFamilies(rows.map((r) => String(r.model_family)), familyOrder);
  const x = { field: 'model_label', type: 'nominal', sort: { field: 'model_n_params', op: 'min' }, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'method_label', sort: methodScale(domain).domain };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: domainDef(domain).title, subtitle: `${metricTitle(domain)}${domainDef(domain).metricNote ?? ''} by evaluation method (error bars: 95% bootstrap CI of the mean, ${BOOTSTRAP_RESAMPLES} resamples, seed ${BOOTSTRAP_SEED})` },
    data: { values: rows },
    facet: { column: { field: 'model_family', type: 'nominal', sort: families, title: 'Model size', header: { titleOrient: 'bottom', labelOrient: 'top' } } },
    spec: {
      width: { step: 36 },
      height: 220,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x, xOffset,
            y: { field: 'mean', type: 'quantitative', title: metricTitle(domain), ...metricScale(domain, true) },
            color: { field: 'method_label', type: 'nominal', scale: methodScale(domain), legend: { orient: 'top', title: null, direction: 'horizontal' } },
            tooltip: [{ field: 'model' }, { field: 'pretty_eval_method' }, { field: 'mean', format: '.3f' }, { field: 'n' }],
          },
        },
        {
          mark: { type: 'rule', color: '#333', strokeWidth: 1 },
          encoding: { x, xOffset, y: { field: 'ci_low', type: 'quantitative' }, y2: { field: 'ci_high' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
    config: CONFIG,
  };
}

/**
 * A log axis around the data with 1-2-5 ticks (only powers of ten when that gives too many), so
 * that one model, or models far from 1–100B, still get a readable axis.
 */
export function logAxis(values: number[]): { domain: [number, number]; ticks: number[] } {
  let lo = values.length ? Math.min(...values) : 1;
  let hi = values.length ? Math.max(...values) : 100;
  if (hi / lo < 3) { const mid = Math.sqrt(lo * hi); lo = mid / 3; hi = mid * 3; }
  const domain: [number, number] = [lo / 1.25, hi * 1.25];
  const ticksWith = (mantissas: number[]): number[] => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(domain[0])); e <= Math.ceil(Math.log10(domain[1])); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= domain[0] && v <= domain[1]) out.push(v);
      }
    }
    return out;
  };
  const fine = ticksWith([1, 2, 5]);
  return { domain, ticks: fine.length <= 10 ? fine : ticksWith([1]) };
}

/** The demand gap against model size, with per-family and overall least-squares lines. */
export function gapVsSizeSpec(domain: Domain, rows: SeriesRow[], familyOrder: string[]): Record<string, unknown> {
  const families = orderFamilies(rows.filter((r) => r.kind === 'point').map((r) => String(r.model_family)), familyOrder);
  const colors = families.map((f, i) => FAMILY_COLORS[f] ?? EXTRA_COLORS[i % EXTRA_COLORS.length]!);
  const shapes = families.map((_, i) => SHAPES[i % SHAPES.length]!);
  const hidden = rows.filter((r) => r.kind === 'point' && !r.finite && r.log10_params !== null).map((r) => r.model);
  const unsized = rows.filter((r) => r.kind === 'point' && r.log10_params === null).map((r) => r.model);
  const [low, high] = domainDef(domain).methodDefs.map((m) => m.pretty) as [string, string];
  const yTitle = domainDef(domain).metric === 'correct'
    ? [`Log-odds difference`, `(${low} − ${high})`]
    : [`Mean log-probability difference`, `(${low} − ${high})`];
  const { domain: xDomain, ticks } = logAxis(rows.filter((r) => r.kind === 'point').map((r) => Number(r.model_n_params)).filter((v) => v > 0));
  const x = { field: 'model_n_params', type: 'quantitative', scale: { type: 'log', domain: xDomain, nice: false }, title: '# parameters (billions, log scale)', axis: { values: ticks, format: '~g' } };
  const subtitle = [`Lines: least squares on log10(parameters), per family (coloured) and over all models (black, with its 95% bootstrap band: ${BOOTSTRAP_RESAMPLES} resamples of the models, seed ${BOOTSTRAP_SEED})`];
  if (hidden.length) subtitle.push(`Not shown (infinite log odds: a method at 0% or 100%): ${hidden.join(', ')}`);
  if (unsized.length) subtitle.push(`Not shown (no parameter count declared): ${unsized.join(', ')}`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: domainDef(domain).title, subtitle },
    data: { values: rows },
    width: 440,
    height: 280,
    layer: [
      {
        transform: [{ filter: `datum.kind === 'band'` }],
        mark: { type: 'area', color: 'silver', opacity: 0.45 },
        encoding: { x, y: { field: 'band_low', type: 'quantitative' }, y2: { field: 'band_high' } },
      },
      {
        transform: [{ filter: `datum.kind === 'fit' && datum.group !== '${OVERALL}'` }],
        mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x, y: { field: 'gap', type: 'quantitative' }, color: { field: 'model_family', type: 'nominal', scale: { domain: families, range: colors }, title: 'Family' }, detail: { field: 'group' } },
      },
      {
        transform: [{ filter: `datum.kind === 'fit' && datum.group === '${OVERALL}'` }],
        mark: { type: 'line', color: 'black', strokeWidth: 2.5 },
        encoding: { x, y: { field: 'gap', type: 'quantitative' } },
      },
      {
        transform: [{ filter: `datum.kind === 'point' && datum.finite` }],
        mark: { type: 'point', filled: true, size: 90, opacity: 1 },
        encoding: {
          x,
          y: { field: 'gap', type: 'quantitative', title: yTitle },
          color: { field: 'model_family', type: 'nominal', scale: { domain: families, range: colors }, title: 'Family' },
          shape: { field: 'model_family', type: 'nominal', scale: { domain: families, range: shapes }, title: 'Family' },
          tooltip: [{ field: 'model' }, { field: 'gap', format: '.3f' }],
        },
      },
    ],
    config: CONFIG,
  };
}

/** The metric by method against training step (log scale), one panel per model with revisions. */
export function trainingSpec(domain: Domain, rows: SeriesRow[]): Record<string, unknown> {
  const x = { field: 'training_step', type: 'quantitative', scale: { type: 'log', nice: false, padding: 10 }, title: 'Training step (log scale)', axis: { format: '~s' } };
  const color = { field: 'method_label', type: 'nominal', scale: methodScale(domain), legend: { orient: 'top', title: null, direction: 'horizontal' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: domainDef(domain).title, subtitle: `${metricTitle(domain)}${domainDef(domain).metricNote ?? ''} over training (error bars: 95% bootstrap CI of the mean, ${BOOTSTRAP_RESAMPLES} resamples, seed ${BOOTSTRAP_SEED})` },
    data: { values: rows },
    facet: { column: { field: 'model', type: 'nominal', title: null } },
    spec: {
      width: 360,
      height: 240,
      layer: [
        { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: metricTitle(domain), ...metricScale(domain, false) }, color } },
        { mark: { type: 'point', filled: true, size: 50 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'revision' }, { field: 'mean', format: '.3f' }] } },
        { mark: { type: 'rule', strokeWidth: 1 }, encoding: { x, y: { field: 'ci_low', type: 'quantitative' }, y2: { field: 'ci_high' }, color } },
      ],
    },
    config: CONFIG,
  };
}
