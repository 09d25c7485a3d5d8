// The reference path: one sequence per forward pass, all of its tokens, no cache, no batching.
// Every number the fast path returns is checked against this.

import type { ForwardRunner } from './forward.js';
import { logProbOf } from './logsoftmax.js';
import type { ScoreItem } from './tokenize.js';

/** log p(ids[i] | ids[<i]) for i = start..n-1 (empty when there is nothing to score). */
export async function scoreItemPlain(runner: ForwardRunner, item: ScoreItem): Promise<number[]> {
  const { ids, start } = item;
  if (ids.length <= start) return [];
  const batch = await runner.run([{ ids }]);
  const out: number[] = [];
  for (let i = start; i < ids.length; i++) out.push(logProbOf(batch.row(0, i - 1), ids[i]!));
  return out;
}

/** Logits at the last position of ids (a copy). */
export async function lastLogitsPlain(runner: ForwardRunner, ids: readonly number[]): Promise<Float32Array> {
  if (ids.length === 0) throw new Error('nextTokenLogits: the text has no tokens (empty text and no BOS)');
  const batch = await runner.run([{ ids }]);
  return batch.row(0, ids.length - 1).slice();
}

/** All logits rows of one full forward pass (tests and hand checks). */
export async function allLogitsPlain(runner: ForwardRunner, ids: readonly number[]): Promise<Float32Array[]> {
  const batch = await runner.run([{ ids }]);
  return ids.map((_, j) => batch.row(0, j).slice());
}
