// The row cost model (row-cost.ts), without a model: the best row length, and pairCost per shape/device.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestRowLength, KAPPA, MIN_HIDDEN, pairCostFor, rowCost } from '../../src/lm/row-cost.js';

test('bestRowLength minimises the cost per branch token of rows repeating a prefix', () => {
  const perBranchToken = (C: number, P: number, q: number): number => rowCost(C, q) / (C - P);
  for (const q of [1 / (KAPPA * 768), 1 / (KAPPA * 2048), 1e-2]) {
    for (const P of [0, 1, 20, 100, 400]) {
      const best = bestRowLength(P, q);
      assert.ok(best > P, `C* ${best} > P ${P}`);
      const at = perBranchToken(best, P, q);
      for (const C of [P + 1, (P + best) / 2, best * 0.9, best * 1.1, best * 2, best + 1000]) {
        assert.ok(at <= perBranchToken(C, P, q) + 1e-12, `q ${q} P ${P}: C* ${best.toFixed(1)} (${at}) vs C ${C} (${perBranchToken(C, P, q)})`);
      }
    }
  }
  // 160m shape, a 20-token instruction: rows of ~350, not 1024.
  assert.equal(Math.round(bestRowLength(20, 1 / (KAPPA * 768))), 353);
  assert.equal(bestRowLength(20, 0), Infinity);
});

test('pairCostFor: from the hidden size on the CPU; none on CUDA or for a hidden size that is not a positive integer', () => {
  assert.equal(pairCostFor({ hidden: 768, device: 'cpu' }), 1 / (KAPPA * 768));
  assert.ok(pairCostFor({ hidden: 2048, device: 'cpu' }) < pairCostFor({ hidden: 768, device: 'cpu' }));
  assert.equal(pairCostFor({ hidden: 768, device: 'cuda' }), 0);
  for (const hidden of [undefined, null, '768', 0, -5, 7.5, NaN, Infinity]) assert.equal(pairCostFor({ hidden, device: 'cpu' }), 0, String(hidden));
  // Below the measured range (toy models) rows are filled as before; Pythia-70m's 512 is modelled.
  for (const hidden of [2, 64, MIN_HIDDEN - 1]) assert.equal(pairCostFor({ hidden, device: 'cpu' }), 0, `hidden ${hidden}`);
  assert.equal(pairCostFor({ hidden: 512, device: 'cpu' }), 1 / (KAPPA * 512));
});
