// The parameter count build-model records equals the number of values in the weights it writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTinyModelOptions, tinyModelParameters } from '../../src/tinymodel/options.js';
import { makeWeights } from '../../src/tinymodel/weights.js';

test('tinyModelParameters counts every weight once (tied LM head)', () => {
  for (const opts of [{ seed: 1 }, { seed: 2, nEmbd: 64, nLayer: 2, nHead: 4 }, { seed: 3, nLayer: 3, nPositions: 64 }]) {
    const r = resolveTinyModelOptions(opts);
    const n = makeWeights(r, r.seed, r.variant).reduce((a, w) => a + w.data.length, 0);
    assert.equal(tinyModelParameters(opts), n, JSON.stringify(opts));
  }
});
