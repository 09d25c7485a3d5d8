// OLMo as transformers v4.40 has it natively (OlmoForCausalLM, e.g. allenai/OLMo-1B-hf): Llama
// layout with a non-parametric LayerNorm (no weight, no bias, eps 1e-5, in float32) and, when
// `clip_qkv` is set, q, k and v clamped to ±clip_qkv after their projections.

import type { CheckpointReader } from '../readers/types.js';
import { LLAMA, planLlamaFamily, type LlamaVariant } from './llama.js';
import type { ArchPlan } from './spec.js';

export const OLMO: LlamaVariant = {
  ...LLAMA,
  architecture: 'olmo',
  norm: () => ({ kind: 'layer', eps: 1e-5, affine: false, bias: false }),
  clipQkv: (cfg) => (cfg.has('clip_qkv') ? cfg.num('clip_qkv') : null),
};

export const planOlmo = (raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan => planLlamaFamily(raw, reader, OLMO);
