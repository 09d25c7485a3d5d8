// The fast path: the same numbers as plain.ts, with less computation.
//
// An item scores ids[start..n-1], which needs the logits at positions start-1..n-2, so its input
// is ids[0..n-2] (the last token is never input: nothing scores the position after it). The
// logits at position p depend only on ids[0..p], so items whose inputs begin with the same tokens
// can share that computation exactly, whatever their prefixes were as strings. The inputs are put
// in a compressed token trie: each trie node's segment runs once, on top of the cached key/values
// of its ancestors (the same prompt with 2–8 continuations; the two metalinguistic prompts of a
// pair, which share their instructions; sentences that begin alike). Nodes of one level are
// batched by length under a token budget with right padding; a batch's children run before the
// next batch, so only one path of caches is held at a time.

import { ModelFault } from './errors.js';
import { compareIds, packBatches, type BatchLimits } from './batching.js';
import type { ForwardBatch, ForwardRunner, PastKV } from './forward.js';
import { logSumExp } from './logsoftmax.js';
import { commonPrefixLength, type ScoreItem } from './tokenize.js';

export interface FastItem extends ScoreItem {
  /** A position whose logits row the caller wants back (e.g. the prefix's last position). */
  capture?: number | undefined;
}

export interface FastResult {
  tokenLogprobs: number[];
  captured: Float32Array | null;
}

/** A trie node: input tokens [from, to) shared by every item below it. */
export interface TrieNode {
  from: number;
  to: number;
  /** Items whose inputs pass through this node (the node's segment is ids[from..to) of each). */
  items: number[];
  children: TrieNode[];
}

/** The input an item feeds: ids[0..n-2]; empty when there is nothing to score. */
function inputLength(it: ScoreItem): number {
  return it.ids.length > it.start ? it.ids.length - 1 : 0;
}

/**
 * The compressed trie of the items' inputs. Returns the top-level nodes (at depth 0); an item
 * appears in every node on its path, and its path ends where its input ends.
 */
export function buildTrie(items: readonly ScoreItem[]): TrieNode[] {
  const order = items
    .map((_, i) => i)
    .filter((i) => inputLength(items[i]!) > 0)
    .sort((a, b) => compareIds(items[a]!.ids.slice(0, inputLength(items[a]!)), items[b]!.ids.slice(0, inputLength(items[b]!))));
  const input = (i: number) => items[i]!.ids;
  const len = (i: number) => inputLength(items[i]!);

  // Sorted items sharing tokens [0, depth): split them into runs by the token at `depth`.
  const build = (group: number[], depth: number): TrieNode[] => {
    const runs: number[][] = [];
    for (const i of group) {
      if (len(i) <= depth) continue; // its input ended at the parent
      const last = runs.at(-1);
      if (last && input(last[0]!)[depth] === input(i)[depth]) last.push(i);
      else runs.push([i]);
    }
    return runs.map((run) => {
      // The run shares tokens up to the smallest adjacent common prefix (sorted order), capped
      // by its shortest input.
      let to = Math.min(...run.map(len));
      for (let r = 0; r + 1 < run.length; r++) {
        to = Math.min(to, commonPrefixLength(input(run[r]!), input(run[r + 1]!)));
      }
      return { from: depth, to, items: run, children: run.length > 1 ? build(run, to) : [] };
    });
  };
  return build(order, 0);
}

/** Collects the items' scores as logits rows become available. */
class Sink {
  readonly out: FastResult[];
  constructor(private readonly items: readonly FastItem[]) {
    this.out = items.map((it) => ({
      tokenLogprobs: new Array<number>(Math.max(0, it.ids.length - it.start)).fill(NaN),
      captured: null,
    }));
  }

  /** The positions of [from, to) that item i needs. */
  wanted(i: number, from: number, to: number): [number, number] {
    const it = this.items[i]!;
    let lo = Math.max(from, it.start - 1);
    if (it.capture !== undefined && it.capture >= from) lo = Math.min(lo, it.capture);
    return [lo, Math.min(to, it.ids.length - 1)];
  }

