// Absurd config.json sizes (issue 17, item 5) are refused arithmetically, before anything of
// that size is planned or allocated: every size field has a bound, and so has the parameter count
// the config implies. Checked on each hf-tiny config, as plan time sees it (detectArchitecture).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectArchitecture } from '../../../src/convert/arch/detect.js';
import { CONFIG_LIMITS } from '../../../src/convert/arch/config-limits.js';
import { sharedDir } from '../../support/fake-hub.js';

const HF_TINY = join(sharedDir(), 'models', 'hf-tiny');
const config = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(HF_TINY, name, 'config.json'), 'utf8')) as Record<string, unknown>;

function refusedFor(cfg: Record<string, unknown>, field: RegExp): string {
  const t0 = Date.now();
  const det = detectArchitecture(cfg);
  assert.ok(Date.now() - t0 < 2000, 'refused at once');
  assert.equal(det.ok, false, `accepted ${JSON.stringify(cfg)}`);
  if (det.ok) throw new Error('unreachable');
  assert.match(det.message, field);
  return det.message;
}

test('each size field past its bound is refused naming the field and the limit', () => {
  const cases: [string, string, number][] = [
    ['pythia-tiny', 'num_hidden_layers', 1_000_000],
    ['llama-tiny', 'num_hidden_layers', 1_000_000],
    ['gpt2-tiny', 'n_layer', 1_000_000],
    ['hf_olmo-tiny', 'n_layers', 1_000_000],
    ['llama-tiny', 'hidden_size', 2 ** 30],
    ['llama-tiny', 'num_attention_heads', 1 << 20],
    ['llama-tiny', 'vocab_size', 2 ** 40],
    ['llama-tiny', 'intermediate_size', 2 ** 40],
    ['llama-tiny', 'max_position_embeddings', 2 ** 40],
    ['gpt2-tiny', 'n_positions', 2 ** 40],
    ['hf_olmo-tiny', 'max_sequence_length', 2 ** 40],
  ];
  for (const [model, field, value] of cases) {
    const msg = refusedFor({ ...config(model), [field]: value }, new RegExp(`${field} is ${value}, past the converter's limit`));
    assert.match(msg, /config\.json/);
  }
  assert.ok(CONFIG_LIMITS.layers >= 128 && CONFIG_LIMITS.parameters >= 1e11);
});

test('sizes each within bounds but together absurd are refused by the parameter count', () => {
  const msg = refusedFor({ ...config('llama-tiny'), num_hidden_layers: 1000, hidden_size: 32768, num_attention_heads: 256, num_key_value_heads: 256, intermediate_size: 131072 }, /parameters/);
  assert.match(msg, /\d+ parameters/);
  // The real configs pass.
  for (const m of ['gpt2-tiny', 'pythia-tiny', 'llama-tiny', 'olmo-tiny', 'hf_olmo-tiny']) assert.equal(detectArchitecture(config(m)).ok, true, m);
});
