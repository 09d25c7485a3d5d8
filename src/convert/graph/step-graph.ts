// The step graph (onnx/step{_fp16}.onnx): the decoder for batched greedy generation with a
// key/value cache of fixed capacity that the caller keeps (src/lm/greedy.ts). The transformers.js
// decoder (decoder-graph.ts) concatenates past and new keys/values inside the graph and returns the
// whole grown cache every step: a full copy of the cache in the graph and another into JavaScript
// per generated token. Here the cache comes in as it is (onnxruntime reads the caller's buffer) and
// only this call's keys/values come out; the caller writes them into its buffer at `past_length`.
//   input_ids, position_ids int64 [batch_size, sequence_length]
//   past_length             int64 scalar: cache slots already written (the new tokens' first index)
//   attention_mask          int64 [batch_size, capacity + sequence_length]: cache slots, then the
//                           new tokens (1 = real; unwritten slots must be 0)
//   cache.{i}.key/.value    [batch_size, kvHeads, capacity, headDim] (graph dtype)
//   → logits float32 [batch_size, 1, vocab] (last position only)
//     next_token            int64 [batch_size]: the logits' argmax (first of equal maxima)
//     key.{i}, value.{i}    [batch_size, kvHeads, sequence_length, headDim]
// Attention is the decoder graph's (float64 softmax over cache slots and new keys together), with
// the probabilities × values product split in two: over the cache slots, plus over the new keys.
// Unwritten and padding slots get exact zero weight, so a row computes the same numbers at any
// capacity and any left padding (the padding invariance of decoder-graph.ts).

import type { ModelSpec } from '../arch/spec.js';
import { DT, GraphBuilder, intAttr, type ElemType } from './onnx-builder.js';
import { block, causalPaddingMask, embed, outputLayer, ropeTables, type Body } from './transformer.js';

export function buildStepGraph(spec: ModelSpec, T: ElemType): GraphBuilder {
  const g = new GraphBuilder(`${spec.architecture}_step`);
  const { kvHeads, headDim, layers } = spec;
  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('past_length', DT.INT64, []);
  g.input('attention_mask', DT.INT64, ['batch_size', 'capacity_plus_sequence_length']);
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) g.input(`cache.${i}.${kv}`, T, ['batch_size', kvHeads, 'capacity', headDim]);
  }

  const shapeBT = g.op('Shape', ['input_ids']);
  const one = g.i64([1], []);
  const zero = g.i64([0], []);
  const seq = g.op('Gather', [shapeBT, one], [intAttr('axis', 0)]);
  const capacity = g.op('Gather', [g.op('Shape', ['cache.0.key']), g.i64([2], [])], [intAttr('axis', 0)]);
  const past = 'past_length';
  const newIdx = g.op('Add', [g.op('Range', [zero, seq, one]), past]); // [T]: the new tokens' indices
  const qIdx = g.op('Unsqueeze', [newIdx, g.i64([1])]); // [T, 1]
  const kIdx = g.op('Unsqueeze', [g.op('Concat', [g.op('Range', [zero, capacity, one]), newIdx], [intAttr('axis', 0)]), g.i64([0])]); // [1, C + T]
  const mask = causalPaddingMask(g, spec, qIdx, kIdx, 'attention_mask'); // [B, 1, 1, T, S]

  const b: Body = {
    g,
    spec,
    T,
    shapeBT,
    mask,
    rope: null,
    softmaxF64: true,
    kv(i, k, v) {
      return { k: g.op('Identity', [k], [], `key.${i}`), v: g.op('Identity', [v], [], `value.${i}`) };
    },
    cache(i) {
      return { k: `cache.${i}.key`, v: `cache.${i}.value` };
    },
  };
  b.rope = ropeTables(b, 'position_ids');
  let h = embed(b, 'input_ids', 'position_ids');
  for (let i = 0; i < layers; i++) h = block(b, i, h);
  // The last position of each row only: greedy decoding needs nothing else.
  const h3 = g.op('Reshape', [h, g.op('Concat', [shapeBT, g.i64([spec.hidden])], [intAttr('axis', 0)])]);
  const last = g.op('Slice', [h3, g.op('Sub', [g.op('Unsqueeze', [seq, g.i64([0])]), g.i64([1])]), g.op('Unsqueeze', [seq, g.i64([0])]), g.i64([1])]);
  const logits = outputLayer(b, g.op('Reshape', [last, g.i64([-1, spec.hidden])]));
  g.op('Reshape', [logits, g.i64([-1, 1, spec.vocab])], [], 'logits');
  // Greedy decoding reads only the argmax (the first of equal maxima, as greedy.ts's own argmax):
  // fetching it instead of the logits spares copying batch × vocab floats out every step.
  g.op('ArgMax', [logits], [intAttr('axis', 1), intAttr('keepdims', 0)], 'next_token');

  g.output('logits', DT.FLOAT, ['batch_size', 1, spec.vocab]);
  g.output('next_token', DT.INT64, ['batch_size']);
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) g.output(`${kv}.${i}`, T, ['batch_size', kvHeads, 'sequence_length', headDim]);
  }
  return g;
}
