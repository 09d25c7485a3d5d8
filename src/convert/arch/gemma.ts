// Gemma (transformers v4.40 GemmaForCausalLM): Llama with RMSNorm scaled by (1 + w) in float32,
// embeddings multiplied by sqrt(hidden_size) rounded to the model dtype (HF builds the normalizer
// as a tensor of the hidden states' dtype), `head_dim` independent of hidden/heads, gelu with the
// tanh approximation (`hidden_activation`; v4.40 uses gelu_pytorch_tanh when it is unset, whatever
// `hidden_act` says), and the output layer tied to the embedding.

import type { CheckpointReader } from '../readers/types.js';
import { activation } from './activation.js';
import { LLAMA, planLlamaFamily, type LlamaVariant } from './llama.js';
import type { ArchPlan } from './spec.js';

export const GEMMA: LlamaVariant = {
  ...LLAMA,
  architecture: 'gemma',
  normOnePlus: true,
  act: (cfg) => (cfg.has('hidden_activation') ? activation(cfg, 'hidden_activation') : 'gelu_tanh'),
  tieDefault: true,
  headDim: (cfg) => cfg.int('head_dim'),
  embedScale: (hidden) => Math.sqrt(hidden),
};

export const planGemma = (raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan => planLlamaFamily(raw, reader, GEMMA);
