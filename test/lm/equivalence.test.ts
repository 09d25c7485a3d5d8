// The fast path (batched, shared prefixes on cached key/values, reused logits) returns the plain
// path's numbers within 1e-4 per value, and computes fewer forward tokens doing it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LoadedLanguageModel } from '../../src/lm/index.js';
import type { ConditionalRequest, ConditionalResult } from '../../src/lm/types.js';
import { loadPair, maxAbsDiff } from './helpers.js';

const TOL = 1e-4;
let plain: LoadedLanguageModel;
let fast: LoadedLanguageModel;

before(async () => ({ plain, fast } = await loadPair()));
after(async () => {
  await plain.dispose();
  await fast.dispose();
});

function assertSameConditional(a: ConditionalResult[], b: ConditionalResult[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.deepEqual(y.tokenIds, x.tokenIds, `request ${i} token ids`);
    assert.deepEqual(y.prefixIds, x.prefixIds, `request ${i} prefix ids`);
    assert.ok(maxAbsDiff(x.tokenLogprobs, y.tokenLogprobs) <= TOL, `request ${i} token logprobs`);
    assert.ok(Math.abs(x.logprob - y.logprob) <= TOL, `request ${i}: ${x.logprob} vs ${y.logprob}`);
  });
}

const digit = '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [';
const crt = 'Question: A bat and a ball cost $1.10 in total. How much does the ball cost?\nAnswer:';
const meta = (s1: string, s2: string) =>
  `\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: ${s1}\nSentence 2: ${s2}\nAnswer:`;

const REQUESTS: ConditionalRequest[] = [
  // digit_mat: empty separator, 8 choices of one prompt, one of them merging into a zero-token continuation
  ...['3]', '6]', ']', '1]', '6 4 1]', '9 9]', '0]', '3 3 3 3]'].map((c) => ({ prefix: digit, continuation: c, separator: '' })),
  // crt: the same prompt with money options of several tokens
  ...['$0.05', '$0.10', '$1.10', '$1.00', '$0.05', '$1,000.00'].map((c) => ({ prefix: crt, continuation: c, separator: ' ' })),
  // blimp meta: one-token continuations of two long prompts
  ...['1', '2'].flatMap((c) => [
    { prefix: meta('Mary had left.', 'Mary had referenced.'), continuation: c, separator: ' ' },
    { prefix: meta('Mary had referenced.', 'Mary had left.'), continuation: c, separator: ' ' },
  ]),
  // lambada-like single requests, an empty prefix, an empty continuation
  { prefix: 'He looked at the door and opened the', continuation: 'window', separator: ' ' },
  { prefix: 'The debian policy manual says that every package must', continuation: 'comply', separator: ' ' },
  { prefix: '', continuation: 'Fortune cookies are sweet.', separator: '' },
  { prefix: 'Nothing follows', continuation: '', separator: '' },
];

test('conditional, sum and mean: fast equals plain (shared prefixes, empty separator, zero-token)', async () => {
  for (const reduction of ['sum', 'mean'] as const) {
    const z0 = fast.stats.zeroTokenContinuations;
    const a = await plain.conditional(REQUESTS, reduction);
    const b = await fast.conditional(REQUESTS, reduction);
    assertSameConditional(a, b);
    // The "[" + "]" merge and the empty continuation score exactly 0.0 and are counted.
    assert.equal(b[2]!.logprob, 0);
    assert.equal(b[2]!.tokenIds.length, 0);
    assert.equal(b.at(-1)!.logprob, 0);
    assert.equal(fast.stats.zeroTokenContinuations - z0, 2);
    // Mean is sum divided by the number of scored tokens.
    if (reduction === 'mean') {
      const sums = await plain.conditional(REQUESTS.slice(8, 14), 'sum');
      sums.forEach((s, i) => assert.ok(Math.abs(s.logprob / s.tokenIds.length - a[8 + i]!.logprob) < 1e-9));
    }
  }
});

test('conditional: the fast path computes at most half the forward tokens on shared prompts', async () => {
  const shared = REQUESTS.slice(0, 18);
  const p0 = plain.stats.forwardTokens;
  const f0 = fast.stats.forwardTokens;
  assertSameConditional(await plain.conditional(shared, 'sum'), await fast.conditional(shared, 'sum'));
  const p = plain.stats.forwardTokens - p0;
  const f = fast.stats.forwardTokens - f0;
  assert.ok(f * 2 <= p, `fast ${f} vs plain ${p} forward tokens`);
});

test('conditional: requests in any order and duplicates give the same numbers', async () => {
  const shuffled = [...REQUESTS].reverse().concat(REQUESTS.slice(0, 3));
  assertSameConditional(await plain.conditional(shuffled, 'sum'), await fast.conditional(shuffled, 'sum'));
});

const SENTENCES = [
  'Mary had left.',
  'Mary had referenced.',
  "Some person's tutor arrived at every library.",
  "Some person's tutor nodded every library.",
  'The new executive who oversaw the middle managers apparently doubted himself.',
  'The new executive who oversaw the middle managers apparently doubted themselves.',
  'Hi',
  'Every package must have a maintainer, and the maintainer must be reachable by email.',
];

