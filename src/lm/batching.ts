// Packing rows into forward batches under a token budget. Rows arrive sorted by length, so each
// batch holds rows of similar length and little padding is computed.

export interface Sized {
  /** New tokens fed for this row. */
  len: number;
  /** Cached tokens the row continues from. */
  past: number;
}

export interface BatchLimits {
  /** Budget on B × (longest new-token row): the logits tensor is B × S × vocab. */
  batchTokens: number;
  /** Most rows in one batch. */
  maxRows: number;
  /**
   * Longest batch past + longest new row allowed (the model's context length): a batch is as wide
   * as its longest past plus its longest row, and a GPT-2 style causal mask has only that many
   * positions, even when each row alone fits.
   */
  maxTotal?: number | null;
}

/** Greedy packing in the given order. A row over budget on its own forms a batch by itself. */
export function packBatches<T extends Sized>(rows: readonly T[], limits: BatchLimits): T[][] {
  const batches: T[][] = [];
  let cur: T[] = [];
  let maxLen = 0;
  let maxPast = 0;
  let real = 0;
  for (const r of rows) {
    const len = Math.max(maxLen, r.len);
    const past = Math.max(maxPast, r.past);
    const n = cur.length + 1;
    // Attention over the past costs too: keep B × (P + S) within a few budgets. Padding is
    // computed like real tokens (the whole output projection runs on it): keep it under ~25%.
    const fits =
      n * len <= limits.batchTokens &&
      n * (past + len) <= 4 * limits.batchTokens &&
      n <= limits.maxRows &&
      past + len <= (limits.maxTotal ?? Infinity) &&
      n * len <= Math.max(1.25 * (real + r.len), real + r.len + 16);
    if (cur.length > 0 && !fits) {
      batches.push(cur);
      cur = [];
      maxLen = 0;
      maxPast = 0;
      real = 0;
    }
    cur.push(r);
    maxLen = Math.max(maxLen, r.len);
    maxPast = Math.max(maxPast, r.past);
    real += r.len;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** Lexicographic order of token id sequences (shorter first on a tie of the common part). */
export function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
