// Bad checkpoints fail with a typed ConvertError naming what is wrong: unknown or remote-code
// model types (with the supported list, from config alone), unsupported config values (the
// field), a tensor missing or shaped unlike the config (file and tensor) — before any output.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConvertError, convertCheckpoint, detectArchitecture } from '../../../src/convert/convert.js';
import { writeFixture } from './fixtures.js';
import { hfTinyDir, tempDir } from './helpers.js';

const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

const cfgOf = async (name: string) => JSON.parse(await readFile(path.join(hfTinyDir, name, 'config.json'), 'utf8')) as Record<string, unknown>;

test('detectArchitecture tells hf_olmo from native olmo and names unknown types with the supported list', async () => {
  assert.deepEqual(detectArchitecture(await cfgOf('hf_olmo-tiny')), { ok: true, architecture: 'hf_olmo', modelType: 'olmo' });
  assert.deepEqual(detectArchitecture(await cfgOf('olmo-tiny')), { ok: true, architecture: 'olmo', modelType: 'olmo' });
  assert.deepEqual(detectArchitecture(await cfgOf('pythia-tiny')), { ok: true, architecture: 'gpt_neox', modelType: 'gpt_neox' });
  // Keys alone identify hf_olmo when `architectures` is absent.
  const byKeys = detectArchitecture({ model_type: 'olmo', d_model: 64, n_heads: 4, n_layers: 2 });
  assert.ok(byKeys.ok && byKeys.architecture === 'hf_olmo', JSON.stringify(byKeys));
  const unknown = detectArchitecture({ model_type: 'mamba' });
  assert.equal(unknown.ok, false);
  if (!unknown.ok) {
    assert.equal(unknown.failure.kind, 'unknown-architecture');
    assert.match(unknown.message, /"mamba".*gpt2, gpt_neox, llama, mistral, gemma, olmo, hf_olmo/);
  }
  const remote = detectArchitecture({ model_type: 'phi-msft', auto_map: { AutoModelForCausalLM: 'modeling_phi.PhiForCausalLM' } });
  assert.ok(!remote.ok && /remote-code/.test(remote.message));
  const none = detectArchitecture({});
  assert.ok(!none.ok && none.failure.kind === 'bad-config');
});

test('detectArchitecture also refuses unsupported configs, from config alone (plan time)', async () => {
  const dyn = detectArchitecture({ ...llama, rope_scaling: { type: 'dynamic', factor: 2 } });
  assert.ok(!dyn.ok && dyn.failure.kind === 'unsupported-config' && dyn.failure.field === 'rope_scaling', JSON.stringify(dyn));
  const alibi = detectArchitecture({ ...(await cfgOf('hf_olmo-tiny')), alibi: true, rope: false });
  assert.ok(!alibi.ok && alibi.failure.kind === 'unsupported-config' && alibi.failure.field === 'alibi');
  const act = detectArchitecture({ ...(await cfgOf('pythia-tiny')), hidden_act: 'quick_gelu' });
  assert.ok(!act.ok && /hidden_act.*quick_gelu/.test(act.message));
  assert.deepEqual(detectArchitecture(llama), { ok: true, architecture: 'llama', modelType: 'llama' });
});

async function failure(fn: () => Promise<unknown>): Promise<ConvertError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof ConvertError, `a ConvertError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConvertError');
}

const llama = { model_type: 'llama', vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_attention_heads: 2, num_key_value_heads: 2, num_hidden_layers: 1, tie_word_embeddings: false };

test('an unknown model_type fails before reading weights, naming the type and the list', async () => {
  const t = await tempDir('err');
  temps.push(t);
  await writeFixture(path.join(t.dir, 'a'), llama, { seed: 'e' });
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, model_type: 'rwkv' }));
  const e = await failure(() => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }));
  assert.equal(e.failure.kind, 'unknown-architecture');
  assert.match(e.message, /rwkv.*supported: gpt2/);
  assert.ok(!existsSync(path.join(t.dir, 'out')), 'nothing written');
});

test('unsupported config values name the field', async () => {
  const t = await tempDir('err');
  temps.push(t);
  await writeFixture(path.join(t.dir, 'a'), llama, { seed: 'e' });
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, rope_scaling: { type: 'dynamic', factor: 2 } }));
  const e = await failure(() => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }));
  assert.ok(e.failure.kind === 'unsupported-config' && e.failure.field === 'rope_scaling', e.message);
  assert.match(e.message, /linear/);
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, num_key_value_heads: 3 }));
  const g = await failure(() => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }));
  assert.ok(g.failure.kind === 'unsupported-config' && g.failure.field === 'num_key_value_heads');
});

test('a tensor shaped unlike the config, or missing, is named with its file', async () => {
  const t = await tempDir('err');
  temps.push(t);
  await writeFixture(path.join(t.dir, 'a'), llama, { seed: 'e', shards: 2 });
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, intermediate_size: 32 }));
  const e = await failure(() => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }));
  assert.equal(e.failure.kind, 'shape-mismatch');
  if (e.failure.kind === 'shape-mismatch') {
    assert.equal(e.failure.tensor, 'model.layers.0.mlp.gate_proj.weight');
    assert.match(e.failure.file, /^model-0000\d-of-00002\.safetensors$/);
    assert.deepEqual([e.failure.expected, e.failure.actual], [[32, 16], [24, 16]]);
  }
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, num_hidden_layers: 2 }));
  const m = await failure(() => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }));
  assert.ok(m.failure.kind === 'missing-tensor' && m.failure.tensor.startsWith('model.layers.1.'), m.message);
  // Tied per config but no lm_head needed; untied without lm_head.weight is missing.
  await writeFile(path.join(t.dir, 'a', 'config.json'), JSON.stringify({ ...llama, tie_word_embeddings: true }));
  await convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' });
});

test('a truncated safetensors file fails naming the file (the readers\' CheckpointError passes through)', async () => {
  const t = await tempDir('err');
  temps.push(t);
  await writeFixture(path.join(t.dir, 'a'), llama, { seed: 'e' });
  const file = path.join(t.dir, 'a', 'model.safetensors');
  const { truncate, stat } = await import('node:fs/promises');
  await truncate(file, (await stat(file)).size - 100);
  const { CheckpointError } = await import('../../../src/convert/checkpoint.js');
  await assert.rejects(
    () => convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out'), { dtype: 'fp32' }),
    (e: unknown) => e instanceof CheckpointError && e.reason === 'truncated' && e.file === 'model.safetensors' && /model\.safetensors/.test(e.message),
  );
});

test('weights beyond the fp16 range convert with a warning naming the tensor', async () => {
  const t = await tempDir('err');
  temps.push(t);
  await writeFixture(path.join(t.dir, 'a'), llama, { seed: 'e', dtype: 'BF16', tweak: (n, d) => { if (n === 'model.layers.0.mlp.up_proj.weight') d[3] = 1e6; } });
  const logs: string[] = [];
  const report = await convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out16'), { dtype: 'fp16', log: (m) => logs.push(m) });
  assert.equal(report.warnings.length, 1);
  assert.match(report.warnings[0]!, /l0\.up\.w/);
  assert.ok(logs.some((l) => /1 values of model\.layers\.0\.mlp\.gate_proj\.weight, model\.layers\.0\.mlp\.up_proj\.weight exceed the fp16 range/.test(l)), logs.join('\n'));
  const fp32 = await convertCheckpoint(path.join(t.dir, 'a'), path.join(t.dir, 'out32'), { dtype: 'fp32' });
  assert.deepEqual(fp32.warnings, []);
});
