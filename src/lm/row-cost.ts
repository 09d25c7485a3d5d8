// What one token-tree row costs the scoring graph on the CPU, and the row size that minimises the
// cost per useful token when a subtree's branches are split into rows that each repeat its prefix.
//
// A row of T slots costs about a·T + b·T² per layer: the linear layers ∝ T·d², attention's two
// products ∝ T²·d and its elementwise ops (scale, mask, softmax) ∝ T²·heads, all over every pair
// of the row although each token sees only its own path. In units of a, a row costs
// ROW_OVERHEAD + T + pairCost·T² with pairCost = b/a. Layers cancel in that ratio.
//
// Measured on this project's machine (AMD EPYC, 1 onnxruntime thread, fp32, random Pythia-shaped
// checkpoints, sessions warm and prepacked; one row of n + one row of n in one call against one
// row of 2n in one call, so the call's fixed cost and the linear work cancel; medians of 3–5,
// n = 128–512; bench/rows-bench.ts measures the effect on the tasks):
//   160m (d 768, 12 heads):  a = 0.95–1.1 ms/token, b = 3.3–4.2e-7 s/pair → a/b ≈ 2300–3300, median 2900 ≈ 3.8·d
//   1b   (d 2048, 8 heads):  a = 8.6–8.8 ms/token,  b = 1.1–1.2e-6 s/pair → a/b ≈ 7200–7950 ≈ 3.5–3.9·d
//   (at n ≤ 256 the 1b shape's T² term is below the noise)
// a/b grows with d as the flop counts say (12·d² per token over ~2·d per pair), the per-head
// elementwise part did not separate from the noise between the two shapes, so the model is
// a/b = KAPPA·d. The call's fixed cost (reading the weights: ~20 ms for 160m, ~0.3 s for 1b) is
// per graph call; with the padding that more, shorter rows bring into a batch (rows' lengths and
// their score counts are padded to the batch's longest) it is what ROW_OVERHEAD stands for.
//
// Off the CPU (CUDA) attention over a 1,000-token row is cheap next to the launch and transfer
// costs a longer row amortises, and nothing was measured there: pairCost 0 keeps rows filled up
// to rowTokens, today's rule.

/** a/b in units of the hidden size (measured: 3.8 for d 768, 3.5 for d 2048). */
export const KAPPA = 3.6;

/**
 * What one more row costs beyond its slots, in slots: a graph call's fixed cost over a is ~20 on
 * both shapes (160m: ~20 ms / 0.95 ms; 1b: ~0.2 s / 8.6 ms), and a split that adds rows adds calls
 * and padding. Without it, dgl's direct sentences (358 slots sharing one word) were split into 9
 * rows of ~45 and cost 15 % more (2 calls, B×T and B×K padding), though the T² term said 8 % less.
 */
export const ROW_OVERHEAD = 20;

/**
 * A split is taken only where the model says it saves more than this fraction of the subtree's
 * cost: the fit's residuals reach ±5–8 % per row length and repeated runs of one mix vary by ~5 %,
 * so smaller predicted savings (blimp's 666-slot meta prompts: 3 %) measured as nothing or a loss.
 */
export const SPLIT_MARGIN = 0.05;

/** The shape facts the cost depends on. */
export interface RowCostShape {
  /** config.json's hidden_size (n_embd, d_model); anything else than a positive integer: no model. */
  hidden: unknown;
  device: string;
}

/**
 * The smallest hidden size the model is used for. KAPPA was measured at 768 and 2048; far below,
 * a row's cost is the output layer's and the call's, not its layers' (tiny-gpt2, hidden 2: the
 * model split its crt rows and the mix cost 0.13 CPU s against 0.05 filled), so no model there.
 */
export const MIN_HIDDEN = 256;

/** b/a for this shape and device; 0 means "no cost model: fill rows up to rowTokens". */
export function pairCostFor(shape: RowCostShape): number {
  if (shape.device !== 'cpu') return 0;
  const d = shape.hidden;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < MIN_HIDDEN) return 0;
  return 1 / (KAPPA * d);
}

/** A row of T slots, in units of one slot's linear work. */
export function rowCost(T: number, pairCost: number): number {
  return ROW_OVERHEAD + T + pairCost * T * T;
}

/**
 * The row length that minimises cost per branch token when every row repeats a prefix of P
 * tokens: (R + C + pairCost·C²) / (C − P) is least at C* = P + sqrt(P² + (P + R)/pairCost).
 * Infinite when pairCost is 0 (longer rows only dilute the prefix and the overhead).
 */
export function bestRowLength(prefix: number, pairCost: number): number {
  if (!(pairCost > 0)) return Infinity;
  return prefix + Math.sqrt(prefix * prefix + (prefix + ROW_OVERHEAD) / pairCost);
}
