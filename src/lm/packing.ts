// Packing scoring jobs into token-tree rows for the scoring graph (onnx/score.onnx).
//
// The jobs are the fast path's items (fast.ts): "score ids[start..n-1]", whose input is ids[0..n-2].
// Their inputs go into the same compressed trie; a subtree of it becomes ONE row of the graph's
// input: every node's segment appears once, in depth-first order, each token at the position it has
// in its own sequence (so a branch's first token has position = its prefix's length, restarting
// per branch), and the [T, T] mask lets a token see exactly its ancestors and the earlier tokens of
// its own segment — what it would see alone in a causal pass. The logits at a slot are therefore
// those of the plain path at that token, and the graph gathers log p(target) there.
//
// Pure: the rows, the batches and the tensors' contents are computed here without a model.

import { buildTrie, type FastItem, type TrieNode } from './fast.js';
import { bestRowLength, rowCost, SPLIT_MARGIN } from './row-cost.js';

export interface PackLimits {
  /** Budget on B × T per batch (T = the batch's longest row, padding included). */
  batchTokens: number;
  /** Budget on B × T × T per batch: the mask, and the per-head attention scores it shapes. */
  maskElements: number;
  /** Most rows per batch. */
  maxRows: number;
  /** A subtree larger than this many tokens is split into several rows (each repeats its prefix). */
  rowTokens: number;
  /**
   * Attention's cost per slot pair relative to a slot's linear layers (row-cost.ts): > 0 also
   * splits subtrees under rowTokens where rows repeating the prefix cost less. 0/absent: rows are
   * filled up to rowTokens.
   */
  pairCost?: number;
  /** Keys more than this many positions behind a query are hidden (Mistral's sliding window). */
  slidingWindow?: number | null;
}

/** One gathered log-probability: row slot, target id, and the (item, token index) pairs it answers. */
export interface ScoreSlot {
  slot: number;
  target: number;
  uses: Array<{ item: number; index: number }>;
}

/** One full logits row asked for (a capture), with the items that want it. */
export interface LogitsSlot {
  slot: number;
  items: number[];
}

export interface TreeRow {
  tokens: number[];
  positions: number[];
  /** For each slot, the slot ranges [from, to) it may attend to (ancestors, then its own segment up to itself). */
  visible: Array<Array<[number, number]>>;
  scores: ScoreSlot[];
  logits: LogitsSlot[];
}

/** One graph call's inputs (row-major), plus the rows to read its outputs back. */
export interface PackedBatch {
  rows: TreeRow[];
  B: number;
  T: number;
  K: number;
  L: number;
  inputIds: BigInt64Array;
  positionIds: BigInt64Array;
  /** [B, T, T], 1 = query t may attend key s. */
  mask: Uint8Array;
  scorePositions: BigInt64Array;
  targetIds: BigInt64Array;
  logitsPositions: BigInt64Array;
  /** Real tokens in the batch (B × T minus padding). */
  realTokens: number;
}

/** The input an item feeds: ids[0..n-2]; empty when there is nothing to score. */
function inputLength(it: FastItem): number {
  return it.ids.length > it.start ? it.ids.length - 1 : 0;
}

/** Positions of [from, to) whose logits item i needs: scored positions and its capture. */
function wanted(it: FastItem, from: number, to: number): [number, number] {
  let lo = Math.max(from, it.start - 1);
  if (it.capture !== undefined && it.capture >= from) lo = Math.min(lo, it.capture);
  return [lo, Math.min(to, it.ids.length - 1)];
}

/** A node in a row: owned nodes score their positions here; prefix copies only give context. */
interface RowEntry {
  node: TrieNode;
  owned: boolean;
  parent: number;
}

function nodeWantsAny(items: readonly FastItem[], node: TrieNode): boolean {
  return node.items.some((i) => {
    const [lo, hi] = wanted(items[i]!, node.from, node.to);
    return lo < hi;
  });
}

