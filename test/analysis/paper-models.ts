// The paper's 13 models as pipeline.yaml would declare them (display name, family, size), with
// OLMo-7B's nine revisions, for tests that read /work/shared/data/paper-outputs.

import type { ModelSpec } from '../../src/engine/kind.js';

const IDS: Array<[string, string]> = [
  ['google/gemma-2b', 'Gemma 2B'], ['google/gemma-7b', 'Gemma 7B'], ['mistralai/Mistral-7B-v0.1', 'Mistral 7B'],
  ['allenai/OLMo-1B', 'OLMo 1B'], ['allenai/OLMo-7B', 'OLMo 7B'], ['meta-llama/Llama-2-7b-hf', 'Llama-2 7B'],
  ['meta-llama/Llama-2-13b-hf', 'Llama-2 13B'], ['meta-llama/Llama-2-70b-hf', 'Llama-2 70B'],
  ['EleutherAI/pythia-1b-deduped', 'Pythia 1B'], ['EleutherAI/pythia-1.4b-deduped', 'Pythia 1.4B'],
  ['EleutherAI/pythia-2.8b-deduped', 'Pythia 2.8B'], ['EleutherAI/pythia-6.9b-deduped', 'Pythia 6.9B'],
  ['EleutherAI/pythia-12b-deduped', 'Pythia 12B'],
];

export const OLMO_REVISIONS = [
  'step10000-tokens44B', 'step31000-tokens137B', 'step91000-tokens403B', 'step151000-tokens668B',
  'step211000-tokens933B', 'step271000-tokens1199B', 'step391000-tokens1730B', 'step481000-tokens2128B',
  'step541000-tokens2393B',
];

export function paperModels(): ModelSpec[] {
  return IDS.map(([id, display]) => {
    const [family, size] = display.split(' ') as [string, string];
    return {
      id,
      name: id.split('/')[1]!,
      revisions: id === 'allenai/OLMo-7B' ? ['', ...OLMO_REVISIONS] : [''],
      display: { name: display, family, params_b: Number(size.replace(/B$/, '')), ...(id === 'allenai/OLMo-7B' ? { final_step: 557000 } : {}) },
    };
  });
}
