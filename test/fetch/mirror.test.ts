// Local sources: mirror layouts with and without the org folder, revisions under revisions/<rev>,
// explicit paths, their precedence over the hub, and which files a dtype needs.

import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { selectModelFiles } from '../../src/fetch/dtype.js';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../../src/fetch/hub-config.js';
import { findMirrorRevision, listModelFiles } from '../../src/fetch/mirror.js';
import { localModelFiles, resolveModelSource } from '../../src/fetch/model-fetch.js';
import { FAST_RETRY, tempDir, TINY } from './helpers.js';

// Any network use would fail: nothing listens on port 9.
const deadHub = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: 'http://127.0.0.1:9' }, { retry: FAST_RETRY, cacheDir: '/nonexistent/cache' }));

function mirrors(t: Parameters<typeof tempDir>[0]): { withOrg: string; flat: string } {
  const withOrg = tempDir(t);
  mkdirSync(join(withOrg, 'EleutherAI'));
  symlinkSync(TINY, join(withOrg, 'EleutherAI', 'tiny-gpt2'));
  const flat = tempDir(t);
  symlinkSync(TINY, join(flat, 'tiny-gpt2'));
  return { withOrg, flat };
}

test('mirror layouts: <root>/<org>/<name> and <root>/<name>, final weights and revisions', async (t) => {
  const { withOrg, flat } = mirrors(t);
  const id = 'EleutherAI/tiny-gpt2';
  assert.equal((await findMirrorRevision(withOrg, id, '')).folder, join(withOrg, 'EleutherAI', 'tiny-gpt2'));
  assert.equal((await findMirrorRevision(withOrg, id, 'step0120-tokens0.25M')).folder,
    join(withOrg, 'EleutherAI', 'tiny-gpt2', 'revisions', 'step0120-tokens0.25M'));
  assert.equal((await findMirrorRevision(flat, id, '')).folder, join(flat, 'tiny-gpt2'));
  assert.equal((await findMirrorRevision(flat, id, 'step0300-tokens0.61M')).folder, join(flat, 'tiny-gpt2', 'revisions', 'step0300-tokens0.61M'));
  // A declared short name finds a folder named after it.
  assert.equal((await findMirrorRevision(flat, 'Org/Tiny-GPT2-ONNX', '', 'tiny-gpt2')).folder, join(flat, 'tiny-gpt2'));
  const miss = await findMirrorRevision(flat, id, 'step9');
  assert.equal(miss.folder, null);
  assert.deepEqual(miss.tried, [join(flat, 'EleutherAI', 'tiny-gpt2', 'revisions', 'step9'), join(flat, 'tiny-gpt2', 'revisions', 'step9')]);
});

test('resolution order: explicit path, then mirror, and neither touches the hub', async (t) => {
  const { withOrg } = mirrors(t);
  const id = 'EleutherAI/tiny-gpt2';
  assert.deepEqual(await resolveModelSource({ id }, 'step0030-tokens0.06M', { modelsDir: withOrg, offline: false, client: deadHub }),
    { source: 'local', via: 'mirror', folder: join(withOrg, id, 'revisions', 'step0030-tokens0.06M') });
  assert.deepEqual(await resolveModelSource({ id, path: TINY }, '', { modelsDir: withOrg, offline: false, client: deadHub }),
    { source: 'local', via: 'path', folder: TINY });
  assert.deepEqual(await resolveModelSource({ id, path: TINY }, 'step0120-tokens0.25M', { offline: true, client: deadHub }),
    { source: 'local', via: 'path', folder: join(TINY, 'revisions', 'step0120-tokens0.25M') });
});

test('an explicit path without the revision is an error listing the revisions it has', async () => {
  await assert.rejects(resolveModelSource({ id: 'x/tiny', path: TINY }, 'step0100-tokens0.20M', { offline: false, client: deadHub }), (err: unknown) => {
    assert.ok(err instanceof FetchError && err.reason === 'revision-not-found');
    assert.equal(err.message, `model x/tiny revision step0100-tokens0.20M: no folder ${TINY}/revisions/step0100-tokens0.20M under the model's path ${TINY}; `
      + 'revisions there: step0120-tokens0.25M, step0030-tokens0.06M, step0300-tokens0.61M');
    return true;
  });
});

test('a mirror lacking the revision falls through to the hub (offline: an error naming every folder tried)', async (t) => {
  const { flat } = mirrors(t);
  await assert.rejects(resolveModelSource({ id: 'EleutherAI/tiny-gpt2' }, 'step1', { modelsDir: flat, offline: true, client: deadHub }),
    (err: unknown) => err instanceof FetchError && err.reason === 'offline-missing'
      && err.message.includes(`Looked in: ${flat}/EleutherAI/tiny-gpt2/revisions/step1, ${flat}/tiny-gpt2/revisions/step1 and the hub cache`));
  await assert.rejects(resolveModelSource({ id: 'EleutherAI/tiny-gpt2' }, 'step1', { modelsDir: flat, offline: false, client: deadHub }),
    (err: unknown) => err instanceof FetchError && err.reason === 'retries-exhausted' && err.message.includes('127.0.0.1:9'));
});

test('the files a dtype needs: required, optional when present, external data; revisions/ is not part of the root', async () => {
  assert.deepEqual(await listModelFiles(TINY), ['config.json', 'generation_config.json', 'onnx/model.onnx',
    'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(await localModelFiles(TINY, 'fp32', 'model t'), ['config.json', 'tokenizer.json', 'tokenizer_config.json',
    'generation_config.json', 'special_tokens_map.json', 'onnx/model.onnx']);
  const listing = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx',
    'onnx/model_fp16.onnx_data', 'onnx/model_fp16.onnx_data_1', 'onnx/model_q4.onnx', 'README.md'];
  assert.deepEqual(selectModelFiles(listing, 'fp16', 'm'), ['config.json', 'tokenizer.json', 'tokenizer_config.json',
    'onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data', 'onnx/model_fp16.onnx_data_1']);
  assert.deepEqual(selectModelFiles(listing, 'q4', 'm').slice(3), ['onnx/model_q4.onnx']);
  assert.throws(() => selectModelFiles(listing, 'q8', 'model m'),
    { message: 'model m lacks onnx/model_quantized.onnx needed for dtype q8; ONNX weights exist for dtype fp32, fp16, q4 (set dtype: in the model\'s declaration)' });
  assert.throws(() => selectModelFiles(listing, 'fp64', 'm'), { message: 'unknown dtype "fp64"; use one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4' });
  assert.throws(() => selectModelFiles(['onnx/model.onnx'], 'fp32', 'model m'), /model m lacks config.json, tokenizer.json, tokenizer_config.json needed for dtype fp32$/);
});
