// The fast path: the same numbers as plain.ts, with less computation.
//
// An item scores ids[start..n-1], which needs the logits at positions start-1..n-2. Items that
// share their first k tokens (the "key": the same prompt with several continuations, or two
// sentences that begin alike) form a group: the key runs once (group pass) and each member then
// feeds only its own tokens ids[k..n-2] on top of the key's cached key/values (tail pass). Items
// without partners run alone on ids[0..n-2] (the last token is never input: nothing scores the
// position after it). Everything is batched by length under a token budget with right padding.

import { compareIds, packBatches, type BatchLimits } from './batching.js';
import type { ForwardBatch, ForwardRunner, PastKV } from './forward.js';
import { logSumExp } from './logsoftmax.js';
import { commonPrefixLength, idsKey, type ScoreItem } from './tokenize.js';

export interface FastItem extends ScoreItem {
  /** Length of the shared context to try to compute once (0: none). */
  keyLen: number;
  /** A position whose logits row the caller wants back (e.g. the prefix's last position). */
  capture?: number | undefined;
}

export interface FastResult {
  tokenLogprobs: number[];
  captured: Float32Array | null;
}

/** Collects one item's scores as logits rows become available. */
class Sink {
  readonly out: FastResult[];
  constructor(private readonly items: readonly FastItem[]) {
    this.out = items.map((it) => ({
      tokenLogprobs: new Array<number>(Math.max(0, it.ids.length - it.start)).fill(NaN),
      captured: null,
    }));
  }

  /** Give item i the logits row at position p; lse may be precomputed for a shared row. */
  consume(i: number, p: number, row: Float32Array, lse?: number, copy?: () => Float32Array): void {
    const it = this.items[i]!;
    const res = this.out[i]!;
    if (p >= it.start - 1 && p <= it.ids.length - 2) {
      res.tokenLogprobs[p - (it.start - 1)] = row[it.ids[p + 1]!]! - (lse ?? logSumExp(row));
    }
    if (it.capture === p && !res.captured) res.captured = copy ? copy() : row.slice();
  }
}

interface Group {
  key: readonly number[];
  members: number[];
}

/** Split items into groups sharing a key (two or more members) and items that run alone. */
export function groupItems(items: readonly FastItem[], canShare: boolean): { groups: Group[]; alone: number[] } {
  const byKey = new Map<string, Group>();
  const alone: number[] = [];
  items.forEach((it, i) => {
    if (it.ids.length <= it.start) return; // nothing to score
    const k = Math.min(it.keyLen, it.ids.length - 1);
    if (!canShare || k < 1) return void alone.push(i);
    const key = idsKey(it.ids, k);
    const g = byKey.get(key);
    if (g) g.members.push(i);
    else byKey.set(key, { key: it.ids.slice(0, k), members: [i] });
  });
  const groups: Group[] = [];
  for (const g of byKey.values()) {
    if (g.members.length > 1) groups.push(g);
    else alone.push(g.members[0]!);
  }
  return { groups, alone };
}

/**
 * Key lengths for sequences that may share beginnings: sort by tokens, and give each the longest
 * token prefix it shares with a neighbour (at least 2 tokens to be worth a cache).
 */
export function neighbourKeyLengths(idsList: readonly (readonly number[])[]): number[] {
  const order = idsList.map((_, i) => i).sort((a, b) => compareIds(idsList[a]!, idsList[b]!));
  const keys = new Array<number>(idsList.length).fill(0);
  for (let r = 0; r + 1 < order.length; r++) {
    const a = order[r]!;
    const b = order[r + 1]!;
    const l = commonPrefixLength(idsList[a]!, idsList[b]!);
    if (l >= 2) {
      keys[a] = Math.max(keys[a]!, l);
      keys[b] = Math.max(keys[b]!, l);
    }
  }
  return keys;
}

export async function scoreItemsFast(
  runner: ForwardRunner,
  items: readonly FastItem[],
  limits: BatchLimits,
): Promise<FastResult[]> {
  const sink = new Sink(items);
  const { groups, alone } = groupItems(items, runner.supportsPast);

  // Items alone: one row ids[0..n-2] each, shortest first.
  const aloneRows = alone
    .map((i) => ({ i, len: items[i]!.ids.length - 1, past: 0 }))
    .sort((a, b) => a.len - b.len);
  for (const batch of packBatches(aloneRows, limits)) {
    const out = await runner.run(batch.map((r) => ({ ids: items[r.i]!.ids.slice(0, r.len) })));
    batch.forEach((r, b) => {
      for (let p = 0; p < r.len; p++) sink.consume(r.i, p, out.row(b, p));
    });
  }

  // Groups: key pass, then the members' tails on the key's cache, one packed set at a time so
  // that only one batch of caches is held in memory.
  const groupRows = groups.map((g) => ({ g, len: g.key.length, past: 0 })).sort((a, b) => a.len - b.len);
  for (const gBatch of packBatches(groupRows, limits)) {
    const out = await runner.run(
      gBatch.map((r) => ({ ids: r.g.key })),
      true,
    );
    const tails: Array<{ i: number; past: number; len: number; cache: PastKV }> = [];
    gBatch.forEach((r, b) => {
      consumeKey(sink, items, r.g, out, b);
      const cache = out.pastOf(b);
      for (const i of r.g.members) {
        const len = items[i]!.ids.length - 1 - r.g.key.length;
        if (len > 0) tails.push({ i, past: r.g.key.length, len, cache });
      }
    });
    tails.sort((a, b) => a.past - b.past || a.len - b.len);
    for (const tBatch of packBatches(tails, limits)) {
      const tOut = await runner.run(
        tBatch.map((t) => ({ ids: items[t.i]!.ids.slice(t.past, t.past + t.len), past: t.cache })),
      );
      tBatch.forEach((t, b) => {
        for (let j = 0; j < t.len; j++) sink.consume(t.i, t.past + j, tOut.row(b, j));
      });
    }
  }

  for (const [i, res] of sink.out.entries()) {
    if (res.tokenLogprobs.some((v) => Number.isNaN(v))) {
      throw new Error(`internal: fast path left item ${i} partly unscored`);
    }
  }
  return sink.out;
}

/** Hand each member the key's rows it needs; each shared row's normaliser is computed once. */
function consumeKey(sink: Sink, items: readonly FastItem[], g: Group, out: ForwardBatch, b: number): void {
  const lse = new Map<number, number>();
  // Members capturing the same shared row get one copy of it between them.
  const copies = new Map<number, Float32Array>();
  const copyOf = (p: number) => () => {
    let c = copies.get(p);
    if (!c) copies.set(p, (c = out.row(b, p).slice()));
    return c;
  };
  for (const i of g.members) {
    const it = items[i]!;
    const from = Math.min(Math.max(it.start - 1, 0), it.capture ?? Infinity);
    for (let p = from; p < g.key.length; p++) {
      const row = out.row(b, p);
      let l = lse.get(p);
      if (l === undefined) lse.set(p, (l = logSumExp(row)));
      sink.consume(i, p, row, l, copyOf(p));
    }
  }
}
