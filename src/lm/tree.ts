// The scoring-graph path: the same numbers as plain.ts and fast.ts, computed by packing the items
// into token-tree rows (packing.ts) and letting the graph gather the scored log-probabilities on
// the device. Only the K scored rows (and the L captured rows) pass through the output layer, and
// only K floats (plus L full rows) come back per batch; no key/value cache crosses into JavaScript.

import { ModelFault } from './errors.js';
import { checkComputed, type FastItem, type FastResult } from './fast.js';
import type { LmStats } from './forward.js';
import { batchRows, batchTensors, packRows, type PackLimits } from './packing.js';
import type { GraphOutput, ScoreGraph } from './score-graph.js';

export type TreeStats = LmStats;

export interface GraphRunner {
  run(batch: import('./packing.js').PackedBatch): Promise<GraphOutput>;
}

export async function scoreItemsTree(
  graph: GraphRunner | ScoreGraph,
  items: readonly FastItem[],
  limits: PackLimits,
  padId: number,
  stats: TreeStats,
): Promise<FastResult[]> {
  const out: FastResult[] = items.map((it) => ({
    tokenLogprobs: new Array<number>(Math.max(0, it.ids.length - it.start)).fill(NaN),
    captured: null,
  }));
  // Which scores the graph gave, apart from their values: a NaN it computes is not "unscored".
  const given = out.map((r) => new Uint8Array(r.tokenLogprobs.length));
  const rows = packRows(items, limits);
  for (const rowsOfBatch of batchRows(rows, limits)) {
    const batch = batchTensors(rowsOfBatch, padId);
    const res = await graph.run(batch);
    stats.forwardCalls += 1;
    stats.forwardTokens += batch.realTokens;
    stats.paddedForwardTokens += batch.B * batch.T;
    stats.outputRows += batch.B * (batch.K + batch.L);
    batch.rows.forEach((r, b) => {
      r.scores.forEach((s, k) => {
        const v = res.logprobs[b * batch.K + k]!;
        for (const u of s.uses) {
          out[u.item]!.tokenLogprobs[u.index] = v;
          given[u.item]![u.index] = 1;
        }
      });
      r.logits.forEach((l, k) => {
        const off = (b * batch.L + k) * res.vocab;
        const row = res.logits.slice(off, off + res.vocab);
        for (const i of l.items) if (!out[i]!.captured) out[i]!.captured = row;
      });
    });
  }
  for (const [i, res] of out.entries()) {
    const missing = given[i]!.indexOf(0);
    if (missing >= 0) throw new ModelFault(`the scoring graph left token ${missing} of item ${i} unscored (an internal error)`);
    checkComputed(res.tokenLogprobs, i);
    if (items[i]!.capture !== undefined && items[i]!.ids.length > items[i]!.start && !res.captured) {
      throw new Error(`internal: scoring graph returned no logits row for item ${i}`);
    }
  }
  return out;
}
