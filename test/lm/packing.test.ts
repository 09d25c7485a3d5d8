// Token-tree packing for the scoring graph, checked without a model: a fake graph "computes" each
// score from exactly what the mask lets the scored slot see (tokens with their positions, in slot
// order), and the reference computes the same from the item's own sequence, as a causal pass over
// ids[0..p] would. Equal keys mean the packed row gives that slot the plain path's context.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastItem } from '../../src/lm/fast.js';
import { batchRows, batchTensors, packRows, type PackedBatch, type PackLimits, type TreeRow } from '../../src/lm/packing.js';
import { bestRowLength, pairCostFor, rowCost } from '../../src/lm/row-cost.js';
import type { GraphOutput } from '../../src/lm/score-graph.js';
import { scoreItemsTree, type TreeStats } from '../../src/lm/tree.js';

const V = 3;

/** Distinct numbers for distinct (context, target) keys. */
class Registry {
  private readonly ids = new Map<string, number>();
  id(key: string): number {
    let v = this.ids.get(key);
    if (v === undefined) this.ids.set(key, (v = this.ids.size + 1));
    return v;
  }
}

const ctxKey = (pairs: Array<[number, number]>): string => pairs.map(([t, p]) => `${t}@${p}`).join(' ');

function fakeGraph(reg: Registry, calls: PackedBatch[]) {
  return {
    async run(b: PackedBatch): Promise<GraphOutput> {
      calls.push(b);
      const seen = (row: number, q: number): Array<[number, number]> => {
        const out: Array<[number, number]> = [];
        for (let s = 0; s < b.T; s++) {
          if (b.mask[(row * b.T + q) * b.T + s]) out.push([Number(b.inputIds[row * b.T + s]), Number(b.positionIds[row * b.T + s])]);
        }
        return out;
      };
      const logprobs = new Float32Array(b.B * b.K);
      for (let r = 0; r < b.B; r++) {
        for (let k = 0; k < b.K; k++) {
          const q = Number(b.scorePositions[r * b.K + k]);
          logprobs[r * b.K + k] = reg.id(`${ctxKey(seen(r, q))}|${b.targetIds[r * b.K + k]}`);
        }
      }
      const logits = new Float32Array(b.B * b.L * V);
      for (let r = 0; r < b.B; r++) {
        for (let l = 0; l < b.L; l++) logits[(r * b.L + l) * V] = reg.id(`${ctxKey(seen(r, Number(b.logitsPositions[r * b.L + l])))}|row`);
      }
      return { logprobs, logits, vocab: V };
    },
  };
}

/** What a causal pass over the item alone sees at position p (window: keys at most w behind). */
function reference(reg: Registry, it: FastItem, window: number | null): { scores: number[]; captured: number | null } {
  const at = (p: number): Array<[number, number]> => {
    const lo = window === null ? 0 : Math.max(0, p - window);
    return it.ids.slice(lo, p + 1).map((t, j): [number, number] => [t, lo + j]);
  };
  const scores: number[] = [];
  for (let p = it.start - 1; p <= it.ids.length - 2; p++) scores.push(reg.id(`${ctxKey(at(p))}|${it.ids[p + 1]}`));
  const captured = it.capture !== undefined && it.ids.length > it.start ? reg.id(`${ctxKey(at(it.capture))}|row`) : null;
  return { scores, captured };
}

const stats = (): TreeStats => ({ forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 });

// A prompt with 8 choices (one merging into the prompt: nothing to score), two prompts sharing
// their instructions, a conditional + its capture, sequences beginning alike, a one-token item.
const ITEMS: FastItem[] = [
  ...[[7], [8, 9], [7, 7, 7], [10], [11, 12, 13], [14], [15, 16], [17]].map((c) => ({ ids: [1, 2, 3, 4, 5, ...c], start: 5, capture: 4 })),
  { ids: [1, 2, 3, 4, 5], start: 5 },
  { ids: [20, 21, 22, 23, 30, 31, 40], start: 6 },
  { ids: [20, 21, 22, 23, 31, 30, 40], start: 6 },
  { ids: [50, 51, 52, 53], start: 3, capture: 2 },
  { ids: [50, 51, 52, 0], start: 3, capture: 2 },
  { ids: [60, 61, 62, 63, 64], start: 1 },
  { ids: [60, 61, 70, 71], start: 1 },
  { ids: [60, 61, 70, 72, 73], start: 1 },
  { ids: [80], start: 1 },
];

