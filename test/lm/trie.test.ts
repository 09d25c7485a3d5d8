// The fast path's compressed token trie: which tokens run once and which per item.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrie, type TrieNode } from '../../src/lm/fast.js';

/** A readable shape: [from, to) and items, nested. */
const shape = (n: TrieNode): unknown => [`${n.from}-${n.to}`, n.items, ...n.children.map(shape)];

test('items sharing a prompt share one node; each continuation keeps its own tail', () => {
  // Inputs are ids[0..n-2]: the last token is scored but never fed. Items are listed in the
  // sorted order of their inputs (item 1's input is a prefix of item 0's).
  const items = [
    { ids: [1, 2, 3, 10, 11], start: 3 }, // input 1 2 3 10
    { ids: [1, 2, 3, 20], start: 3 }, //     input 1 2 3
    { ids: [1, 2, 3, 30, 31, 32], start: 3 }, // input 1 2 3 30 31
    { ids: [1, 2, 4, 5], start: 1 }, //       input 1 2 4
    { ids: [9, 8], start: 1 }, //             input 9
  ];
  const top = buildTrie(items);
  assert.deepEqual(top.map(shape), [
    ['0-2', [1, 0, 2, 3], ['2-3', [1, 0, 2], ['3-4', [0]], ['3-5', [2]]], ['2-3', [3]]],
    ['0-1', [4]],
  ]);
});

test('identical inputs end in one node; items with nothing to score are left out', () => {
  const items = [
    { ids: [5, 6, 7, 1], start: 3 }, // G + " 1"
    { ids: [5, 6, 7, 2], start: 3 }, // G + " 2"
    { ids: [5, 6, 7], start: 3 }, //    zero-token continuation
    { ids: [4], start: 1 }, //          one-token sequence
  ];
  assert.deepEqual(buildTrie(items).map(shape), [['0-3', [0, 1]]]);
});
