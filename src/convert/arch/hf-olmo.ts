// The paper's OLMo layout: allenai/OLMo v0.2.4 `hf_olmo.OLMoForCausalLM` (allenai/OLMo-1B, -7B),
// read from olmo/model.py at that tag, never by running the hub repo's remote code:
//   - names `model.transformer.{wte, blocks.N.{att_proj, attn_out, ff_proj, ff_out, attn_norm,
//     ff_norm}, ln_f, ff_out}`; att_proj is fused [q | k | v] (k/v one head wide with
//     multi_query_attention);
//   - OlmoSequentialBlock: x + attn_out(attn(att_proj(attn_norm(x)))), then
//     x + ff_out(act(ff_proj(ff_norm(x))));
//   - SwiGLU: `x, gate = ff_proj(x).chunk(2, -1); silu(gate) * x` — the first half is the linear
//     part, the second the gate (regrouped here into the builder's [gate | up]);
//   - LayerNorm eps 1e-5 (not configurable at 0.2.4), affine per layer_norm_with_affine, bias per
//     bias_for_layer_norm (null → include_bias); `rms` and `amd_compatible` types too;
//   - rope with base 10000 (rope_theta in later versions), rotate_half, full head; positions by
//     index, which equal the position ids the project feeds (0-based, right padding);
//   - logits as wide as embedding_size (≥ vocab_size), from wte when weight_tying, else
//     transformer.ff_out; × 1/sqrt(d_model) when scale_logits.
// config.json for transformers.js is rewritten with native OLMo keys so it computes cache shapes.

import type { CheckpointReader } from '../readers/types.js';
import type { Activation, ArchPlan, ModelSpec, NormSpec, WeightSpec } from './spec.js';
import { ConfigView, direct, stackRows } from './tensors.js';