/**
 * How the subtree under a node becomes rows: 'one' row (ancestors + the whole subtree), or its
 * children grouped under rows of at most `cap` tokens (ancestors + the node + whole child
 * subtrees), the children too large for that handled by their own plans. `cost` sums rowCost over
 * the rows (row-cost.ts).
 */
type Plan = { kind: 'one'; cost: number } | { kind: 'grouped'; cap: number; balanced: boolean; cost: number };

/** Splits trie subtrees into rows: under `rowTokens`, and at the cheapest row size when pairCost > 0. */
class RowPlanner {
  private readonly sizes = new Map<TrieNode, number>();
  private readonly plans = new Map<TrieNode, Plan>();

  constructor(
    private readonly items: readonly FastItem[],
    private readonly rowTokens: number,
    private readonly pairCost: number,
  ) {}

  /** Rows (entry lists in depth-first order) for the subtree under `node`, whose ancestors are `chain`. */
  rows(node: TrieNode, chain: TrieNode[]): RowEntry[][] {
    const plan = this.plan(node);
    if (plan.kind === 'one') {
      const entries = chain.map((n, k) => ({ node: n, owned: false, parent: k - 1 }));
      addSubtree(entries, node, chain.length - 1);
      return [entries];
    }
    const { groups, big } = this.group(node, plan.cap, plan.balanced);
    const withChain = (owned: boolean): RowEntry[] => [
      ...chain.map((n, k) => ({ node: n, owned: false, parent: k - 1 })),
      { node, owned, parent: chain.length - 1 },
    ];
    const rows: RowEntry[][] = [];
    groups.forEach((g, gi) => {
      const entries = withChain(gi === 0);
      const me = entries.length - 1;
      for (const c of g) addSubtree(entries, c, me);
      rows.push(entries);
    });
    if (groups.length === 0 && nodeWantsAny(this.items, node)) rows.push(withChain(true));
    for (const c of big) rows.push(...this.rows(c, [...chain, node]));
    return rows;
  }

  private size(node: TrieNode): number {
    let s = this.sizes.get(node);
    if (s === undefined) {
      s = node.to - node.from;
      for (const c of node.children) s += this.size(c);
      this.sizes.set(node, s);
    }
    return s;
  }

  /**
   * Children in order, grouped greedily under `cap` (row = node.to prefix tokens + the group);
   * larger ones apart. `balanced`: as many groups, their largest as small as it can be (rows of
   * a split batch together with little padding).
   */
  private group(node: TrieNode, cap: number, balanced: boolean): { groups: TrieNode[][]; big: TrieNode[] } {
    const budget = cap - node.to;
    const small = node.children.filter((c) => this.size(c) <= budget);
    const big = node.children.filter((c) => this.size(c) > budget);
    let groups = this.fill(small, budget);
    if (balanced && groups.length > 1) {
      // Least group bound that still needs no more groups (binary search; greedy is optimal per bound).
      let [lo, hi] = [Math.max(...small.map((c) => this.size(c))), budget];
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (this.fill(small, mid).length <= groups.length) hi = mid;
        else lo = mid + 1;
      }
      groups = this.fill(small, lo);
    }
    return { groups, big };
  }

  /** Consecutive children in groups of at most `budget` tokens each. */
  private fill(children: TrieNode[], budget: number): TrieNode[][] {
    const groups: TrieNode[][] = [];
    let cur: TrieNode[] = [];
    let used = 0;
    for (const c of children) {
      const s = this.size(c);
      if (used + s > budget && cur.length > 0) {
        groups.push(cur);
        cur = [];
        used = 0;
      }
      cur.push(c);
      used += s;
    }
    if (cur.length > 0) groups.push(cur);
    return groups;
  }

  private groupedCost(node: TrieNode, cap: number, balanced: boolean): number {
    const { groups, big } = this.group(node, cap, balanced);
    let cost = 0;
    for (const g of groups) cost += rowCost(node.to + g.reduce((a, c) => a + this.size(c), 0), this.pairCost);
    if (groups.length === 0 && nodeWantsAny(this.items, node)) cost += rowCost(node.to, this.pairCost);
    for (const c of big) cost += this.plan(c).cost;
    return cost;
  }

  /**
   * Without a cost model (pairCost 0): one row when the subtree fits rowTokens, else groups under
   * rowTokens (today's rule). With one: groups under the best row length for this prefix instead,
   * where they cost SPLIT_MARGIN less; each child's plan is already at most today's for it, so the
   * total never exceeds the rowTokens-only rule's on the modelled cost.
   */
  private plan(node: TrieNode): Plan {
    let plan = this.plans.get(node);
    if (plan) return plan;
    const total = node.from + this.size(node);
    const fits = total <= this.rowTokens;
    const candidates: Plan[] = fits
      ? [{ kind: 'one', cost: rowCost(total, this.pairCost) }]
      : [{ kind: 'grouped', cap: this.rowTokens, balanced: false, cost: this.groupedCost(node, this.rowTokens, false) }];
    if (this.pairCost > 0 && node.children.length > 0) {
      const best = Math.floor(bestRowLength(node.to, this.pairCost));
      if (best < this.rowTokens) candidates.push({ kind: 'grouped', cap: best, balanced: true, cost: this.groupedCost(node, best, true) });
    }
    // Today's rows unless a split is cheaper by more than the model's error.
    const today = candidates[0]!;
    plan = today;
    for (const c of candidates.slice(1)) if (c.cost < (1 - SPLIT_MARGIN) * today.cost && c.cost < plan.cost) plan = c;
    this.plans.set(node, plan);
    return plan;
  }
}

