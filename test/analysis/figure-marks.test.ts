// What the rendered figures show where a bar has no height or a gap is infinite: a 0 % bar is a
// visible tick with a "0" label, an infinite log-odds difference is a triangle at the plot's edge
// labelled "+∞"/"−∞", and the canvas is about as wide as the plot (not stretched by one-line text).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row, Table } from '../../src/analysis/csv-io.js';
import { byMethodSpec, gapVsSizeSpec, wrapLines } from '../../src/analysis/figure-specs.js';
import { renderSvg } from '../../src/analysis/render.js';
import { byMethodSeries, gapVsSizeSeries } from '../../src/analysis/series.js';

const canvasWidth = (svg: string): number => Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1]);

test('by-method bars: a method at 0 % is drawn (a tick in its colour and a "0" label); the canvas fits the plot', async () => {
  const rows: Row[] = [];
  for (const [model, n, method, values] of [
    ['Demo 2M', 0.002, 'mc', [true, false, false]], ['Demo 2M', 0.002, 'generated', [false, false, false]],
    ['Demo 4M', 0.004, 'mc', [true, true, false]], ['Demo 4M', 0.004, 'generated', [true, false, false]],
  ] as const) {
    for (const v of values) rows.push({ model, model_family: 'Demo', model_n_params: n, eval_method: method, response_correct: v });
  }
  const long: Table = { columns: ['model', 'model_family', 'model_n_params', 'eval_method', 'response_correct'], rows };
  const series = byMethodSeries('crt', long, []);
  assert.equal(series.filter((r) => r.mean === 0).length, 1);
  const svg = await renderSvg(byMethodSpec('crt', series, []));
  // Vega draws the tick as a 3 px high rect path in the method's colour.
  const ticks = svg.match(/<path[^>]*aria-roledescription="tick"[^>]*>/g) ?? [];
  assert.equal(ticks.length, 1, 'one tick: the production bar at 0');
  assert.match(ticks[0]!, /mean: 0; method_label: Production/);
  assert.match(ticks[0]!, /h\d+(\.\d+)?v3h/, 'a visible 3 px stub');
  assert.match(ticks[0]!, /fill="#e8743b"/, 'in the production colour');
  assert.match(svg, /aria-roledescription="text mark container"><text[^>]*mean: 0[^>]*>0<\/text>/, 'a "0" label');
  assert.ok(canvasWidth(svg) < 500, `canvas ${canvasWidth(svg)} px for two models (956 px when the subtitle was one line)`);
});

test('gap vs size: an infinite log-odds difference is a triangle at the edge with a ∞ label, in the figure itself', async () => {
  const gap: Table = {
    columns: [],
    rows: [
      { model: 'A 1B', model_family: 'A', model_n_params: 1, log_odds_diff: 2 },
      { model: 'A 10B', model_family: 'A', model_n_params: 10, log_odds_diff: 1 },
      { model: 'A 100B', model_family: 'A', model_n_params: 100, log_odds_diff: Infinity },
      { model: 'A 300B', model_family: 'A', model_n_params: 300, log_odds_diff: -Infinity },
    ],
  };
  const spec = gapVsSizeSpec('crt', gapVsSizeSeries('crt', gap, []), []);
  const svg = await renderSvg(spec);
  assert.match(svg, />\+∞<\/text>/);
  assert.match(svg, />−∞<\/text>/);
  // Two finite points and the two edge triangles.
  const points = svg.match(/aria-roledescription="point"/g) ?? [];
  assert.equal(points.length, 4);
  assert.match(svg, /aria-label="[^"]*model: A 100B; gap: \+∞"/);
  assert.ok(canvasWidth(svg) < 800, `canvas ${canvasWidth(svg)} px for a 440 px plot`);
  // Without infinite gaps nothing changes: no edge layer, no explicit y domain.
  const finite = gapVsSizeSpec('crt', gapVsSizeSeries('crt', { columns: [], rows: gap.rows.slice(0, 2) }, []), []);
  assert.doesNotMatch(JSON.stringify(finite), /edge_y/);
});

test('subtitle lines are wrapped at word boundaries', () => {
  assert.deepEqual(wrapLines('aa bb cc dd', 5), ['aa bb', 'cc dd']);
  assert.deepEqual(wrapLines(['one', 'two three'], 20), ['one', 'two three']);
});
