// Packing rows into forward batches: the token budget, the row cap, and bounded padding.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareIds, packBatches } from '../../src/lm/batching.js';

const rows = (lens: number[], past = 0) => lens.map((len) => ({ len, past }));
const lensOf = (bs: { len: number }[][]) => bs.map((b) => b.map((r) => r.len));

test('batches stay within the budget on rows × longest row and the row cap', () => {
  const out = packBatches(rows([10, 10, 10, 10, 10, 10, 10]), { batchTokens: 30, maxRows: 64 });
  assert.deepEqual(lensOf(out), [[10, 10, 10], [10, 10, 10], [10]]);
  const capped = packBatches(rows([1, 1, 1, 1, 1]), { batchTokens: 100, maxRows: 2 });
  assert.deepEqual(lensOf(capped), [[1, 1], [1, 1], [1]]);
});

test('a row over budget runs alone; long caches count against the budget too', () => {
  assert.deepEqual(lensOf(packBatches(rows([5, 200, 5]), { batchTokens: 50, maxRows: 64 })), [[5], [200], [5]]);
  // B × (P + S) <= 4 × budget: two rows of past 90 + 10 exceed 4 × 40.
  assert.deepEqual(lensOf(packBatches(rows([10, 10], 90), { batchTokens: 40, maxRows: 64 })), [[10], [10]]);
});

test('padding stays bounded: a much longer row starts a new batch', () => {
  const out = packBatches(rows([20, 20, 21, 22, 60, 61]), { batchTokens: 1000, maxRows: 64 });
  assert.deepEqual(lensOf(out), [[20, 20, 21, 22], [60, 61]]);
});

test('compareIds orders token sequences lexicographically, prefixes first', () => {
  const xs = [[3, 1], [1, 2, 3], [1, 2], [2]];
  assert.deepEqual(xs.sort(compareIds), [[1, 2], [1, 2, 3], [2], [3, 1]]);
});