  consume(i: number, p: number, row: Float32Array, lse: number, copy: () => Float32Array): void {
    const it = this.items[i]!;
    const res = this.out[i]!;
    if (p >= it.start - 1 && p <= it.ids.length - 2) {
      res.tokenLogprobs[p - (it.start - 1)] = row[it.ids[p + 1]!]! - lse;
    }
    if (it.capture === p && !res.captured) res.captured = copy();
  }
}

interface Pending {
  node: TrieNode;
  past: PastKV | undefined;
}

/**
 * A log-probability that is NaN (unscored, or computed from NaN) or +Inf cannot be a score: the
 * model is at fault (non-finite weights, fp16 overflow), and the stage fails rather than writing
 * an empty cell. -Inf (probability 0) is a value.
 */
export function checkComputed(tokenLogprobs: readonly number[], item: number): void {
  const k = tokenLogprobs.findIndex((v) => Number.isNaN(v) || v === Infinity);
  if (k < 0) return;
  throw new ModelFault(`the model computed ${tokenLogprobs[k]} as the log-probability of token ${k} of item ${item} `
    + '(its weights hold NaN/Inf, or fp16 arithmetic overflowed: try dtype fp32)');
}

export async function scoreItemsFast(
  runner: ForwardRunner,
  items: readonly FastItem[],
  limits: BatchLimits,
): Promise<FastResult[]> {
  const sink = new Sink(items);
  const top = buildTrie(items);
  if (runner.supportsPast) {
    await runLevel(runner, items, sink, limits, top.map((node) => ({ node, past: undefined })));
  } else {
    // No usable cache input: every item runs its whole input alone (still batched).
    const flat = items.map((_, i) => i).filter((i) => inputLength(items[i]!) > 0);
    const nodes = flat.map((i) => ({ node: { from: 0, to: inputLength(items[i]!), items: [i], children: [] }, past: undefined }));
    await runLevel(runner, items, sink, limits, nodes);
  }
  for (const [i, res] of sink.out.entries()) checkComputed(res.tokenLogprobs, i);
  return sink.out;
}

async function runLevel(
  runner: ForwardRunner,
  items: readonly FastItem[],
  sink: Sink,
  limits: BatchLimits,
  pending: Pending[],
): Promise<void> {
  const rows = pending
    .map((p) => ({ ...p, len: p.node.to - p.node.from, past: p.past, pastLen: p.past?.length ?? 0 }))
    .sort((a, b) => a.pastLen - b.pastLen || a.len - b.len);
  const sized = rows.map((r) => ({ r, len: r.len, past: r.pastLen }));
  for (const batch of packBatches(sized, limits)) {
    const needPresent = batch.some(({ r }) => r.node.children.length > 0);
    const out = await runner.run(
      batch.map(({ r }) => ({ ids: items[r.node.items[0]!]!.ids.slice(r.node.from, r.node.to), past: r.past })),
      needPresent,
    );
    const next: Pending[] = [];
    batch.forEach(({ r }, b) => {
      consumeNode(sink, r.node, out, b);
      if (r.node.children.length > 0) {
        const cache = out.pastOf(b);
        for (const child of r.node.children) next.push({ node: child, past: cache });
      }
    });
    if (next.length > 0) await runLevel(runner, items, sink, limits, next);
  }
}

/** Hand every item below a node the rows it needs; each row's normaliser is computed once. */
function consumeNode(sink: Sink, node: TrieNode, out: ForwardBatch, b: number): void {
  const lse = new Map<number, number>();
  const copies = new Map<number, Float32Array>();
  for (const i of node.items) {
    const [lo, hi] = sink.wanted(i, node.from, node.to);
    for (let p = lo; p < hi; p++) {
      const row = out.row(b, p - node.from);
      let l = lse.get(p);
      if (l === undefined) lse.set(p, (l = logSumExp(row)));
      const copy = () => {
        let c = copies.get(p);
        if (!c) copies.set(p, (c = row.slice()));
        return c;
      };
      sink.consume(i, p, row, l, copy);
    }
  }
}
