// GPT-NeoX / Pythia (transformers v4.40 GPTNeoXForCausalLM): LayerNorm with bias, a fused
// query_key_value whose rows are laid out per head ([h0: q k v][h1: q k v]…, regrouped here into
// [q heads | k heads | v heads]), rope on the first int(head_size · rotary_pct) dims of each head
// (rotate_half), parallel residual x + attn(ln1(x)) + mlp(ln2(x)) or sequential, gelu MLP with
// biases, and an untied `embed_out` unless tie_word_embeddings.

import type { CheckpointReader } from '../readers/types.js';
import { activation } from './activation.js';
import { ropeDivisor } from './llama.js';
import type { ArchPlan, ModelSpec, WeightSpec } from './spec.js';
import { ConfigView, direct, stackRows, type RowPart } from './tensors.js';

export function planGptNeox(raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan {
  const cfg = new ConfigView(raw, 'gpt_neox');
  const hidden = cfg.int('hidden_size');
  const heads = cfg.int('num_attention_heads');
  const layers = cfg.int('num_hidden_layers');
  const vocab = cfg.int('vocab_size');
  const inner = cfg.int('intermediate_size');
  if (hidden % heads !== 0) cfg.reject('num_attention_heads', `(${heads}) does not divide hidden_size (${hidden})`);
  const D = hidden / heads;
  // Later transformers versions spell these partial_rotary_factor and rope_theta.
  const pct = cfg.has('rotary_pct') ? cfg.num('rotary_pct') : cfg.num('partial_rotary_factor', 0.25);
  const rotaryDim = Math.floor(D * pct);
  if (rotaryDim % 2 !== 0 || rotaryDim === 0) cfg.reject('rotary_pct', `gives ${rotaryDim} rotary dims per head; the converter needs an even, positive number`);
  const bias = cfg.bool('attention_bias', true);
  const tied = cfg.bool('tie_word_embeddings', false);

  const spec: ModelSpec = {
    architecture: 'gpt_neox',
    modelType: 'gpt_neox',
    hidden,
    layers,
    heads,
    kvHeads: heads,
    headDim: D,
    vocab,
    embedRows: vocab,
    maxPositions: cfg.has('max_position_embeddings') ? cfg.int('max_position_embeddings') : null,
    norm: { kind: 'layer', eps: cfg.num('layer_norm_eps', 1e-5), affine: true, bias: true },
    positions: { kind: 'rope', theta: cfg.has('rotary_emb_base') ? cfg.num('rotary_emb_base') : cfg.num('rope_theta', 10000), rotaryDim, positionDivisor: ropeDivisor(cfg), fullPrecision: false },
    parallelResidual: cfg.bool('use_parallel_residual', true),
    mlp: { gated: false, act: activation(cfg, 'hidden_act', 'gelu'), inner },
    linearLayout: 'out_in',
    bias: { qkv: bias, o: bias, mlp: true },
    clipQkv: null,
    embedScale: null,
    logitScale: null,
    slidingWindow: null,
    attnScale: new Array(layers).fill(1 / Math.sqrt(D)),
    tiedHead: tied,
  };

  const perHead = (tensor: string, dims: number[]): RowPart[] =>
    [0, 1, 2].flatMap((j) => Array.from({ length: heads }, (_, h) => ({ tensor, dims, start: h * 3 * D + j * D, count: D })));
  const w: WeightSpec[] = [direct(reader, 'embed', 'gpt_neox.embed_in.weight', [vocab, hidden])];
  for (let i = 0; i < layers; i++) {
    const p = `gpt_neox.layers.${i}`;
    w.push(
      direct(reader, `l${i}.norm1.w`, `${p}.input_layernorm.weight`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.norm1.b`, `${p}.input_layernorm.bias`, [hidden], { keepFp32: true }),
      stackRows(reader, `l${i}.qkv.w`, perHead(`${p}.attention.query_key_value.weight`, [3 * hidden, hidden])),
      direct(reader, `l${i}.o.w`, `${p}.attention.dense.weight`, [hidden, hidden]),
    );
    if (bias) {
      w.push(
        stackRows(reader, `l${i}.qkv.b`, perHead(`${p}.attention.query_key_value.bias`, [3 * hidden])),
        direct(reader, `l${i}.o.b`, `${p}.attention.dense.bias`, [hidden]),
      );
    }
    w.push(
      direct(reader, `l${i}.norm2.w`, `${p}.post_attention_layernorm.weight`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.norm2.b`, `${p}.post_attention_layernorm.bias`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.up.w`, `${p}.mlp.dense_h_to_4h.weight`, [inner, hidden]),
      direct(reader, `l${i}.up.b`, `${p}.mlp.dense_h_to_4h.bias`, [inner]),
      direct(reader, `l${i}.down.w`, `${p}.mlp.dense_4h_to_h.weight`, [hidden, inner]),
      direct(reader, `l${i}.down.b`, `${p}.mlp.dense_4h_to_h.bias`, [hidden]),
    );
  }
  w.push(
    direct(reader, 'final_norm.w', 'gpt_neox.final_layer_norm.weight', [hidden], { keepFp32: true }),
    direct(reader, 'final_norm.b', 'gpt_neox.final_layer_norm.bias', [hidden], { keepFp32: true }),
  );
  if (!tied) w.push(direct(reader, 'head', 'embed_out.weight', [vocab, hidden]));
  return { spec, weights: w, jsConfig: { ...raw } };
}
