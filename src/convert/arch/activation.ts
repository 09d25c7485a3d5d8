// Hugging Face activation names (ACT2FN keys) → the activations the graph builder writes.

import type { Activation } from './spec.js';
import type { ConfigView } from './tensors.js';

const NAMES: Readonly<Record<string, Activation>> = {
  gelu: 'gelu', // erf form
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh', // 0.5x(1 + tanh(0.79788456 x (1 + 0.044715 x²))): the same function
  silu: 'silu',
  swish: 'silu',
  relu: 'relu',
};

export function activation(cfg: ConfigView, field: string, fallback?: string): Activation {
  const name = cfg.str(field, fallback);
  const act = NAMES[name];
  if (!act) cfg.reject(field, `is "${name}"; the converter supports ${Object.keys(NAMES).join(', ')}`);
  return act;
}
