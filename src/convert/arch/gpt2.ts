// GPT-2 (GPT2LMHeadModel): learned positions, pre-LN blocks with LayerNorm, fused c_attn in
// Conv1D layout ([in, out], columns q | k | v), gelu_new MLP, output layer tied to wte unless the
// config unties it and the file holds lm_head.weight. The hub's original gpt2 checkpoints name
// tensors without the `transformer.` prefix; both spellings are read.

import type { CheckpointReader } from '../readers/types.js';
import { activation } from './activation.js';
import type { ArchPlan, ModelSpec, WeightSpec } from './spec.js';
import { ConfigView, direct } from './tensors.js';

export function planGpt2(raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan {
  const cfg = new ConfigView(raw, 'gpt2');
  const hidden = cfg.int('n_embd');
  const heads = cfg.int('n_head');
  const layers = cfg.int('n_layer');
  const vocab = cfg.int('vocab_size');
  const positions = cfg.int('n_positions');
  const inner = cfg.has('n_inner') ? cfg.int('n_inner') : 4 * hidden;
  const eps = cfg.num('layer_norm_epsilon', 1e-5);
  if (hidden % heads !== 0) cfg.reject('n_head', `(${heads}) does not divide n_embd (${hidden})`);
  const headDim = hidden / heads;
  const scaleWeights = cfg.bool('scale_attn_weights', true);
  const byLayer = cfg.bool('scale_attn_by_inverse_layer_idx', false);
  const pre = reader.has('transformer.wte.weight') ? 'transformer.' : '';
  const tied = !(raw['tie_word_embeddings'] === false && reader.has('lm_head.weight'));

  const spec: ModelSpec = {
    architecture: 'gpt2',
    modelType: 'gpt2',
    hidden,
    layers,
    heads,
    kvHeads: heads,
    headDim,
    vocab,
    embedRows: vocab,
    maxPositions: positions,
    norm: { kind: 'layer', eps, affine: true, bias: true },
    positions: { kind: 'learned' },
    parallelResidual: false,
    mlp: { gated: false, act: activation(cfg, 'activation_function', 'gelu_new'), inner },
    linearLayout: 'in_out',
    bias: { qkv: true, o: true, mlp: true },
    clipQkv: null,
    embedScale: null,
    logitScale: null,
    slidingWindow: null,
    attnScale: Array.from({ length: layers }, (_, i) => (scaleWeights ? 1 / Math.sqrt(headDim) : 1) / (byLayer ? i + 1 : 1)),
    tiedHead: tied,
  };

  const w: WeightSpec[] = [
    direct(reader, 'embed', `${pre}wte.weight`, [vocab, hidden]),
    direct(reader, 'pos_embed', `${pre}wpe.weight`, [positions, hidden]),
  ];
  for (let i = 0; i < layers; i++) {
    const p = `${pre}h.${i}`;
    w.push(
      direct(reader, `l${i}.norm1.w`, `${p}.ln_1.weight`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.norm1.b`, `${p}.ln_1.bias`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.qkv.w`, `${p}.attn.c_attn.weight`, [hidden, 3 * hidden]),
      direct(reader, `l${i}.qkv.b`, `${p}.attn.c_attn.bias`, [3 * hidden]),
      direct(reader, `l${i}.o.w`, `${p}.attn.c_proj.weight`, [hidden, hidden]),
      direct(reader, `l${i}.o.b`, `${p}.attn.c_proj.bias`, [hidden]),
      direct(reader, `l${i}.norm2.w`, `${p}.ln_2.weight`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.norm2.b`, `${p}.ln_2.bias`, [hidden], { keepFp32: true }),
      direct(reader, `l${i}.up.w`, `${p}.mlp.c_fc.weight`, [hidden, inner]),
      direct(reader, `l${i}.up.b`, `${p}.mlp.c_fc.bias`, [inner]),
      direct(reader, `l${i}.down.w`, `${p}.mlp.c_proj.weight`, [inner, hidden]),
      direct(reader, `l${i}.down.b`, `${p}.mlp.c_proj.bias`, [hidden]),
    );
  }
  w.push(
    direct(reader, 'final_norm.w', `${pre}ln_f.weight`, [hidden], { keepFp32: true }),
    direct(reader, 'final_norm.b', `${pre}ln_f.bias`, [hidden], { keepFp32: true }),
  );
  if (!tied) w.push(direct(reader, 'head', 'lm_head.weight', [vocab, hidden]));
  return { spec, weights: w, jsConfig: { ...raw } };
}
