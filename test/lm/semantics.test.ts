// A hand check of the scoring semantics: recompute log-softmax from the raw logits of one full
// forward pass over the joined tokens, independently of src/lm's scoring code.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ForwardRunner } from '../../src/lm/forward.js';
import { loadLanguageModel, type LoadedLanguageModel } from '../../src/lm/index.js';
import { loadRuntime, type LoadedRuntime } from '../../src/lm/load.js';
import { allLogitsPlain } from '../../src/lm/plain.js';
import { tinyGpt2 } from './helpers.js';

let rt: LoadedRuntime;
let runner: ForwardRunner;
let plain: LoadedLanguageModel;
let fast: LoadedLanguageModel;

before(async () => {
  rt = await loadRuntime(tinyGpt2);
  runner = new ForwardRunner(rt, { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 });
  plain = await loadLanguageModel(tinyGpt2, { plain: true });
  fast = await loadLanguageModel(tinyGpt2);
});
after(async () => Promise.all([plain.dispose(), fast.dispose(), rt.model.dispose()]));

/** log p(target) from a raw logits row, written out here on purpose (no src/lm helpers). */
function handLogProb(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - max);
  return row[target]! - max - Math.log(z);
}

test('cond("Mary had", "left.", " ") = Σ log-softmax of the joined tokens from len(prefix tokens) on', async () => {
  const joined = rt.tokenizer.encode('Mary had left.');
  const prefixLen = rt.tokenizer.encode('Mary had').length;
  assert.deepEqual(joined, [24119, 550, 1364, 13]);
  assert.equal(prefixLen, 2);
  const rows = await allLogitsPlain(runner, joined);
  assert.equal(rows[0]!.length, 50257, 'full logits width');
  const expected = [handLogProb(rows[1]!, 1364), handLogProb(rows[2]!, 13)];
  for (const lm of [plain, fast]) {
    const [sum] = await lm.conditional([{ prefix: 'Mary had', continuation: 'left.', separator: ' ' }], 'sum');
    const [mean] = await lm.conditional([{ prefix: 'Mary had', continuation: 'left.', separator: ' ' }], 'mean');
    assert.deepEqual(sum!.tokenIds, [1364, 13]);
    assert.ok(Math.abs(sum!.tokenLogprobs[0]! - expected[0]!) < 1e-5);
    assert.ok(Math.abs(sum!.tokenLogprobs[1]! - expected[1]!) < 1e-5);
    assert.ok(Math.abs(sum!.logprob - (expected[0]! + expected[1]!)) < 1e-5);
    assert.ok(Math.abs(mean!.logprob - (expected[0]! + expected[1]!) / 2) < 1e-5);
    assert.ok(sum!.logprob < 0);
  }
});

test('seq("Mary had left.") sums tokens 1..n-1; nextTokenLogits is the last raw row', async () => {
  const ids = [24119, 550, 1364, 13];
  const rows = await allLogitsPlain(runner, ids);
  const expected = handLogProb(rows[0]!, 550) + handLogProb(rows[1]!, 1364) + handLogProb(rows[2]!, 13);
  for (const lm of [plain, fast]) {
    const [s] = await lm.sequence(['Mary had left.']);
    assert.ok(Math.abs(s!.logprob - expected) < 1e-5, `${s!.logprob} vs ${expected}`);
    const [last] = await lm.nextTokenLogits(['Mary had left.']);
    let d = 0;
    rows[3]!.forEach((v, i) => (d = Math.max(d, Math.abs(v - last![i]!))));
    assert.ok(d < 1e-5);
  }
});

test('positions start at 0 in a right-padded batch: a padded row equals the row alone', async () => {
  const a = rt.tokenizer.encode('Every package must have a maintainer.');
  const b = rt.tokenizer.encode('Mary had left.');
  const batch = await runner.run([{ ids: a }, { ids: b }]);
  const alone = await allLogitsPlain(runner, b);
  b.forEach((_, j) => {
    let d = 0;
    alone[j]!.forEach((v, i) => (d = Math.max(d, Math.abs(v - batch.row(1, j)[i]!))));
    assert.ok(d < 1e-4, `position ${j}: ${d}`);
  });
});