async function check(items: FastItem[], limits: PackLimits): Promise<PackedBatch[]> {
  const reg = new Registry();
  const calls: PackedBatch[] = [];
  const st = stats();
  const res = await scoreItemsTree(fakeGraph(reg, calls), items, limits, 0, st);
  items.forEach((it, i) => {
    const ref = reference(reg, it, limits.slidingWindow ?? null);
    assert.deepEqual(res[i]!.tokenLogprobs, ref.scores, `item ${i} scores`);
    assert.equal(res[i]!.captured ? res[i]!.captured![0] : null, ref.captured, `item ${i} captured row`);
  });
  assert.equal(st.forwardCalls, calls.length);
  assert.equal(st.paddedForwardTokens, calls.reduce((a, b) => a + b.B * b.T, 0));
  return calls;
}

const ROOMY: PackLimits = { batchTokens: 4096, maskElements: 1 << 24, maxRows: 64, rowTokens: 1024 };

test('tree rows give every scored slot exactly its own causal context (positions restart per branch)', async () => {
  const calls = await check(ITEMS, ROOMY);
  // Each shared prefix is fed once: 5 prompt tokens + the choices' own inputs, etc.
  const fed = calls.reduce((a, b) => a + b.realTokens, 0);
  const alone = ITEMS.reduce((a, it) => a + (it.ids.length > it.start ? it.ids.length - 1 : 0), 0);
  assert.ok(fed < alone * 0.6, `fed ${fed} of ${alone} tokens`);
  // The digit_mat-like prompt is one row: prefix once, then the choices' inputs ([7 7], [8],
  // [11 12], [15]; the others end at the prompt), each starting at position 5.
  const rows = packRows(ITEMS.slice(0, 9), ROOMY);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0]!.tokens.slice(0, 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(rows[0]!.positions, [0, 1, 2, 3, 4, 5, 6, 5, 5, 6, 5]);
  // The capture at the prompt's last token is asked for once, for all 8 items.
  assert.equal(rows[0]!.logits.length, 1);
  assert.equal(rows[0]!.logits[0]!.items.length, 8);
});

test('small budgets: subtrees split into rows repeating their prefix, batches within B×T and B×T×T', async () => {
  const limits: PackLimits = { batchTokens: 12, maskElements: 100, maxRows: 3, rowTokens: 7 };
  const calls = await check(ITEMS, limits);
  for (const b of calls) {
    if (b.B > 1) {
      assert.ok(b.B * b.T <= limits.batchTokens, `B×T ${b.B}×${b.T}`);
      assert.ok(b.B * b.T * b.T <= limits.maskElements, `mask ${b.B}×${b.T}²`);
      assert.ok(b.B <= limits.maxRows);
    }
  }
  assert.ok(calls.length > 3);
  // Rows are capped (a single subtree larger than the cap is split)
  for (const r of packRows(ITEMS, limits)) assert.ok(r.tokens.length <= limits.rowTokens || r.scores.length > 0);
});

test('a row over the token cap alone still scores (one long sequence)', async () => {
  const long = Array.from({ length: 40 }, (_, i) => 100 + i);
  await check([{ ids: long, start: 1 }, { ids: [...long.slice(0, 30), 7, 8], start: 31 }], { batchTokens: 8, maskElements: 64, maxRows: 2, rowTokens: 10 });
});

test('sliding window: keys more than W positions behind a query are hidden, also across branches', async () => {
  await check(ITEMS, { ...ROOMY, slidingWindow: 2 });
  await check(ITEMS, { ...ROOMY, slidingWindow: 2, rowTokens: 7 });
});

test('padding: pad slots see only themselves and no real slot sees a pad; padded score entries are ignored', () => {
  const rows = packRows([{ ids: [1, 2, 3, 4], start: 1 }, { ids: [5, 6], start: 1 }], ROOMY);
  const b = batchTensors(batchRows(rows, ROOMY)[0]!, 99);
  assert.equal(b.B, 2);
  assert.equal(b.T, 3);
  const short = rows.findIndex((r) => r.tokens.length === 1);
  const shortRow = b.rows.indexOf(rows[short]!);
  for (let q = 1; q < b.T; q++) {
    for (let s = 0; s < b.T; s++) assert.equal(b.mask[(shortRow * b.T + q) * b.T + s], s === q ? 1 : 0, `pad ${q} sees ${s}`);
  }
  assert.equal(b.mask[(shortRow * b.T) * b.T + 1], 0, 'the real token does not see the pad');
  assert.equal(Number(b.inputIds[shortRow * b.T + 1]), 99);
  assert.equal(b.K, 3);
  assert.equal(b.L, 0);
});

test('zero-token continuations and one-token texts are not packed at all', () => {
  assert.deepEqual(packRows([{ ids: [1, 2], start: 2 }, { ids: [3], start: 1 }], ROOMY), []);
});