test('sequence: fast equals plain, including shared sentence beginnings and one-token texts', async () => {
  const a = await plain.sequence(SENTENCES);
  const b = await fast.sequence(SENTENCES);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.deepEqual(y.inputIds, x.inputIds);
    assert.deepEqual(y.tokenIds, x.inputIds.slice(1));
    assert.equal(y.tokenLogprobs.length, x.inputIds.length - 1);
    assert.ok(maxAbsDiff(x.tokenLogprobs, y.tokenLogprobs) <= TOL, `sentence ${i}`);
    assert.ok(Math.abs(x.logprob - y.logprob) <= TOL);
  });
  assert.equal(b[6]!.logprob, 0, 'a one-token text has nothing to score');
});

test('nextTokenLogits: fast equals plain, fresh and reusing the conditional pass', async () => {
  const metaWord = (t: string) => `What word is most likely to come next in the following text?\nText: ${t}\nPrediction:`;
  const prefixes = [
    'He looked at the door and opened the',
    'A completely new text about packages',
    'Hi',
    metaWord('The cat sat on the'),
    metaWord('Every package must'),
    'Hi',
  ];
  const plainRows = await plain.nextTokenLogits(prefixes);
  // Fresh: nothing cached for the second and third text.
  const calls0 = fast.stats.forwardCalls;
  const fastRows = await fast.nextTokenLogits(prefixes);
  plainRows.forEach((r, i) => {
    assert.equal(r.length, fast.info.vocabSize);
    assert.ok(maxAbsDiff(r, fastRows[i]!) <= TOL, `text ${i}`);
  });
  assert.ok(fast.stats.forwardCalls > calls0);
  // Reuse: after conditional on new prefixes, their next-token logits cost no forward pass.
  const lambada = ['The maintainer uploaded a new version of the', 'She opened the box and found a'];
  await fast.conditional(lambada.map((p) => ({ prefix: p, continuation: 'package', separator: ' ' })), 'sum');
  const before = fast.stats.forwardTokens;
  const reused = await fast.nextTokenLogits(lambada);
  assert.equal(fast.stats.forwardTokens, before, 'served from the conditional pass');
  const reference = await plain.nextTokenLogits(lambada);
  reference.forEach((r, i) => assert.ok(maxAbsDiff(r, reused[i]!) <= TOL, `reused ${i}`));
});

test('inputs over the context length fail with a message naming the request and the limit', async () => {
  const long = 'word' + ' word'.repeat(299);
  for (const lm of [plain, fast]) {
    await assert.rejects(lm.conditional([{ prefix: 'ok', continuation: 'fine', separator: ' ' }, { prefix: long, continuation: 'x', separator: ' ' }], 'sum'),
      /conditional request 1 has 30\d tokens, more than the model's context length 256/);
    await assert.rejects(lm.sequence([long]), /sequence text 0 has \d+ tokens.*256/);
    await assert.rejects(lm.nextTokenLogits(['fine', long]), /nextTokenLogits text 1 .*256/);
  }
  assert.equal(fast.countTokens(long), 300);
});

test('without a usable key/value cache input the fast path still batches and still agrees', async () => {
  const { ForwardRunner } = await import('../../src/lm/forward.js');
  const { loadRuntime } = await import('../../src/lm/load.js');
  const { scoreItemsFast } = await import('../../src/lm/fast.js');
  const { planConditional } = await import('../../src/lm/tokenize.js');
  const { tinyGpt2 } = await import('./helpers.js');
  const rt = await loadRuntime(tinyGpt2);
  const stats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 };
  const runner = new ForwardRunner(rt, stats);
  Object.defineProperty(runner, 'supportsPast', { value: false });
  const reqs = REQUESTS.slice(0, 18);
  const items = reqs.map((r) => planConditional((t) => rt.tokenizer.encode(t), r));
  const res = await scoreItemsFast(runner, items, { batchTokens: 64, maxRows: 4 });
  const ref = await plain.conditional(reqs, 'sum');
  res.forEach((r, i) => assert.ok(maxAbsDiff(r.tokenLogprobs, ref[i]!.tokenLogprobs) <= TOL, `request ${i}`));
  assert.ok(stats.forwardCalls < reqs.length, 'batched');
  await rt.model.dispose();
});

test('near the context length: long caches beside long tails, and generation that must stop at the context, agree with plain', async () => {
  const { loadLanguageModel } = await import('../../src/lm/index.js');
  const { tinyGpt2 } = await import('./helpers.js');
  const wide = await loadLanguageModel(tinyGpt2, { batchTokens: 4096 });
  const longPrefix = 'word' + ' word'.repeat(239); // 240 tokens
  const longCont = 'text' + ' text'.repeat(228);
  const reqs = [
    { prefix: longPrefix, continuation: 'one more thing', separator: ' ' },
    { prefix: longPrefix, continuation: 'and another', separator: ' ' },
    { prefix: 'Hi there', continuation: longCont, separator: ' ' },
    { prefix: 'Hi there', continuation: longCont + ' end', separator: ' ' },
  ];
  const a = await plain.conditional(reqs, 'sum');
  const b = await wide.conditional(reqs, 'sum');
  a.forEach((x, i) => assert.ok(Math.abs(x.logprob - b[i]!.logprob) <= TOL, `request ${i}`));
  // Generation: a prompt with room for fewer new tokens than asked runs alone, shortened.
  const prompts = [longPrefix + ' word word word word word word word word word', 'Hello'];
  const g = await wide.generate(prompts, 10);
  assert.deepEqual(g, await plain.generate(prompts, 10));
  assert.equal(g[0]!.promptIds.length + g[0]!.newTokenIds.length, 256);
  await wide.dispose();
});
