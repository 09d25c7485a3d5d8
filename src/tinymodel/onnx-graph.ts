// The GPT-2 forward pass as an ONNX graph, written node by node (no Python, no exporter).
//
// Inputs and outputs are the ones transformers.js feeds to decoder-only models (see
// @huggingface/transformers src/models/modeling_utils.js, decoder_forward/addPastKeyValues):
//   input_ids, position_ids int64 [batch_size, sequence_length]
//   attention_mask          int64 [batch_size, total_sequence_length]
//   past_key_values.{i}.key/.value float32 [batch_size, n_head, past_sequence_length, head_dim]
//   -> logits float32 [batch_size, sequence_length, vocab], present.{i}.key/.value
//      float32 [batch_size, n_head, total_sequence_length, head_dim]
// transformers.js makes the first step's empty past by setting the dim named `batch_size` to the
// batch and every other named dim to 0, so the dim_param names matter.
//
// Semantics follow Hugging Face's GPT2LMHeadModel: pre-LN blocks, gelu_new (tanh form), scaled
// dot-product attention whose mask is causal (query at absolute position past+s sees keys 0..past+s)
// AND the attention mask (padding); masked scores are replaced by a large negative number, and
// the LM head reuses the token embedding (stored once, transposed in the graph).

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { NamedTensor, TinyGpt2Sizes } from './weights.js';
import { valueInfo } from '../convert/graph/onnx-builder.js';

const { onnx } = onnxProto;

/** Opset 17: the first with LayerNormalization; Split still takes its sizes as an input. */
export const OPSET = 17;
const IR_VERSION = 8;

/** Score given to masked (future or padding) positions before the softmax. */
export const MASK_VALUE = -1e9;

type Attr = { name: string; i?: number; f?: number; ints?: number[]; type: number };
const A = onnx.AttributeProto.AttributeType;
const intAttr = (name: string, v: number): Attr => ({ name, i: v, type: A.INT });
const intsAttr = (name: string, v: number[]): Attr => ({ name, ints: v, type: A.INTS });
const floatAttr = (name: string, v: number): Attr => ({ name, f: v, type: A.FLOAT });

function bytesOf(view: Float32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian; so are all the machines this project runs on (x86-64, arm64).
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Collects nodes and initializers with unique, readable names. */
class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private counter = 0;

  node(op: string, inputs: string[], attrs: Attr[] = [], outputs?: string[]): string[] {
    const id = this.counter++;
    const outs = outputs ?? [`${op.toLowerCase()}_${id}`];
    this.nodes.push({ opType: op, name: `${op}_${id}`, input: inputs, output: outs, attribute: attrs });
    return outs;
  }

  /** Single-output shorthand. */
  op(op: string, inputs: string[], attrs: Attr[] = [], output?: string): string {
    return this.node(op, inputs, attrs, output === undefined ? undefined : [output])[0]!;
  }

  float(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  int64(name: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: bytesOf(data) });
    return name;
  }
}