function addSubtree(entries: RowEntry[], n: TrieNode, parent: number): void {
  entries.push({ node: n, owned: true, parent });
  const me = entries.length - 1;
  for (const c of n.children) addSubtree(entries, c, me);
}

/** Slots, positions, visibility and the score/logits requests of one row. */
function layoutRow(items: readonly FastItem[], entries: RowEntry[], window: number | null): TreeRow {
  const tokens: number[] = [];
  const positions: number[] = [];
  const visible: Array<Array<[number, number]>> = [];
  const base: number[] = [];
  const scoreIndex = new Map<string, ScoreSlot>();
  const scores: ScoreSlot[] = [];
  const logitsIndex = new Map<number, LogitsSlot>();
  const logits: LogitsSlot[] = [];
  entries.forEach((e, k) => {
    const { node } = e;
    base[k] = tokens.length;
    const ancestors: Array<[number, number]> = [];
    for (let a = e.parent; a >= 0; a = entries[a]!.parent) {
      const an = entries[a]!.node;
      ancestors.unshift([base[a]!, base[a]! + (an.to - an.from)]);
    }
    const ids = items[node.items[0]!]!.ids;
    for (let p = node.from; p < node.to; p++) {
      const slot = tokens.length;
      tokens.push(ids[p]!);
      positions.push(p);
      visible.push([...ancestors, [base[k]!, slot + 1]]);
    }
    if (!e.owned) return;
    for (const i of node.items) {
      const it = items[i]!;
      const [lo, hi] = wanted(it, node.from, node.to);
      for (let p = lo; p < hi; p++) {
        const slot = base[k]! + (p - node.from);
        if (p >= it.start - 1 && p <= it.ids.length - 2) {
          const target = it.ids[p + 1]!;
          const key = `${slot}:${target}`;
          let s = scoreIndex.get(key);
          if (!s) {
            scoreIndex.set(key, (s = { slot, target, uses: [] }));
            scores.push(s);
          }
          s.uses.push({ item: i, index: p - (it.start - 1) });
        }
        if (it.capture === p) {
          let l = logitsIndex.get(slot);
          if (!l) {
            logitsIndex.set(slot, (l = { slot, items: [] }));
            logits.push(l);
          }
          l.items.push(i);
        }
      }
    }
  });
  if (window !== null) {
    // Sliding window by position distance (a branch's positions continue its prefix's).
    visible.forEach((ranges, q) => {
      const minPos = positions[q]! - window;
      visible[q] = ranges
        .map(([a, b]): [number, number] => {
          let s = a;
          while (s < b && positions[s]! < minPos) s++;
          return [s, b];
        })
        .filter(([a, b]) => a < b);
    });
  }
  return { tokens, positions, visible, scores, logits };
}

