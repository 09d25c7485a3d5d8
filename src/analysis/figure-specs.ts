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

/**
 * Subtitle lines of at most `max` characters. Vega measures text without a canvas by an estimate
 * that runs long, and a one-line subtitle made the canvas about 3× wider than the plot.
 */
export function wrapLines(lines: string | string[], max = 64): string[] {
  const out: string[] = [];
  for (const line of Array.isArray(lines) ? lines : [lines]) {
    let cur = '';
    for (const word of line.split(' ')) {
      if (cur && cur.length + 1 + word.length > max) {
        out.push(cur);
        cur = word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    if (cur) out.push(cur);
  }
  return out;
}

/** A method's bar at exactly 0 has no height: a tick of its colour and a "0" label show it is there. */
function zeroBarLayers(x: Record<string, unknown>, xOffset: Record<string, unknown>, domain: Domain): Record<string, unknown>[] {
  const zero = [{ filter: 'datum.mean === 0' }];
  const color = { field: 'method_label', type: 'nominal', scale: methodScale(domain), legend: null };
  return [
    { transform: zero, mark: { type: 'tick', thickness: 3, orient: 'horizontal' }, encoding: { x, xOffset, y: { field: 'mean', type: 'quantitative' }, color } },
    { transform: zero, mark: { type: 'text', dy: -8, fontSize: 10, text: '0' }, encoding: { x, xOffset, y: { field: 'mean', type: 'quantitative' }, color } },
  ];
}

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
    title: { text: domainDef(domain).title, subtitle: wrapLines(`${metricTitle(domain)}${domainDef(domain).metricNote ?? ''} by evaluation method (error bars: 95% bootstrap CI of the mean, ${BOOTSTRAP_RESAMPLES} resamples, seed ${BOOTSTRAP_SEED})`, 48) },
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
            color: { field: 'method_label', type: 'nominal', scale: methodScale(domain), legend: { orient: 'top', title: null, direction: 'vertical' } },
            tooltip: [{ field: 'model' }, { field: 'pretty_eval_method' }, { field: 'mean', format: '.3f' }, { field: 'n' }],
          },
        },
        {
          mark: { type: 'rule', color: '#333', strokeWidth: 1 },
          encoding: { x, xOffset, y: { field: 'ci_low', type: 'quantitative' }, y2: { field: 'ci_high' } },
        },
        ...zeroBarLayers(x, xOffset, domain),
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
  const infinite = rows.filter((r) => r.kind === 'point' && r.log10_params !== null && (r.gap === Infinity || r.gap === -Infinity));
  const hidden = rows.filter((r) => r.kind === 'point' && !r.finite && r.log10_params !== null && !infinite.includes(r)).map((r) => r.model);
  const edge = infiniteEdges(rows, infinite);
  const unsized = rows.filter((r) => r.kind === 'point' && r.log10_params === null).map((r) => r.model);
  const [low, high] = domainDef(domain).methodDefs.map((m) => m.pretty) as [string, string];
  const yTitle = domainDef(domain).metric === 'correct'
    ? [`Log-odds difference`, `(${low} − ${high})`]
    : [`Mean log-probability difference`, `(${low} − ${high})`];
  const { domain: xDomain, ticks } = logAxis(rows.filter((r) => r.kind === 'point').map((r) => Number(r.model_n_params)).filter((v) => v > 0));
  const x = { field: 'model_n_params', type: 'quantitative', scale: { type: 'log', domain: xDomain, nice: false }, title: '# parameters (billions, log scale)', axis: { values: ticks, format: '~g' } };
  const subtitle = wrapLines([`Lines: least squares on log10(parameters), per family (coloured) and over all models (black, with its 95% bootstrap band: ${BOOTSTRAP_RESAMPLES} resamples of the models, seed ${BOOTSTRAP_SEED})`]);
  if (infinite.length) subtitle.push(...wrapLines(`▲ ▼ at the plot's edge: infinite log odds (a method at 0% or 100%), left out of the lines: ${infinite.map((r) => r.model).join(', ')}`));
  if (hidden.length) subtitle.push(...wrapLines(`Not shown (log odds undefined: both methods at 0% or 100%): ${hidden.join(', ')}`));
  if (unsized.length) subtitle.push(...wrapLines(`Not shown (no parameter count declared): ${unsized.join(', ')}`));
  const yScale = edge ? { scale: { domain: edge.domain, nice: false } } : {};
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
        encoding: { x, y: { field: 'band_low', type: 'quantitative', ...yScale }, y2: { field: 'band_high' } },
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
          y: { field: 'gap', type: 'quantitative', title: yTitle, ...yScale },
          color: { field: 'model_family', type: 'nominal', scale: { domain: families, range: colors }, title: 'Family' },
          shape: { field: 'model_family', type: 'nominal', scale: { domain: families, range: shapes }, title: 'Family' },
          tooltip: [{ field: 'model' }, { field: 'gap', format: '.3f' }],
        },
      },
      ...(edge ? infiniteLayers(x, edge.rows, families, colors) : []),
    ],
    config: CONFIG,
  };
}

