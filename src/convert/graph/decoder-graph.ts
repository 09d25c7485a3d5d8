// The transformers.js decoder graph (onnx/model.onnx, model_fp16.onnx), with the inputs and
// outputs transformers.js feeds decoder-only models (@huggingface/transformers
// src/models/modeling_utils.js, addPastKeyValues / getPastKeyValues):
//   input_ids, position_ids int64 [batch_size, sequence_length]
//   attention_mask          int64 [batch_size, total_sequence_length] (1 = real token)
//   past_key_values.{i}.key/.value [batch_size, kvHeads, past_sequence_length, headDim] (graph dtype)
//   num_logits_to_keep      int64 scalar: 0 = logits for every position, k > 0 = the last k only
//     (transformers.js feeds 1 while generating and 0 for any other forward call)
//   → logits float32 [batch_size, logits_sequence_length, vocab]
//     present.{i}.key/.value [batch_size, kvHeads, total_sequence_length, headDim]
// transformers.js v4 makes the first step's empty cache from the session's input metadata: the dim
// named `batch_size` gets the batch, every other named dim 0, numbers stay — so heads and head
// size are fixed numbers and the dtype follows the graph. Logits are float32 even in an fp16 graph
// (transformers.js would cast fp16 logits anyway; the scoring code reads float32).
//
// The attention softmax runs in float64 (cast back to float32): its sum over keys is then the same,
// after rounding, wherever a row's keys sit in a left-padded batch, and the probabilities × values
// product adds the pads' exact zeros in sequence, so on the CPU a row's logits are bit-identical
// alone and in a padded batch (measured on every hf-tiny model; float32 sums differed by up to 4e-6).
// Batched greedy generation relies on it (src/lm/greedy.ts, DECODER_INFO below).
//
// Attention follows Hugging Face: query at absolute index past+t sees key j iff j <= past+t, the
// attention mask marks j real, and (Mistral) past+t − j <= sliding_window.

import type { ModelSpec } from '../arch/spec.js';
import { DT, GraphBuilder, intAttr, type ElemType } from './onnx-builder.js';
import { block, causalPaddingMask, embed, outputLayer, ropeTables, type Body } from './transformer.js';

export function buildDecoderGraph(spec: ModelSpec, T: ElemType): GraphBuilder {
  const g = new GraphBuilder(`${spec.architecture}_decoder`);
  const { kvHeads, headDim, layers } = spec;
  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('num_logits_to_keep', DT.INT64, []);
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) g.input(`past_key_values.${i}.${kv}`, T, ['batch_size', kvHeads, 'past_sequence_length', headDim]);
  }

  const shapeBT = g.op('Shape', ['input_ids']);
  const one = g.i64([1], []);
  const zero = g.i64([0], []);
  const total = g.op('Gather', [g.op('Shape', ['attention_mask']), one], [intAttr('axis', 0)]);
  const seq = g.op('Gather', [shapeBT, one], [intAttr('axis', 0)]);
  const past = g.op('Sub', [total, seq]);
  const qIdx = g.op('Unsqueeze', [g.op('Range', [past, total, one]), g.i64([1])]); // [T, 1]
  const kIdx = g.op('Unsqueeze', [g.op('Range', [zero, total, one]), g.i64([0])]); // [1, S]
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
      return {
        k: g.op('Concat', [`past_key_values.${i}.key`, k], [intAttr('axis', 2)], `present.${i}.key`),
        v: g.op('Concat', [`past_key_values.${i}.value`, v], [intAttr('axis', 2)], `present.${i}.value`),
      };
    },
  };
  b.rope = ropeTables(b, 'position_ids');
  let h = embed(b, 'input_ids', 'position_ids');
  for (let i = 0; i < layers; i++) h = block(b, i, h);
  // Keep the last num_logits_to_keep positions (all when 0) before the output layer.
  const keep = g.op('Reshape', ['num_logits_to_keep', g.i64([1])]);
  const start = g.op('Where', [g.op('Greater', [keep, g.i64([0])]), g.op('Max', [g.op('Sub', [seq, keep]), g.i64([0])]), g.i64([0])]);
  const h3 = g.op('Reshape', [h, g.op('Concat', [shapeBT, g.i64([spec.hidden])], [intAttr('axis', 0)])]);
  const kept = g.op('Slice', [h3, start, g.op('Unsqueeze', [seq, g.i64([0])]), g.i64([1])]);
  const logits = outputLayer(b, g.op('Reshape', [kept, g.i64([-1, spec.hidden])]));
  const shapeBKV = g.op('Concat', [g.op('Shape', [kept], [intAttr('end', 2)]), g.i64([spec.vocab])], [intAttr('axis', 0)]);
  g.op('Reshape', [logits, shapeBKV], [], 'logits');

  g.output('logits', DT.FLOAT, ['batch_size', 'logits_sequence_length', spec.vocab]);
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) g.output(`present.${i}.${kv}`, T, ['batch_size', kvHeads, 'total_sequence_length', headDim]);
  }
  return g;
}

/** Written beside the decoder graph (onnx/decoder.json): what src/lm may rely on. */
export const DECODER_INFO = { attention_softmax: 'float64', padding_invariant_on: 'cpu-fp32' } as const;
