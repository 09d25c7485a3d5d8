// Tokenization as the scorer sees it: the README's reference ids for tiny-gpt2, agreement with
// gpt-3-encoder on task prompts, and the token-level planning of cond() (agreement, the digit_mat
// "[" + "]" merge, zero-token continuations).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { loadRuntime, type LoadedRuntime } from '../../src/lm/load.js';
import { commonPrefixLength, planConditional, planSequence, type Encode } from '../../src/lm/tokenize.js';
import { digitPrompt, sharedDir, tinyGpt2 } from './helpers.js';

let rt: LoadedRuntime;
let encode: Encode;

before(async () => {
  rt = await loadRuntime(tinyGpt2);
  encode = (t) => rt.tokenizer.encode(t);
});

test('tiny-gpt2 tokenizes the README reference strings to the reference ids', () => {
  assert.deepEqual(encode(' Hello world'), [18435, 995]);
  assert.deepEqual(encode('Mary had left.'), [24119, 550, 1364, 13]);
  assert.deepEqual(encode('$1.40'), [3, 16, 13, 1821]);
});

test('token ids equal gpt-3-encoder on task prompts (no BOS is added)', async () => {
  const { encode: gpt3 } = (await import('gpt-3-encoder')) as unknown as { encode: (s: string) => number[] };
  const problems = JSON.parse(readFileSync(path.join(sharedDir, 'data/stimuli/digit_mat/problems.json'), 'utf8')) as {
    problem_types: Array<{ problems: Array<{ grid: number[][][] }> }>;
  };
  const texts = [
    '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [',
    ...problems.problem_types.slice(0, 6).map((t) => digitPrompt(t.problems[0]!.grid)),
    'Question: A pear and a fridge together cost $140. How much does the fridge cost?\nAnswer: $20.00',
    '\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: Mary had left.\nSentence 2: Mary had referenced.\nAnswer: 1',
  ];
  for (const t of texts) assert.deepEqual(encode(t), gpt3(t), JSON.stringify(t));
});

test('planConditional: agreeing prefix, scored span from len(prefix tokens)', () => {
  const p = planConditional(encode, { prefix: 'Mary had', continuation: 'left.', separator: ' ' });
  assert.deepEqual(p.prefixIds, encode('Mary had'));
  assert.deepEqual(p.ids, encode('Mary had left.'));
  assert.equal(p.start, p.prefixIds.length);
  assert.equal(p.agree, true);
  assert.equal(p.zeroToken, false);
  assert.deepEqual(p.ids.slice(p.start), [1364, 13]);
});

test('planConditional: digit_mat "[" + "]" merges into one token, leaving zero tokens to score', () => {
  const prompt = '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [';
  const empty = planConditional(encode, { prefix: prompt, continuation: ']', separator: '' });
  assert.equal(empty.agree, false, 'the merged "[]" token differs from the prefix\'s last token');
  assert.equal(empty.ids.length, empty.prefixIds.length);
  assert.equal(empty.zeroToken, true);
  assert.equal(commonPrefixLength(empty.prefixIds, empty.ids), empty.prefixIds.length - 1);
  const three = planConditional(encode, { prefix: prompt, continuation: '3]', separator: '' });
  assert.equal(three.zeroToken, false);
  assert.ok(three.ids.length > three.start);
});

test('planConditional: empty prefix scores from the second token; planSequence from index 1', () => {
  const p = planConditional(encode, { prefix: '', continuation: 'Mary had left.', separator: '' });
  assert.equal(p.prefixIds.length, 0);
  assert.equal(p.start, 1);
  const s = planSequence(encode, 'Mary had left.');
  assert.equal(s.start, 1);
  assert.deepEqual(s.ids, [24119, 550, 1364, 13]);
});
