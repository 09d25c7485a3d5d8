// The Llama family (transformers v4.40 LlamaForCausalLM, and the variants in mistral.ts,
// gemma.ts and olmo.ts): rope on every head dim (rotate_half), grouped-query attention
// (num_key_value_heads), separate q/k/v projections fused here into one [q | k | v] weight, gated
// MLP down(act(gate(x)) · up(x)), sequential residual, untied lm_head unless tie_word_embeddings.

import type { CheckpointReader } from '../readers/types.js';
import { activation } from './activation.js';
import type { Activation, ArchPlan, Architecture, ModelSpec, NormSpec, WeightSpec } from './spec.js';
import { ConfigView, direct, mapped, stackRows } from './tensors.js';

export interface LlamaVariant {
  architecture: Architecture;
  /** Norm for the config (RMSNorm, or OLMo's non-parametric LayerNorm). */
  norm(cfg: ConfigView): NormSpec;
  /** Gemma's RMSNorm multiplies by (1 + w). */
  normOnePlus: boolean;
  act(cfg: ConfigView): Activation;
  tieDefault: boolean;
  headDim(cfg: ConfigView, hidden: number, heads: number): number;
  embedScale(hidden: number): number | null;
  slidingWindow(cfg: ConfigView): number | null;
  clipQkv(cfg: ConfigView): number | null;
}

export const LLAMA: LlamaVariant = {
  architecture: 'llama',
  norm: (cfg) => ({ kind: 'rms', eps: cfg.num('rms_norm_eps', 1e-6), affine: true }),
  normOnePlus: false,
  act: (cfg) => activation(cfg, 'hidden_act', 'silu'),
  tieDefault: false,
  headDim: (cfg, hidden, heads) => (cfg.has('head_dim') ? cfg.int('head_dim') : hidden / heads),
  embedScale: () => null,
  slidingWindow: () => null,
  clipQkv: () => null,
};

export function ropeDivisor(cfg: ConfigView): number {
  const s = cfg.raw['rope_scaling'];
  if (s === undefined || s === null) return 1;
  const kind = typeof s === 'object' ? (s as Record<string, unknown>)['type'] ?? (s as Record<string, unknown>)['rope_type'] : undefined;
  const factor = typeof s === 'object' ? (s as Record<string, unknown>)['factor'] : undefined;
  if (kind === 'linear' && typeof factor === 'number' && factor > 0) return factor;
  cfg.reject('rope_scaling', `is ${JSON.stringify(s)}; the converter supports null or {"type": "linear", "factor": f}`);
}

export function planLlamaFamily(raw: Record<string, unknown>, reader: CheckpointReader, v: LlamaVariant): ArchPlan {
  const cfg = new ConfigView(raw, v.architecture);
  const hidden = cfg.int('hidden_size');
  const heads = cfg.int('num_attention_heads');
  const kvHeads = cfg.int('num_key_value_heads', heads);
  const layers = cfg.int('num_hidden_layers');
  const vocab = cfg.int('vocab_size');
  const inner = cfg.int('intermediate_size');
  if (heads % kvHeads !== 0) cfg.reject('num_key_value_heads', `(${kvHeads}) does not divide num_attention_heads (${heads})`);
  const headDim = v.headDim(cfg, hidden, heads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) cfg.reject('head_dim', `must be an even integer, got ${headDim}`);
  const attnBias = cfg.bool('attention_bias', false);
  const mlpBias = cfg.bool('mlp_bias', false);
  const tied = cfg.bool('tie_word_embeddings', v.tieDefault);
  const norm = v.norm(cfg);

  const spec: ModelSpec = {
    architecture: v.architecture,
    modelType: String(raw['model_type']),
    hidden,
    layers,
    heads,
    kvHeads,
    headDim,
    vocab,
    embedRows: vocab,
    maxPositions: cfg.has('max_position_embeddings') ? cfg.int('max_position_embeddings') : null,
    norm,
    positions: { kind: 'rope', theta: cfg.num('rope_theta', 10000), rotaryDim: headDim, positionDivisor: ropeDivisor(cfg), fullPrecision: false },
    parallelResidual: false,
    mlp: { gated: true, act: v.act(cfg), inner },
    linearLayout: 'out_in',
    bias: { qkv: attnBias, o: attnBias, mlp: mlpBias },
    clipQkv: v.clipQkv(cfg),
    embedScale: v.embedScale(hidden),
    logitScale: null,
    slidingWindow: v.slidingWindow(cfg),
    attnScale: new Array(layers).fill(1 / Math.sqrt(headDim)),
    tiedHead: tied,
  };

  const normWeight = (name: string, tensor: string): WeightSpec =>
    v.normOnePlus ? mapped(reader, name, tensor, [hidden], (x) => Math.fround(1 + x)) : direct(reader, name, tensor, [hidden], { keepFp32: true });
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const w: WeightSpec[] = [direct(reader, 'embed', 'model.embed_tokens.weight', [vocab, hidden])];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    const a = `${p}.self_attn`;
    if (norm.affine) w.push(normWeight(`l${i}.norm1.w`, `${p}.input_layernorm.weight`));
    w.push(
      stackRows(reader, `l${i}.qkv.w`, [
        { tensor: `${a}.q_proj.weight`, dims: [q, hidden] },
        { tensor: `${a}.k_proj.weight`, dims: [kv, hidden] },
        { tensor: `${a}.v_proj.weight`, dims: [kv, hidden] },
      ]),
    );
    if (attnBias) {
      w.push(
        stackRows(reader, `l${i}.qkv.b`, [
          { tensor: `${a}.q_proj.bias`, dims: [q] },
          { tensor: `${a}.k_proj.bias`, dims: [kv] },
          { tensor: `${a}.v_proj.bias`, dims: [kv] },
        ]),
        direct(reader, `l${i}.o.b`, `${a}.o_proj.bias`, [hidden]),
      );
    }
    w.push(direct(reader, `l${i}.o.w`, `${a}.o_proj.weight`, [hidden, q]));
    if (norm.affine) w.push(normWeight(`l${i}.norm2.w`, `${p}.post_attention_layernorm.weight`));
    w.push(
      stackRows(reader, `l${i}.up.w`, [
        { tensor: `${p}.mlp.gate_proj.weight`, dims: [inner, hidden] },
        { tensor: `${p}.mlp.up_proj.weight`, dims: [inner, hidden] },
      ]),
      direct(reader, `l${i}.down.w`, `${p}.mlp.down_proj.weight`, [hidden, inner]),
    );
    if (mlpBias) {
      w.push(
        stackRows(reader, `l${i}.up.b`, [
          { tensor: `${p}.mlp.gate_proj.bias`, dims: [inner] },
          { tensor: `${p}.mlp.up_proj.bias`, dims: [inner] },
        ]),
        direct(reader, `l${i}.down.b`, `${p}.mlp.down_proj.bias`, [hidden]),
      );
    }
  }
  if (norm.affine) w.push(normWeight('final_norm.w', 'model.norm.weight'));
  if (!tied) w.push(direct(reader, 'head', 'lm_head.weight', [vocab, hidden]));
  return { spec, weights: w, jsConfig: { ...raw } };
}

export const planLlama = (raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan => planLlamaFamily(raw, reader, LLAMA);
