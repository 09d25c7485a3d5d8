// tokenizerMaxId: the largest id a tokenizer.json can produce, read from the file's own tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenizerMaxId } from '../../src/util/tokenizer-ids.js';

test('tokenizerMaxId: the largest of a BPE vocabulary\'s ids and the added tokens\' ids', () => {
  const vocab: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) vocab[`t${i}`] = (i * 7919) % 5000;
  assert.equal(tokenizerMaxId({ model: { vocab } }), 4999);
  assert.equal(tokenizerMaxId({ model: { vocab }, added_tokens: [{ id: 6000 }, { id: 12 }] }), 6000);
  // Ids that are not numbers are not ids; a Unigram vocabulary is an array by id.
  assert.equal(tokenizerMaxId({ model: { vocab: { a: 3, b: '99', c: null } } }), 3);
  assert.equal(tokenizerMaxId({ model: { vocab: [['a', 0], ['b', -1], ['c', -2]] } }), 2);
  // A hostile vocabulary's keys are only keys: "__proto__" and "constructor" are tokens like any other.
  assert.equal(tokenizerMaxId(JSON.parse('{"model":{"vocab":{"__proto__":7,"constructor":9,"a":1}}}') as Record<string, unknown>), 9);
  assert.equal(tokenizerMaxId(JSON.parse('{"model":{"vocab":{"__proto__":{"x":1e18},"a":4}}}') as Record<string, unknown>), 4);
  assert.equal(tokenizerMaxId({ model: {} }), null);
  assert.equal(tokenizerMaxId({}), null);
});