test('the same (slot, target) is gathered once for every item that asks for it', () => {
  const rows = packRows([{ ids: [1, 2, 3], start: 1 }, { ids: [1, 2, 3], start: 2 }, { ids: [1, 2, 4], start: 1 }], ROOMY);
  assert.equal(rows.length, 1);
  // slot 0 → 2 (items 0 and 2), slot 1 → 3 (items 0 and 1), slot 1 → 4 (item 2)
  assert.equal(rows[0]!.scores.length, 3);
  assert.deepEqual(rows[0]!.scores.map((s) => s.uses.length).sort(), [1, 2, 2]);
});

// Row sizes by cost (row-cost.ts). q160: the 160m shape's pairCost on the CPU.
const q160 = pairCostFor({ hidden: 768, device: 'cpu' });
const modelled = (rows: TreeRow[], q: number): number => rows.reduce((a, r) => a + rowCost(r.tokens.length, q), 0);

/** `n` branches of `len` tokens (each scored from its first token) under a shared `prefix`. */
function branches(prefix: number, n: number, len: number): FastItem[] {
  const p = Array.from({ length: prefix }, (_, i) => 1000 + i);
  return Array.from({ length: n }, (_, b) => ({ ids: [...p, ...Array.from({ length: len + 1 }, (_, j) => 2000 + b * 100 + j)], start: prefix }));
}

test('short prefix, many long branches: split into several rows, each repeating the prefix, same numbers', async () => {
  const items = branches(20, 11, 91); // 20 + 11 × 91 = 1021 tokens: one row under today's cap
  assert.equal(packRows(items, ROOMY).length, 1);
  const rows = packRows(items, { ...ROOMY, pairCost: q160 });
  assert.ok(rows.length >= 4, `${rows.length} rows`);
  for (const r of rows) {
    assert.deepEqual(r.tokens.slice(0, 20), items[0]!.ids.slice(0, 20));
    assert.deepEqual(r.positions.slice(0, 20), Array.from({ length: 20 }, (_, i) => i));
    assert.ok(r.tokens.length <= Math.ceil(bestRowLength(20, q160)), `row of ${r.tokens.length}`);
  }
  // Every branch token is scored in exactly one row.
  assert.equal(rows.reduce((a, r) => a + r.scores.length, 0), 11 * 92);
  assert.ok(modelled(rows, q160) < modelled(packRows(items, ROOMY), q160));
  await check(items, { ...ROOMY, pairCost: q160 });
});

test('a long shared prefix stays one row', async () => {
  const items = branches(600, 3, 99);
  const rows = packRows(items, { ...ROOMY, pairCost: q160 });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.tokens.length, 600 + 3 * 99);
  await check(items, { ...ROOMY, pairCost: q160 });
});

test("the cost model's rows never cost more than rows filled up to rowTokens, on the cost it models; rowTokens still bounds them", async () => {
  let seed = 7;
  let cheaper = 0;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let trial = 0; trial < 40; trial++) {
    // Items sharing prefixes at random depths: a few stems, forks off earlier items.
    const items: FastItem[] = [];
    for (let i = 0; i < 30; i++) {
      const base = items.length > 0 && rand(4) > 0 ? items[rand(items.length)]!.ids : [];
      const keep = base.slice(0, rand(base.length + 1));
      const ids = [...keep, ...Array.from({ length: 1 + rand(trial % 2 ? 200 : 40) }, () => 1 + rand(50))];
      items.push({ ids, start: 1 + rand(ids.length) });
    }
    for (const rowTokens of [64, 300, 1024]) {
      for (const q of [q160, pairCostFor({ hidden: 2048, device: 'cpu' }), 1e-2]) {
        const limits = { ...ROOMY, rowTokens };
        const byCost = packRows(items, { ...limits, pairCost: q });
        const [got, today] = [modelled(byCost, q), modelled(packRows(items, limits), q)];
        assert.ok(got <= today + 1e-9, `trial ${trial} rowTokens ${rowTokens} q ${q}: ${got} > ${today}`);
        if (got < today - 1e-9) cheaper++;
        // Only a single node longer than the cap may exceed it (as today).
        const overCap = byCost.filter((r) => r.tokens.length > rowTokens);
        assert.ok(overCap.every((r) => r.scores.length > 0 && new Set(r.positions).size === r.positions.length), `trial ${trial}: a row over rowTokens is one sequence`);
      }
    }
    if (trial < 8) await check(items, { ...ROOMY, rowTokens: 300, pairCost: q160 });
  }
  assert.ok(cheaper >= 20, `the cost model changed the rows in ${cheaper} of 360 cases`);
});
