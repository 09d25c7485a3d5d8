// generation-config.ts against transformers.js's own PreTrainedModel._prepare_generation_config
// (the scoring-graph path computes generation settings without importing transformers.js): the
// same effective config on every test model's files and on configs that reach every branch.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@huggingface/transformers';
import { GENERATION_FIELDS, prepareGenerationConfig } from '../../src/lm/generation-config.js';
import { sharedDir, tinyGpt2 } from './helpers.js';

type Obj = Record<string, unknown>;

/** transformers.js's answer for a config-only model: config.json as a PretrainedConfig. */
function reference(config: Obj, generationFile: Obj | null, g: Obj | null, k: Obj | null): Obj {
  const self = { config: new tf.PretrainedConfig(config), generation_config: generationFile };
  const proto = tf.PreTrainedModel.prototype as unknown as { _prepare_generation_config(g: unknown, k: unknown): Obj };
  return { ...proto._prepare_generation_config.call(self, g, k) };
}

const read = (f: string): Obj | null => (existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Obj) : null);
const FOLDERS = [tinyGpt2, ...['gpt2-tiny', 'pythia-tiny', 'llama-tiny', 'olmo-tiny', 'hf_olmo-tiny'].map((n) => path.join(sharedDir, 'models', 'hf-tiny', n))];

test('the effective generation config equals transformers.js\'s on every test model', () => {
  for (const folder of FOLDERS) {
    const config = read(path.join(folder, 'config.json'))!;
    const gen = read(path.join(folder, 'generation_config.json'));
    for (const kwargs of [{}, { do_sample: false }]) {
      assert.deepStrictEqual(prepareGenerationConfig(config, gen, null, kwargs), reference(config, gen, null, kwargs), folder);
    }
  }
});

test('sub-configs, sampling files, explicit configs and kwargs combine as in transformers.js', () => {
  const cases: Array<[Obj, Obj | null, Obj | null, Obj | null]> = [
    [{ model_type: 'x', eos_token_id: 3, text_config: { eos_token_id: 7, bos_token_id: 1, max_length: 64 } }, null, null, {}],
    [{ decoder: { pad_token_id: 2 }, generator: null, top_k: 5, vocab_size: 10 }, { do_sample: true, temperature: 0.7, top_p: 0.9, transformers_version: '4.40.2' }, null, { do_sample: false }],
    [{ eos_token_id: [1, 2], repetition_penalty: undefined }, { _from_model_config: true, eos_token_id: 9 }, { num_beams: 2 }, { transformers_version: 'k', unknown_kwarg: 1, max_new_tokens: 5 }],
    [{}, {}, null, null],
  ];
  for (const [c, g, x, k] of cases) assert.deepStrictEqual(prepareGenerationConfig(c, g, x, k), reference(c, g, x, k), JSON.stringify([c, g, x, k]));
});

test('the GenerationConfig fields are transformers.js\'s, in its order', () => {
  assert.deepEqual(GENERATION_FIELDS, Object.getOwnPropertyNames(new tf.GenerationConfig({} as never)));
});
