// The fetch-model and fetch-stimuli kinds, driven directly with hand-made contexts: plan() keys
// (cheap for local sources, a commit for the hub), execute() outputs and records, and a model
// fetched from the (fake) hub that loads and runs in transformers.js.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fetchModelKind from '../../stages/fetch-model.js';
import fetchStimuliKind from '../../stages/fetch-stimuli.js';
import { KindRegistry } from '../../src/engine/registry.js';
import { sha256 } from '../../src/fetch/hash.js';
import { startFakeHub } from '../support/fake-hub.js';
import { fakeDigest, planContext, SHARED, STIMULI, stageContext, tempDir, tinyModelSpec, TINY, treeHashes } from './helpers.js';

test('fetch-model, explicit path: plan digests only the needed files; execute copies them', async (t) => {
  const projectDir = tempDir(t);
  const model = tinyModelSpec({ path: TINY });
  const d = fakeDigest();
  const ctx = planContext({ projectDir, kind: 'fetch-model', vars: { model: 'tiny-gpt2', revision: 'step0120-tokens0.25M' }, model }, d.digest);
  assert.deepEqual(fetchModelKind.outputs(ctx), [{ name: 'model', type: 'dir' }]);
  const planned = await fetchModelKind.plan!(ctx);
  const folder = join(TINY, 'revisions', 'step0120-tokens0.25M');
  assert.equal(planned.source, 'local');
  assert.equal(planned.path, folder);
  assert.equal(planned.dtype, 'fp32');
  assert.match(String(planned.digest), /^sha256:[0-9a-f]{64}$/);
  assert.equal(d.calls.length, 6);
  assert.ok(d.calls.every((p) => p.startsWith(folder)));

  // The final weights' key does not depend on the revisions/ kept beside them.
  const d2 = fakeDigest();
  const final = await fetchModelKind.plan!(planContext({ projectDir, kind: 'fetch-model', vars: { model: 'tiny-gpt2', revision: '' }, model }, d2.digest));
  assert.notEqual(final.digest, planned.digest);
  assert.equal(d2.calls.length, 6);
  assert.ok(!d2.calls.some((p) => p.includes('revisions')));

  const out = tempDir(t);
  const sctx = stageContext(ctx, planned, out, tempDir(t));
  await fetchModelKind.execute(sctx);
  assert.deepEqual(treeHashes(join(out, 'model')), treeHashes(folder));
  assert.deepEqual(sctx.records.resolved, { source: 'local', path: folder, commit: null, layout: 'onnx', files: ['config.json', 'tokenizer.json',
    'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'onnx/model.onnx'] });
});

test('fetch-model, mirror (ctx.spec.modelsDir) and offline without a source', async (t) => {
  const projectDir = tempDir(t);
  const model = tinyModelSpec({ id: 'someorg/tiny-gpt2' });
  const ctx = planContext({ projectDir, kind: 'fetch-model', vars: { revision: 'step0030-tokens0.06M' }, model,
    spec: { modelsDir: join(SHARED, 'models'), offline: true } });
  const planned = await fetchModelKind.plan!(ctx);
  assert.equal(planned.path, join(SHARED, 'models', 'tiny-gpt2', 'revisions', 'step0030-tokens0.06M'));
  const lost = planContext({ projectDir, kind: 'fetch-model', vars: { revision: 'step0030-tokens0.06M' }, model: tinyModelSpec({ id: 'someorg/absent' }),
    spec: { offline: true } });
  process.env.HF_HOME = tempDir(t);
  await assert.rejects(Promise.resolve(fetchModelKind.plan!(lost)),
    /^FetchError: model someorg\/absent revision step0030-tokens0.06M is not available offline\. Looked in: \(no models mirror set\) and the hub cache .*pass --models-dir <dir> \(or set PIPELINE_MODELS_DIR\), or give the model a path:/);
  await assert.rejects(Promise.resolve(fetchModelKind.plan!(planContext({ projectDir, kind: 'fetch-model', vars: {},
    model: tinyModelSpec({ path: TINY, dtype: 'fp8' }) }))), /unknown dtype "fp8"/);
});

test('fetch-model from the hub: plan resolves the commit, execute downloads; the model loads and runs in transformers.js', async (t) => {
  const hub = await startFakeHub();
  t.after(() => hub.close());
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = tempDir(t);
  delete process.env.HF_TOKEN;
  const projectDir = tempDir(t);
  const model = tinyModelSpec();
  const ctx = planContext({ projectDir, kind: 'fetch-model', vars: { model: 'tiny-gpt2', revision: '' }, model });
  const planned = await fetchModelKind.plan!(ctx);
  assert.deepEqual(planned, { source: 'hub', id: 'test-org/tiny-gpt2', revision: 'main',
    commit: hub.commit('test-org/tiny-gpt2', 'main'), layout: 'onnx', dtype: 'fp32' });
  const step = await fetchModelKind.plan!(planContext({ projectDir, kind: 'fetch-model', vars: { revision: 'step0300-tokens0.61M' }, model }));
  assert.equal(step.commit, hub.commit('test-org/tiny-gpt2', 'step0300-tokens0.61M'));
  const apiCalls = hub.requests.length;
  await assert.rejects(Promise.resolve(fetchModelKind.plan!(planContext({ projectDir, kind: 'fetch-model', vars: { revision: '' }, model: tinyModelSpec({ dtype: 'q4f16' }) }))),
    /model test-org\/tiny-gpt2 \(final weights\) on http:\/\/127\.0\.0\.1:\d+ lacks onnx\/model_q4f16\.onnx needed for dtype q4f16; ONNX weights exist for dtype fp32/);
  assert.equal(hub.requests.length, apiCalls + 1, 'one API call: the listing check reads the cache');

  const out = tempDir(t);
  const sctx = stageContext(ctx, planned, out, tempDir(t));
  await fetchModelKind.execute(sctx);
  assert.deepEqual(treeHashes(join(out, 'model')), treeHashes(TINY));
  assert.deepEqual(sctx.records.resolved, { source: 'hub', endpoint: hub.url, revision: 'main', commit: planned.commit, layout: 'onnx',
    files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'onnx/model.onnx'] });
  const totalBytes = Object.keys(treeHashes(TINY)).reduce((a, f) => a + statSync(join(TINY, f)).size, 0);
  assert.deepEqual(sctx.records.download, { bytes: totalBytes, requests: 6, resumed: 0, cached: 0 });

  const { AutoTokenizer, AutoModelForCausalLM, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = out;
  const tokenizer = await AutoTokenizer.from_pretrained('model');
  const lm = await AutoModelForCausalLM.from_pretrained('model', { dtype: 'fp32', device: 'cpu' });
  const inputs = tokenizer('Mary had left.');
  assert.deepEqual(Array.from(inputs.input_ids.data as BigInt64Array, Number), [24119, 550, 1364, 13]);
  const { logits } = await lm(inputs);
  assert.deepEqual(logits.dims, [1, 4, 50257]);
  const values = logits.data as Float32Array;
  assert.ok(values.every(Number.isFinite));
  // A trained model: "." after "Mary had left" is likelier than a rare token.
  const last = values.subarray(2 * 50257, 3 * 50257);
  assert.ok(last[13]! > last[40000]!, 'the forward pass gives a trained distribution');
  await lm.dispose();
});

test('fetch-stimuli: outputs, cheap plan (mirror digest or the pin, no network), execute', async (t) => {
  const projectDir = tempDir(t);
  const blimp = join(STIMULI, 'blimp', 'stimuli.csv');
  const pin = sha256(readFileSync(blimp));
  const task = { name: 'blimp', conditions: [], params: {}, stimuli: { url: 'http://127.0.0.1:9/blimp/stimuli.csv', sha256: pin } };
  const mirrorCtx = planContext({ projectDir, kind: 'fetch-stimuli', vars: { task: 'blimp' }, task, spec: { stimuliDir: STIMULI } });
  assert.deepEqual(fetchStimuliKind.outputs(mirrorCtx), [{ name: 'stimuli', type: 'file', materialize: 'external_stimuli/blimp/stimuli.csv' }]);
  assert.deepEqual(await fetchStimuliKind.plan!(mirrorCtx), { source: 'mirror', file: 'stimuli.csv', digest: pin });

  // No mirror: the URL and its pin are the key; nothing is fetched at plan time (port 9 is dead).
  const urlCtx = planContext({ projectDir, kind: 'fetch-stimuli', vars: { task: 'blimp' }, task });
  assert.deepEqual(await fetchStimuliKind.plan!(urlCtx), { source: 'url', url: task.stimuli.url, sha256: pin, file: 'stimuli.csv' });

  const hub = await startFakeHub({ static: { '/blimp/stimuli.csv': blimp } });
  t.after(() => hub.close());
  const served = { ...task, stimuli: { url: `${hub.url}/blimp/stimuli.csv`, sha256: pin } };
  const ctx = planContext({ projectDir, kind: 'fetch-stimuli', vars: { task: 'blimp' }, task: served });
  const out = tempDir(t);
  const sctx = stageContext(ctx, await fetchStimuliKind.plan!(ctx), out, tempDir(t));
  await fetchStimuliKind.execute(sctx);
  assert.deepEqual(readFileSync(join(out, 'stimuli')), readFileSync(blimp));
  assert.deepEqual(sctx.records.resolved, { source: 'url', from: served.stimuli.url, file: 'stimuli.csv', sha256: pin, bytes: readFileSync(blimp).length });
});

test('the fetch modules enter the fetch kinds\' keys through their import closure', async () => {
  const r = new KindRegistry();
  for (const kind of [fetchModelKind, fetchStimuliKind]) {
    const files = (await r.codeFiles(kind.name)).map((f) => f.replace(/^.*\/dist\//, ''));
    for (const m of ['download', 'errors', 'hash', 'hub-client', 'revisions']) assert.ok(files.includes(`src/fetch/${m}.js`), `${kind.name}: ${m} in ${files.join(' ')}`);
    assert.equal(kind.isolation, 'inline');
  }
});
