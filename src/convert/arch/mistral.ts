// Mistral (transformers v4.40 MistralForCausalLM): Llama plus `sliding_window`. A key is visible
// to a query at most `sliding_window` positions behind it (v4.40's causal mask with
// diagonal = past − sliding_window − 1), so a query sees sliding_window + 1 keys including itself.

import type { CheckpointReader } from '../readers/types.js';
import { LLAMA, planLlamaFamily, type LlamaVariant } from './llama.js';
import type { ArchPlan } from './spec.js';

export const MISTRAL: LlamaVariant = {
  ...LLAMA,
  architecture: 'mistral',
  slidingWindow: (cfg) => (cfg.has('sliding_window') ? cfg.int('sliding_window') : null),
};

export const planMistral = (raw: Record<string, unknown>, reader: CheckpointReader): ArchPlan => planLlamaFamily(raw, reader, MISTRAL);
