// The scoring graph (onnx/score.onnx, score_fp16.onnx) and its per-device parts
// (score.part{i}of{N}.onnx). Contract (src/convert/README.md, kept in step with src/lm):
//   inputs  input_ids int64 [B, T]; position_ids int64 [B, T];
//           attention_mask bool [B, T, T] (true: query t may attend key s — the host builds
//             causality, the token tree, padding and any sliding window);
//           score_positions int64 [B, K]; target_ids int64 [B, K]; logits_positions int64 [B, L]
//   outputs logprobs float32 [B, K] = log_softmax(float32 logits at score_positions)[target_ids]
//           logits   float32 [B, L, vocab] at logits_positions
// No key/value cache. The final norm and the output layer run only on the K + L gathered rows.
// Parts: part 0 maps ids → `hidden` [B, T, hidden] (graph dtype); every later part takes the
// previous part's `hidden` as its input `hidden_in` (ONNX forbids an input and an output of the
// same name), middle parts output `hidden`, the last logprobs/logits; each part also takes
// position_ids and attention_mask.

import type { ModelSpec } from '../arch/spec.js';
import { DT, GraphBuilder, intAttr, type ElemType } from './onnx-builder.js';
import { block, embed, outputLayer, ropeTables, shapeWith, type Body } from './transformer.js';

export interface ScorePart {
  /** First layer (inclusive) and last (exclusive). */
  from: number;
  to: number;
  first: boolean;
  last: boolean;
}

export function buildScoreGraph(spec: ModelSpec, T: ElemType, part: ScorePart = { from: 0, to: spec.layers, first: true, last: true }): GraphBuilder {
  const g = new GraphBuilder(`${spec.architecture}_score_${part.from}_${part.to}`);
  if (part.first) g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  else g.input('hidden_in', T, ['batch_size', 'sequence_length', spec.hidden]);
  g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.BOOL, ['batch_size', 'sequence_length', 'sequence_length']);
  if (part.last) {
    g.input('score_positions', DT.INT64, ['batch_size', 'score_count']);
    g.input('target_ids', DT.INT64, ['batch_size', 'score_count']);
    g.input('logits_positions', DT.INT64, ['batch_size', 'logits_count']);
  }

  const shapeBT = g.op('Shape', ['position_ids']);
  const mask = g.op('Unsqueeze', ['attention_mask', g.i64([1, 2])]); // [B, 1, 1, T, T]
  const b: Body = { g, spec, T, shapeBT, mask, rope: null, kv: (_i, k, v) => ({ k, v }) };
  b.rope = ropeTables(b, 'position_ids');
  let h = part.first ? embed(b, 'input_ids', 'position_ids') : g.op('Reshape', ['hidden_in', g.i64([-1, spec.hidden])]);
  for (let i = part.from; i < part.to; i++) h = block(b, i, h);

  if (!part.last) {
    g.op('Reshape', [h, shapeWith(b, [spec.hidden])], [], 'hidden');
    g.output('hidden', T, ['batch_size', 'sequence_length', spec.hidden]);
    return g;
  }

  // Row r of batch b is row b·T + r of the flattened stream.
  const zero = g.i64([0], []);
  const one = g.i64([1], []);
  const batch = g.op('Gather', [shapeBT, zero], [intAttr('axis', 0)]);
  const seq = g.op('Gather', [shapeBT, one], [intAttr('axis', 0)]);
  const base = g.op('Unsqueeze', [g.op('Mul', [g.op('Range', [zero, batch, one]), seq]), g.i64([1])]); // [B, 1]
  const flat = (positions: string): string => g.op('Reshape', [g.op('Add', [positions, base]), g.i64([-1])]);
  const scoreRows = flat('score_positions');
  const logitRows = flat('logits_positions');
  const rows = g.op('Gather', [h, g.op('Concat', [scoreRows, logitRows], [intAttr('axis', 0)])], [intAttr('axis', 0)]);
  const logits = outputLayer(b, rows); // float32 [B·K + B·L, vocab]

  const nScore = g.op('Shape', [scoreRows]);
  const nAll = g.op('Shape', [rows], [intAttr('end', 1)]);
  const axis0 = g.i64([0]);
  const scored = g.op('Slice', [logits, g.i64([0]), nScore, axis0]);
  const rest = g.op('Slice', [logits, nScore, nAll, axis0]);
  const logp = g.op('LogSoftmax', [scored], [intAttr('axis', -1)]);
  const picked = g.op('GatherElements', [logp, g.op('Reshape', ['target_ids', g.i64([-1, 1])])], [intAttr('axis', 1)]);
  g.op('Reshape', [picked, g.op('Shape', ['score_positions'])], [intAttr('allowzero', 1)], 'logprobs');
  const shapeBLV = g.op('Concat', [g.op('Shape', ['logits_positions']), g.i64([spec.vocab])], [intAttr('axis', 0)]);
  g.op('Reshape', [rest, shapeBLV], [intAttr('allowzero', 1)], 'logits');
  g.output('logprobs', DT.FLOAT, ['batch_size', 'score_count']);
  g.output('logits', DT.FLOAT, ['batch_size', 'logits_count', spec.vocab]);
  return g;
}

/**
 * Consecutive layer ranges for N devices, balanced like accelerate's device_map="auto" with equal
 * budgets: the embedding counts towards the first part and the output layer towards the last, so
 * those hold fewer blocks when the vocabulary is large.
 */
export function splitLayers(spec: ModelSpec, parts: number): ScorePart[] {
  const L = spec.layers;
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`scoringParts must be a positive integer, got ${parts}`);
  if (parts > L) throw new Error(`scoringParts ${parts} exceeds the model's ${L} layers`);
  const H = spec.hidden;
  const blockSize = H * spec.headDim * (2 * spec.heads + 2 * spec.kvHeads) + (spec.mlp.gated ? 3 : 2) * H * spec.mlp.inner;
  const embedSize = spec.embedRows * H;
  const headSize = spec.tiedHead ? 0 : spec.vocab * H;
  const cost = (i: number): number => blockSize + (i === 0 ? embedSize : 0) + (i === L - 1 ? headSize : 0);
  const total = Array.from({ length: L }, (_, i) => cost(i)).reduce((a, c) => a + c, 0);
  const out: ScorePart[] = [];
  let from = 0;
  let acc = 0;
  for (let p = 0; p < parts; p++) {
    const target = (total * (p + 1)) / parts;
    let to = from;
    const mustLeave = parts - p - 1; // later parts need at least one layer each
    while (to < L - mustLeave && (to === from || acc + cost(to) / 2 <= target)) acc += cost(to++);
    if (p === parts - 1) while (to < L) acc += cost(to++);
    out.push({ from, to, first: p === 0, last: p === parts - 1 });
    from = to;
  }
  return out;
}