/** Tree rows for the items: one per trie subtree, split above `rowTokens` or where smaller rows cost less (pairCost). */
export function packRows(items: readonly FastItem[], limits: Pick<PackLimits, 'rowTokens' | 'slidingWindow' | 'pairCost'>): TreeRow[] {
  const planner = new RowPlanner(items, Math.max(1, limits.rowTokens), limits.pairCost ?? 0);
  const window = limits.slidingWindow ?? null;
  const rows: TreeRow[] = [];
  for (const top of buildTrie(items)) {
    for (const entries of planner.rows(top, [])) {
      const row = layoutRow(items, entries, window);
      if (row.scores.length > 0 || row.logits.length > 0) rows.push(row);
    }
  }
  return rows;
}

/** Rows sorted by length, greedily batched under the budgets; a row over budget forms its own batch. */
export function batchRows(rows: readonly TreeRow[], limits: PackLimits): TreeRow[][] {
  const sorted = rows.slice().sort((a, b) => a.tokens.length - b.tokens.length);
  const batches: TreeRow[][] = [];
  let cur: TreeRow[] = [];
  let real = 0;
  for (const r of sorted) {
    const T = r.tokens.length; // sorted: the longest so far
    const n = cur.length + 1;
    const fits =
      n * T <= limits.batchTokens &&
      n * T * T <= limits.maskElements &&
      n <= limits.maxRows &&
      // Padding is computed like real tokens: keep it under ~25% (or a few tokens).
      n * T <= Math.max(1.25 * (real + T), real + T + 16);
    if (cur.length > 0 && !fits) {
      batches.push(cur);
      cur = [];
      real = 0;
    }
    cur.push(r);
    real += T;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/**
 * The graph inputs of one batch. Padding: pad tokens at position 0 that see only themselves
 * (no row of the softmax is empty) and that no real token sees; padded score entries gather
 * slot 0 / target 0 and are ignored.
 */
export function batchTensors(rows: readonly TreeRow[], padId: number): PackedBatch {
  const B = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.tokens.length));
  const K = Math.max(0, ...rows.map((r) => r.scores.length));
  const L = Math.max(0, ...rows.map((r) => r.logits.length));
  const inputIds = new BigInt64Array(B * T).fill(BigInt(padId));
  const positionIds = new BigInt64Array(B * T);
  const mask = new Uint8Array(B * T * T);
  const scorePositions = new BigInt64Array(B * K);
  const targetIds = new BigInt64Array(B * K);
  const logitsPositions = new BigInt64Array(B * L);
  let realTokens = 0;
  rows.forEach((r, b) => {
    const n = r.tokens.length;
    realTokens += n;
    for (let t = 0; t < T; t++) {
      const rowOff = (b * T + t) * T;
      if (t >= n) {
        mask[rowOff + t] = 1;
        continue;
      }
      inputIds[b * T + t] = BigInt(r.tokens[t]!);
      positionIds[b * T + t] = BigInt(r.positions[t]!);
      for (const [from, to] of r.visible[t]!) mask.fill(1, rowOff + from, rowOff + to);
    }
    r.scores.forEach((s, k) => {
      scorePositions[b * K + k] = BigInt(s.slot);
      targetIds[b * K + k] = BigInt(s.target);
    });
    r.logits.forEach((l, k) => {
      logitsPositions[b * L + k] = BigInt(l.slot);
    });
  });
  return { rows: [...rows], B, T, K, L, inputIds, positionIds, mask, scorePositions, targetIds, logitsPositions, realTokens };
}