/** Build the serialised ONNX model for the given sizes and weights (from makeWeights). */
export function buildGpt2Onnx(sizes: TinyGpt2Sizes, weights: NamedTensor[], eps = 1e-5): Uint8Array {
  const { nLayer, nHead, nEmbd } = sizes;
  const headDim = nEmbd / nHead;
  const g = new GraphBuilder();
  const w = new Map(weights.map((t) => [t.name, t]));
  const weight = (name: string): string => {
    const t = w.get(name);
    if (!t) throw new Error(`tinymodel: weight "${name}" is missing from the weight list`);
    return g.float(name, t.dims, t.data);
  };

  // Constants shared by all layers.
  const one = g.int64('const_one', [], [1]);
  const zero = g.int64('const_zero', [], [0]);
  const axis0 = g.int64('const_axes_0', [1], [0]);
  const axis1 = g.int64('const_axes_1', [1], [1]);
  const axes12 = g.int64('const_axes_1_2', [2], [1, 2]);
  const headShape = g.int64('const_head_shape', [4], [0, 0, nHead, headDim]);
  const mergeShape = g.int64('const_merge_shape', [3], [0, 0, nEmbd]);
  const scale = g.float('const_attn_scale', [], new Float32Array([1 / Math.sqrt(headDim)]));
  const maskValue = g.float('const_mask_value', [], new Float32Array([MASK_VALUE]));
  const half = g.float('const_half', [], new Float32Array([0.5]));
  const oneF = g.float('const_one_f', [], new Float32Array([1]));
  const geluC = g.float('const_gelu_c', [], new Float32Array([Math.sqrt(2 / Math.PI)]));
  const geluK = g.float('const_gelu_k', [], new Float32Array([0.044715]));
  const three = g.float('const_three', [], new Float32Array([3]));

  // Embeddings: token + position.
  const wte = weight('transformer.wte.weight');
  const wpe = weight('transformer.wpe.weight');
  const tok = g.op('Gather', [wte, 'input_ids'], [intAttr('axis', 0)]);
  const pos = g.op('Gather', [wpe, 'position_ids'], [intAttr('axis', 0)]);
  let h = g.op('Add', [tok, pos]);

  // Mask [batch, 1, seq, total]: key j is visible to query s iff j <= past + s and mask[b, j] = 1.
  const total = g.op('Gather', [g.op('Shape', ['attention_mask']), one], [intAttr('axis', 0)]);
  const seq = g.op('Gather', [g.op('Shape', ['input_ids']), one], [intAttr('axis', 0)]);
  const past = g.op('Sub', [total, seq]);
  const qPos = g.op('Unsqueeze', [g.op('Range', [past, total, one]), axis1]); // [seq, 1]
  const kPos = g.op('Unsqueeze', [g.op('Range', [zero, total, one]), axis0]); // [1, total]
  const causal = g.op('Not', [g.op('Greater', [kPos, qPos])]); // [seq, total]
  const padding = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], [intAttr('to', onnx.TensorProto.DataType.BOOL)]), axes12]);
  const visible = g.op('And', [padding, causal], [], 'attention_visible'); // [batch, 1, seq, total]

  const layerNorm = (x: string, prefix: string): string =>
    g.op('LayerNormalization', [x, weight(`${prefix}.weight`), weight(`${prefix}.bias`)], [intAttr('axis', -1), floatAttr('epsilon', eps)]);
  const linear = (x: string, prefix: string): string =>
    g.op('Add', [g.op('MatMul', [x, weight(`${prefix}.weight`)]), weight(`${prefix}.bias`)]);
  const toHeads = (x: string): string =>
    g.op('Transpose', [g.op('Reshape', [x, headShape])], [intsAttr('perm', [0, 2, 1, 3])]);

  for (let i = 0; i < nLayer; i++) {
    const p = `transformer.h.${i}`;
    // Attention.
    const qkv = linear(layerNorm(h, `${p}.ln_1`), `${p}.attn.c_attn`);
    const [q, k, v] = g.node('Split', [qkv], [intAttr('axis', 2)], [`q_${i}`, `k_${i}`, `v_${i}`]) as [string, string, string];
    const keys = g.op('Concat', [`past_key_values.${i}.key`, toHeads(k)], [intAttr('axis', 2)], `present.${i}.key`);
    const values = g.op('Concat', [`past_key_values.${i}.value`, toHeads(v)], [intAttr('axis', 2)], `present.${i}.value`);
    const kT = g.op('Transpose', [keys], [intsAttr('perm', [0, 1, 3, 2])]);
    const scores = g.op('Mul', [g.op('MatMul', [toHeads(q), kT]), scale]);
    const probs = g.op('Softmax', [g.op('Where', [visible, scores, maskValue])], [intAttr('axis', -1)]);
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, values])], [intsAttr('perm', [0, 2, 1, 3])]);
    h = g.op('Add', [h, linear(g.op('Reshape', [ctx, mergeShape]), `${p}.attn.c_proj`)]);
    // MLP with gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    const a = linear(layerNorm(h, `${p}.ln_2`), `${p}.mlp.c_fc`);
    const inner = g.op('Mul', [geluC, g.op('Add', [a, g.op('Mul', [geluK, g.op('Pow', [a, three])])])]);
    const gelu = g.op('Mul', [g.op('Mul', [half, a]), g.op('Add', [oneF, g.op('Tanh', [inner])])]);
    h = g.op('Add', [h, linear(gelu, `${p}.mlp.c_proj`)]);
  }

  // LM head tied to the token embedding.
  const final = layerNorm(h, 'transformer.ln_f');
  const wteT = g.op('Transpose', [wte], [intsAttr('perm', [1, 0])]);
  g.op('MatMul', [final, wteT], [], 'logits');

  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const inputs = [
    valueInfo('input_ids', I64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', I64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', I64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [valueInfo('logits', F, ['batch_size', 'sequence_length', sizes.vocabSize])];
  for (let i = 0; i < nLayer; i++) {
    for (const kv of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${i}.${kv}`, F, ['batch_size', nHead, 'past_sequence_length', headDim]));
      outputs.push(valueInfo(`present.${i}.${kv}`, F, ['batch_size', nHead, 'total_sequence_length', headDim]));
    }
  }

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'lm-task-demands/tinymodel',
    producerVersion: '1',
    graph: { name: 'tiny_gpt2', node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}
