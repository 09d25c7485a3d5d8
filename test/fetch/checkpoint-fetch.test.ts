// fetch-model on PyTorch-layout repos: only config, tokenizer and the preferred weights are taken
// (never flax/tf/gguf/other ONNX files, never a .bin beside safetensors), from the hub and from
// local folders; the layout is recorded; an ONNX export still takes today's path.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fetchModelKind from '../../stages/fetch-model.js';
import { selectCheckpointWeights, selectFetchFiles } from '../../src/fetch/dtype.js';
import { CHECKPOINT_DECOYS, startFakeHub, writePytorchRepo } from '../support/fake-hub.js';
import { planContext, SHARED, stageContext, tempDir, tinyModelSpec, treeHashes } from './helpers.js';

const PYTHIA = join(SHARED, 'models', 'hf-tiny', 'pythia-tiny');
const NEEDED = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'model.safetensors'];

test('selection: safetensors (single or sharded) before .bin (single or sharded); ONNX exports keep their path', () => {
  const base = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'flax_model.msgpack', 'tf_model.h5', 'model.onnx'];
  assert.deepEqual(selectFetchFiles([...base, 'model.safetensors', 'pytorch_model.bin'], 'fp32', 'm'),
    { layout: 'pytorch', files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'] });
  const sharded = ['model.safetensors.index.json', 'model-00002-of-00002.safetensors', 'model-00001-of-00002.safetensors'];
  assert.deepEqual(selectCheckpointWeights([...base, ...sharded, 'pytorch_model.bin']),
    ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.deepEqual(selectCheckpointWeights([...base, 'pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']),
    ['pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']);
  assert.deepEqual(selectCheckpointWeights([...base, 'pytorch_model.bin']), ['pytorch_model.bin']);
  // Shards not named as save_pretrained names them: every top-level file of the index's format.
  assert.deepEqual(selectCheckpointWeights([...base, 'model.safetensors.index.json', 'weights_b.safetensors', 'weights_a.safetensors', 'sub/x.safetensors']),
    ['model.safetensors.index.json', 'weights_a.safetensors', 'weights_b.safetensors']);
  assert.equal(selectCheckpointWeights(base), null);
  assert.equal(selectFetchFiles([...base, 'model.safetensors', 'onnx/model.onnx'], 'fp32', 'm').layout, 'onnx');
  assert.throws(() => selectFetchFiles(base, 'fp32', 'model m'), /model m has neither a transformers\.js ONNX export \(onnx\/model\.onnx\) nor PyTorch weights/);
  assert.throws(() => selectFetchFiles(['config.json', 'model.safetensors'], 'fp32', 'model m'), /model m has PyTorch weights but lacks tokenizer\.json, tokenizer_config\.json/);
});

test('fetch-model from the hub, PyTorch layout: only the needed files are requested, decoys are not', async (t) => {
  const repoDir = tempDir(t);
  await writePytorchRepo(repoDir, PYTHIA, ['step1000'], { decoys: true });
  const hub = await startFakeHub({ repos: [{ id: 'test-org/pythia-tiny', dir: repoDir }], lfsThreshold: 100_000 });
  t.after(() => hub.close());
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = tempDir(t);
  delete process.env.HF_TOKEN;
  const model = tinyModelSpec({ id: 'test-org/pythia-tiny' });
  const ctx = planContext({ projectDir: tempDir(t), kind: 'fetch-model', vars: { revision: 'step1000' }, model });
  const planned = await fetchModelKind.plan!(ctx);
  assert.deepEqual(planned, { source: 'hub', id: 'test-org/pythia-tiny', revision: 'step1000', commit: hub.commit('test-org/pythia-tiny', 'step1000'), layout: 'pytorch' });
  const out = tempDir(t);
  const sctx = stageContext(ctx, planned, out, tempDir(t));
  await fetchModelKind.execute(sctx);
  const fileRequests = hub.requests.filter((r) => r.file !== undefined).map((r) => r.file).sort();
  assert.deepEqual(fileRequests, [...NEEDED].sort());
  for (const decoy of Object.keys(CHECKPOINT_DECOYS)) assert.ok(!fileRequests.includes(decoy), decoy);
  assert.deepEqual(readdirSync(join(out, 'model')).sort(), [...NEEDED].sort());
  const src = treeHashes(join(repoDir, 'revisions', 'step1000'));
  const got = treeHashes(join(out, 'model'));
  for (const f of NEEDED) assert.equal(got[f], src[f], f);
  assert.equal((sctx.records.resolved as { layout: string }).layout, 'pytorch');
});

test('fetch-model from a local folder in the hub layout: same selection, dtype not in the key', async (t) => {
  const repoDir = tempDir(t);
  await writePytorchRepo(repoDir, PYTHIA, [], { decoys: true });
  const fp32 = await fetchModelKind.plan!(planContext({ projectDir: tempDir(t), kind: 'fetch-model', vars: {}, model: tinyModelSpec({ id: 'x/p', path: repoDir }) }));
  const fp16 = await fetchModelKind.plan!(planContext({ projectDir: tempDir(t), kind: 'fetch-model', vars: {}, model: tinyModelSpec({ id: 'x/p', path: repoDir, dtype: 'fp16' }) }));
  assert.equal(fp32.layout, 'pytorch');
  assert.equal(fp32.digest, fp16.digest);
  assert.equal(fp32.dtype, undefined);
  const ctx = planContext({ projectDir: tempDir(t), kind: 'fetch-model', vars: {}, model: tinyModelSpec({ id: 'x/p', path: repoDir }) });
  const out = tempDir(t);
  await fetchModelKind.execute(stageContext(ctx, fp32, out, tempDir(t)));
  assert.deepEqual(readdirSync(join(out, 'model')).sort(), [...NEEDED].sort());
});