/**
 * Infinite gaps drawn at the top (+∞) or bottom (−∞) of a y axis spanning the finite values, 0
 * and the lines, with a margin; undefined when there is none.
 */
function infiniteEdges(rows: SeriesRow[], infinite: SeriesRow[]): { domain: [number, number]; rows: Record<string, unknown>[] } | undefined {
  if (infinite.length === 0) return undefined;
  const ys = [0];
  for (const r of rows) {
    for (const v of [r.kind === 'point' && !r.finite ? null : r.gap, r.band_low, r.band_high]) if (typeof v === 'number' && Number.isFinite(v)) ys.push(v);
  }
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.15;
  const domain: [number, number] = [lo - pad, hi + pad];
  return {
    domain,
    rows: infinite.map((r) => {
      const up = Number(r.gap) > 0;
      return { model: r.model, model_family: r.model_family, model_n_params: r.model_n_params, edge_y: up ? domain[1] : domain[0], edge_label: up ? '+∞' : '−∞', edge_shape: up ? 'triangle-up' : 'triangle-down', edge_dy: up ? 12 : -12 };
    }),
  };
}

/** A triangle at the edge in the family's colour, and its "+∞"/"−∞" label inside the plot. */
function infiniteLayers(x: Record<string, unknown>, rows: Record<string, unknown>[], families: string[], colors: string[]): Record<string, unknown>[] {
  const color = { field: 'model_family', type: 'nominal', scale: { domain: families, range: colors }, legend: null };
  const y = { field: 'edge_y', type: 'quantitative' };
  return [
    { data: { values: rows }, mark: { type: 'point', filled: true, size: 120, opacity: 1 }, encoding: { x, y, color, shape: { field: 'edge_shape', type: 'nominal', scale: null, legend: null }, tooltip: [{ field: 'model' }, { field: 'edge_label', title: 'gap' }] } },
    ...[12, -12].map((dy) => ({
      data: { values: rows.filter((r) => r['edge_dy'] === dy) },
      mark: { type: 'text', dy, fontSize: 12, fontWeight: 'bold' },
      encoding: { x, y, color, text: { field: 'edge_label' } },
    })),
  ];
}

/** The metric by method against training step (log scale), one panel per model with revisions. */
export function trainingSpec(domain: Domain, rows: SeriesRow[]): Record<string, unknown> {
  const x = { field: 'training_step', type: 'quantitative', scale: { type: 'log', nice: false, padding: 10 }, title: 'Training step (log scale)', axis: { format: '~s' } };
  const color = { field: 'method_label', type: 'nominal', scale: methodScale(domain), legend: { orient: 'top', title: null, direction: 'vertical' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: domainDef(domain).title, subtitle: wrapLines(`${metricTitle(domain)}${domainDef(domain).metricNote ?? ''} over training (error bars: 95% bootstrap CI of the mean, ${BOOTSTRAP_RESAMPLES} resamples, seed ${BOOTSTRAP_SEED})`) },
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
