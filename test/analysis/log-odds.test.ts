import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toCsv } from '../../src/analysis/csv-io.js';
import { logOdds, logOddsDiff, logprobDiff } from '../../src/analysis/log-odds.js';
import { buildLong } from '../../src/analysis/long.js';
import { buildWide } from '../../src/analysis/wide.js';
import { digitMat, lambada } from './fixtures.js';

test('log odds: ln(p/(1−p)), −∞ at 0 and +∞ at 1', () => {
  assert.equal(logOdds(0.5), 0);
  assert.ok(Math.abs(logOdds(0.75) - Math.log(3)) < 1e-15);
  assert.equal(logOdds(0), -Infinity);
  assert.equal(logOdds(1), Infinity);
});

test('log-odds difference per model, low − high demand, with p = 0 and p = 1 kept infinite', () => {
  const files = [
    // forced choice 3/4, production 1/4: 2·ln 3
    digitMat('alpha-1b', '', [[false, true], [false, true], [true, true], [false, false]]),
    // forced choice 2/2 (+∞), production 0/2 (−∞): +∞
    digitMat('alpha-10b', '', [[false, true], [false, true]]),
    // both 1/1: ∞ − ∞ is undefined (NaN, written empty)
    digitMat('beta-2b', '', [[true, true]]),
  ];
  const long = buildLong('digit_mat', buildWide('digit_mat', files, { scope: 'size' }), 'size');
  const t = logOddsDiff('digit_mat', long);
  assert.equal(t.rows.length, 3);
  // Rows in the tables' order: models by short name (alpha-10b, alpha-1b, beta-2b).
  const [b, a, c] = t.rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.equal(b.model, 'Alpha 10B');
  assert.deepEqual([a.model, a.low_demand_method, a.high_demand_method, a.n_low, a.p_low, a.p_high], ['Alpha 1B', 'mc', 'generated', 4, 0.75, 0.25]);
  assert.ok(Math.abs((a.log_odds_diff as number) - 2 * Math.log(3)) < 1e-12);
  assert.equal(b.log_odds_low, Infinity);
  assert.equal(b.log_odds_high, -Infinity);
  assert.equal(b.log_odds_diff, Infinity);
  assert.ok(Number.isNaN(c.log_odds_diff as number));
  const lines = toCsv(t).trim().split('\n');
  assert.match(lines[1]!, /,inf,-inf,inf$/);
  assert.match(lines[3]!, /,inf,inf,$/);
});

test('lambada: mean direct, mean meta and mean difference per model', () => {
  const wide = buildWide('lambada', [lambada('alpha-1b', '', [[-1, -3], [-2, -2.5]]), lambada('beta-2b', '', [[-4, -4]])], { scope: 'size' });
  const t = logprobDiff(wide);
  assert.deepEqual(t.rows.map((r) => [r.model, r.n, r.mean_direct_logprob, r.mean_meta_logprob, r.mean_logprob_diff]), [
    ['Alpha 1B', 2, -1.5, -2.75, 1.25],
    ['Beta 2B', 1, -4, -4, 0],
  ]);
});
