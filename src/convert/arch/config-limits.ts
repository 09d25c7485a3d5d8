// Bounds on the sizes a config.json may state, checked when a field is read (ConfigView.int) and,
// for the whole model, on the parameter count the config implies (before any weight is planned
// or read). config.json comes from the checkpoint: a number in it must never decide how much
// memory the engine allocates at plan time. Each bound is far above any model the converter
// targets (the largest: Llama-2-70B, 80 layers × 8192 hidden, 32000 vocab).

import type { ArchPlan } from './spec.js';

export const CONFIG_LIMITS = {
  layers: 1024,
  hidden: 65_536,
  heads: 1024,
  headDim: 1024,
  vocab: 4_194_304,
  intermediate: 1_048_576,
  positions: 16_777_216,
  /** Parameters the config implies, all weights together (1e12 ≈ 4 TB in float32). */
  parameters: 1e12,
} as const;

/** The bound for a config field, by the names the architectures use. */
export const FIELD_LIMITS: Readonly<Record<string, number>> = {
  num_hidden_layers: CONFIG_LIMITS.layers,
  n_layer: CONFIG_LIMITS.layers,
  n_layers: CONFIG_LIMITS.layers,
  block_group_size: CONFIG_LIMITS.layers,
  hidden_size: CONFIG_LIMITS.hidden,
  n_embd: CONFIG_LIMITS.hidden,
  d_model: CONFIG_LIMITS.hidden,
  num_attention_heads: CONFIG_LIMITS.heads,
  num_key_value_heads: CONFIG_LIMITS.heads,
  n_head: CONFIG_LIMITS.heads,
  n_heads: CONFIG_LIMITS.heads,
  n_kv_heads: CONFIG_LIMITS.heads,
  head_dim: CONFIG_LIMITS.headDim,
  vocab_size: CONFIG_LIMITS.vocab,
  embedding_size: CONFIG_LIMITS.vocab,
  intermediate_size: CONFIG_LIMITS.intermediate,
  n_inner: CONFIG_LIMITS.intermediate,
  mlp_hidden_size: CONFIG_LIMITS.intermediate,
  mlp_ratio: 256,
  max_position_embeddings: CONFIG_LIMITS.positions,
  n_positions: CONFIG_LIMITS.positions,
  max_sequence_length: CONFIG_LIMITS.positions,
  sliding_window: CONFIG_LIMITS.positions,
};

/** The parameters a plan implies (weights' element counts, as floats: no overflow). */
export function plannedParameters(plan: ArchPlan): number {
  return plan.weights.reduce((sum, w) => sum + w.dims.reduce((a, d) => a * d, 1), 0);
}