export function planHfOlmo(raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan {
  const cfg = new ConfigView(raw, 'hf_olmo');
  const d = cfg.int('d_model', 768);
  const heads = cfg.int('n_heads', 12);
  const layers = cfg.int('n_layers', 12);
  const vocabSize = cfg.int('vocab_size', 50257);
  const embedRows = cfg.has('embedding_size') ? cfg.int('embedding_size') : vocabSize;
  if (embedRows < vocabSize) cfg.reject('embedding_size', `(${embedRows}) is smaller than vocab_size (${vocabSize})`);
  cfg.oneOf('block_type', ['sequential'], 'sequential');
  if (cfg.int('block_group_size', 1) !== 1) cfg.reject('block_group_size', 'must be 1 (grouped blocks store weights under other names)');
  if (cfg.bool('alibi', false)) cfg.reject('alibi', 'is true; the converter supports rope or learned positions');
  if (cfg.bool('attention_layer_norm', false)) cfg.reject('attention_layer_norm', 'is true; q/k layer norms are not supported');
  if (d % heads !== 0) cfg.reject('n_heads', `(${heads}) does not divide d_model (${d})`);
  const D = d / heads;
  const kvHeads = cfg.bool('multi_query_attention', false) ? 1 : cfg.has('n_kv_heads') ? cfg.int('n_kv_heads') : heads;
  const hiddenFF = cfg.has('mlp_hidden_size') ? cfg.int('mlp_hidden_size') : cfg.int('mlp_ratio', 4) * d;
  const actType = cfg.oneOf('activation_type', ['swiglu', 'gelu', 'relu'], 'swiglu');
  const gated = actType === 'swiglu';
  if (gated && hiddenFF % 2 !== 0) cfg.reject('mlp_hidden_size', `(${hiddenFF}) must be even for swiglu`);
  const inner = gated ? hiddenFF / 2 : hiddenFF;
  const act: Activation = gated ? 'silu' : actType === 'gelu' ? 'gelu' : 'relu';
  const includeBias = cfg.bool('include_bias', true);
  const affine = cfg.bool('layer_norm_with_affine', true);
  const normBias = affine && (raw['bias_for_layer_norm'] === null || raw['bias_for_layer_norm'] === undefined ? includeBias : cfg.bool('bias_for_layer_norm'));
  const normType = cfg.oneOf('layer_norm_type', ['default', 'low_precision', 'rms', 'amd_compatible'], 'default');
  let norm: NormSpec;
  if (normType === 'rms') {
    if (normBias) cfg.reject('bias_for_layer_norm', 'is true with layer_norm_type "rms"; RMS norms with a bias are not supported');
    norm = { kind: 'rms', eps: 1e-5, affine };
  } else {
    norm = { kind: 'layer', eps: 1e-5, affine, bias: normBias };
  }
  const rope = cfg.bool('rope', false);
  const tied = cfg.bool('weight_tying', true);
  const maxLen = cfg.int('max_sequence_length', 1024);

  const spec: ModelSpec = {
    architecture: 'hf_olmo',
    modelType: String(raw['model_type']),
    hidden: d,
    layers,
    heads,
    kvHeads,
    headDim: D,
    vocab: embedRows,
    embedRows,
    maxPositions: maxLen,
    norm,
    positions: rope
      ? { kind: 'rope', theta: cfg.num('rope_theta', 10000), rotaryDim: D, positionDivisor: 1, fullPrecision: cfg.bool('rope_full_precision', true) }
      : { kind: 'learned' },
    parallelResidual: false,
    mlp: { gated, act, inner },
    linearLayout: 'out_in',
    bias: { qkv: includeBias, o: includeBias, mlp: includeBias },
    clipQkv: cfg.has('clip_qkv') ? cfg.num('clip_qkv') : null,
    embedScale: null,
    logitScale: cfg.bool('scale_logits', false) ? 1 / Math.sqrt(d) : null,
    slidingWindow: null,
    attnScale: new Array(layers).fill(1 / Math.sqrt(D)),
    tiedHead: tied,
  };

  const t = 'model.transformer';
  const qkvRows = d + 2 * kvHeads * D;
  const w: WeightSpec[] = [direct(reader, 'embed', `${t}.wte.weight`, [embedRows, d])];
  if (!rope) w.push(direct(reader, 'pos_embed', `${t}.wpe.weight`, [maxLen, d]));
  const normW = (name: string, prefix: string): void => {
    if (!affine) return;
    w.push(direct(reader, `${name}.w`, `${prefix}.weight`, [d], { keepFp32: true }));
    if (normBias) w.push(direct(reader, `${name}.b`, `${prefix}.bias`, [d], { keepFp32: true }));
  };
  for (let i = 0; i < layers; i++) {
    const p = `${t}.blocks.${i}`;
    normW(`l${i}.norm1`, `${p}.attn_norm`);
    w.push(direct(reader, `l${i}.qkv.w`, `${p}.att_proj.weight`, [qkvRows, d]), direct(reader, `l${i}.o.w`, `${p}.attn_out.weight`, [d, d]));
    if (includeBias) w.push(direct(reader, `l${i}.qkv.b`, `${p}.att_proj.bias`, [qkvRows]), direct(reader, `l${i}.o.b`, `${p}.attn_out.bias`, [d]));
    normW(`l${i}.norm2`, `${p}.ff_norm`);
    const ffDims = [hiddenFF, d];
    const swap = (tensor: string, dims: number[]) =>
      gated ? [{ tensor, dims, start: inner, count: inner }, { tensor, dims, start: 0, count: inner }] : [{ tensor, dims }];
    w.push(stackRows(reader, `l${i}.up.w`, swap(`${p}.ff_proj.weight`, ffDims)), direct(reader, `l${i}.down.w`, `${p}.ff_out.weight`, [d, inner]));
    if (includeBias) w.push(stackRows(reader, `l${i}.up.b`, swap(`${p}.ff_proj.bias`, [hiddenFF])), direct(reader, `l${i}.down.b`, `${p}.ff_out.bias`, [d]));
  }
  normW('final_norm', `${t}.ln_f`);
  if (!tied) w.push(direct(reader, 'head', `${t}.ff_out.weight`, [embedRows, d]));
  if (!tied && includeBias) cfg.reject('include_bias', 'is true with weight_tying false; an output layer bias is not supported');

  const jsConfig: Record<string, unknown> = {
    architectures: ['OlmoForCausalLM'],
    model_type: 'olmo',
    hidden_size: d,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    num_hidden_layers: layers,
    intermediate_size: inner,
    head_dim: D,
    hidden_act: act,
    vocab_size: embedRows,
    max_position_embeddings: maxLen,
    rope_theta: cfg.num('rope_theta', 10000),
    clip_qkv: spec.clipQkv,
    attention_bias: includeBias,
    tie_word_embeddings: tied,
    eos_token_id: raw['eos_token_id'] ?? null,
    pad_token_id: raw['pad_token_id'] ?? null,
    bos_token_id: raw['bos_token_id'] ?? null,
    torch_dtype: raw['torch_dtype'] ?? 'float32',
    use_cache: true,
  };
  return { spec, weights: w, jsConfig };
}
