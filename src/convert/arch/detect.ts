// Which architecture module converts a checkpoint, decided from config.json alone (pure, so a
// stage can fail at plan time). allenai/OLMo's hf_olmo layout says `model_type: "olmo"` like
// transformers' native OLMo; it is told apart by `architectures` (OLMoForCausalLM vs
// OlmoForCausalLM), `auto_map`, and its own keys (d_model, n_layers) — its remote code is never run.

import type { CheckpointReader } from '../readers/types.js';
import { planGemma } from './gemma.js';
import { planGpt2 } from './gpt2.js';
import { planGptNeox } from './gpt-neox.js';
import { planHfOlmo } from './hf-olmo.js';
import { planLlama } from './llama.js';
import { planMistral } from './mistral.js';
import { planOlmo } from './olmo.js';
import { ARCHITECTURES, ConvertError, SUPPORTED_LIST, type Architecture, type ArchPlan, type ConvertFailure } from './spec.js';
import { CONFIG_ONLY } from './tensors.js';
import { CONFIG_LIMITS, plannedParameters } from './config-limits.js';

export type Detection =
  | { ok: true; architecture: Architecture; modelType: string }
  | { ok: false; failure: ConvertFailure; message: string };

function isHfOlmo(config: Record<string, unknown>): boolean {
  const archs = Array.isArray(config['architectures']) ? (config['architectures'] as unknown[]) : [];
  if (archs.includes('OLMoForCausalLM') || archs.includes('OlmoModelForCausalLM')) return true;
  if (archs.includes('OlmoForCausalLM')) return false;
  return 'd_model' in config && 'n_layers' in config;
}

/**
 * The architecture for a config.json, and whether the converter supports this config (every field
 * the planner reads is checked; tensor shapes are checked later, against the weights).
 */
export function detectArchitecture(config: Record<string, unknown>): Detection {
  const det = detectType(config);
  if (!det.ok) return det;
  try {
    checkParameters(det.architecture, PLANNERS[det.architecture](config, CONFIG_ONLY));
  } catch (e) {
    if (e instanceof ConvertError) return { ok: false, failure: e.failure, message: e.message };
    throw e;
  }
  return det;
}

function detectType(config: Record<string, unknown>): Detection {
  const mt = config['model_type'];
  if (typeof mt !== 'string' || mt === '') {
    return {
      ok: false,
      failure: { kind: 'bad-config', file: 'config.json', detail: 'no model_type' },
      message: `config.json has no "model_type"; the converter supports ${SUPPORTED_LIST}`,
    };
  }
  if (mt === 'olmo' || mt === 'hf_olmo') return { ok: true, architecture: mt === 'hf_olmo' || isHfOlmo(config) ? 'hf_olmo' : 'olmo', modelType: mt };
  if ((ARCHITECTURES as readonly string[]).includes(mt) && mt !== 'hf_olmo') return { ok: true, architecture: mt as Architecture, modelType: mt };
  const remote = config['auto_map'] !== undefined ? ' (a remote-code model: its own Python modeling code, which the converter never runs)' : '';
  return {
    ok: false,
    failure: { kind: 'unknown-architecture', modelType: mt, supported: ARCHITECTURES },
    message: `model_type "${mt}"${remote} is not one the converter supports; supported: ${SUPPORTED_LIST}`,
  };
}

const PLANNERS: Readonly<Record<Architecture, (raw: Record<string, unknown>, reader: CheckpointReader) => ArchPlan>> = {
  gpt2: planGpt2,
  gpt_neox: planGptNeox,
  llama: planLlama,
  mistral: planMistral,
  gemma: planGemma,
  olmo: planOlmo,
  hf_olmo: planHfOlmo,
};

export function planArchitecture(architecture: Architecture, config: Record<string, unknown>, reader: CheckpointReader): ArchPlan {
  return checkParameters(architecture, PLANNERS[architecture](config, reader));
}

/** Every field is bounded alone; their product is bounded here, before any weight is read. */
function checkParameters(architecture: Architecture, plan: ArchPlan): ArchPlan {
  const n = plannedParameters(plan);
  if (n > CONFIG_LIMITS.parameters) {
    const detail = `implies ${n.toPrecision(3)} parameters, past the converter's limit of ${CONFIG_LIMITS.parameters} (config-limits.ts)`;
    throw new ConvertError({ kind: 'unsupported-config', architecture, field: 'parameters', detail }, `config.json (${architecture}): ${detail}; the config is broken or hostile`);
  }
  return plan;
}
