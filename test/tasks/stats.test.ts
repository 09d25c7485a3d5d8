// The lambada measures' fast paths (packed-key sort for ranks, heap selection for the top ids)
// against the plain comparator sorts they replace, on vocabulary-wide rows with ties, signed zeros,
// infinities and NaN.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averageRanks, spearman, topIds } from '../../src/tasks/stats.js';

function referenceRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  // As the code before the fast path: a typed array sorted by a comparator (with NaN, the order is
  // the sort algorithm's own, so the reference must use the same one).
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function referenceTop(values: ArrayLike<number>, k: number): number[] {
  const ids = Array.from({ length: values.length }, (_, i) => i);
  ids.sort((a, b) => values[b]! - values[a]! || a - b);
  return ids.slice(0, Math.min(k, ids.length)).sort((a, b) => a - b);
}

/** A seeded logits-like row: coarse values (many ties), both zeros, a few infinities. */
function row(n: number, seed: number, coarse: number): Float32Array {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round((rnd() - 0.5) * 40 * coarse) / coarse;
  for (let i = 0; i < n; i += 97) out[i] = rnd() < 0.5 ? -0 : 0;
  out[3] = Infinity;
  out[n - 5] = -Infinity;
  return out;
}

test('averageRanks: the packed-key sort gives the comparator sort\'s ranks on float32 rows', () => {
  for (const [n, seed, coarse] of [[50304, 1, 8], [50304, 2, 1000], [1000, 3, 1], [2, 4, 1]] as const) {
    const v = row(n, seed, coarse);
    assert.deepEqual(averageRanks(v), referenceRanks(v), `n=${n} seed=${seed}`);
  }
  // -0 and +0 are one tie group, as === and the comparator see them.
  assert.deepEqual([...averageRanks(new Float32Array([0, -0, 1, -0]))], [2, 2, 4, 2]);
});

test('averageRanks: a row with NaN, a subarray view and a plain array take the same ranks as the reference', () => {
  const v = row(5000, 7, 4);
  v[10] = NaN;
  assert.deepEqual(averageRanks(v), referenceRanks(v));
  const big = row(3000, 8, 4);
  const view = big.subarray(1000, 2500);
  assert.deepEqual(averageRanks(view), referenceRanks(view));
  const plain = Array.from(row(3000, 9, 4));
  assert.deepEqual(averageRanks(plain), referenceRanks(plain));
});

test('topIds: the heap selection gives the sort\'s ids (ties: lower id first), for every k', () => {
  for (const [n, seed, coarse] of [[50304, 11, 2], [50304, 12, 1000], [300, 13, 1]] as const) {
    const v = row(n, seed, coarse);
    for (const k of [1, 2, 100, n - 1, n, n + 5]) assert.deepEqual(topIds(v, k), referenceTop(v, k), `n=${n} k=${k}`);
  }
  const withNaN = row(2000, 14, 1);
  withNaN[100] = NaN;
  assert.deepEqual(topIds(withNaN, 100), referenceTop(withNaN, 100));
  assert.deepEqual(topIds([5, 9, 9, 1, 7], 2.5), referenceTop([5, 9, 9, 1, 7], 2.5));
});

test('spearman over a float32 row equals spearman over the same values as doubles', () => {
  const a = row(50304, 21, 100);
  const b = row(50304, 22, 100);
  assert.deepEqual(spearman(a, b), spearman(Array.from(a), Array.from(b)));
});
