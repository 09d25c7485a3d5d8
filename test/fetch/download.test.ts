// Downloading a model through the fake hub: byte-identical files, resume after a dropped
// connection, retries that run out, auth failures, the cache, and offline mode.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv, type HubConfig } from '../../src/fetch/hub-config.js';
import { downloadHubModel, resolveModelSource } from '../../src/fetch/model-fetch.js';
import { downloadFile } from '../../src/fetch/download.js';
import { sha256 } from '../../src/fetch/hash.js';
import { startFakeHub, type FakeHubOptions } from '../support/fake-hub.js';
import { FAST_RETRY, tempDir, treeHashes, TINY } from './helpers.js';

const ID = 'test-org/tiny-gpt2';
const STEP = 'step0030-tokens0.06M';

async function setup(t: Parameters<typeof tempDir>[0], hubOpts: FakeHubOptions = {}, config: Partial<HubConfig> = {}) {
  const hub = await startFakeHub(hubOpts);
  t.after(() => hub.close());
  const cacheDir = tempDir(t);
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url }, { cacheDir, retry: FAST_RETRY, ...config }));
  return { hub, client, cacheDir, out: tempDir(t) };
}

test('a revision downloads byte-identical to its source folder, and a second fetch uses the cache', async (t) => {
  const { hub, client, out } = await setup(t);
  const src = await resolveModelSource({ id: ID }, STEP, { offline: false, client });
  assert.deepEqual(src, { source: 'hub', id: ID, revision: STEP, commit: hub.commit(ID, STEP) });
  if (src.source !== 'hub') return;
  const res = await downloadHubModel(client, ID, src.commit, 'fp32', join(out, 'a'));
  assert.deepEqual(treeHashes(join(out, 'a')), treeHashes(join(TINY, 'revisions', STEP)));
  assert.deepEqual(res.files, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json',
    'special_tokens_map.json', 'onnx/model.onnx']);
  assert.equal(res.requests, 6);
  assert.equal(res.resumed, 0);
  const fileGets = hub.requests.filter((r) => r.url.includes('/resolve/'));
  assert.ok(fileGets.every((r) => r.url.includes(`/resolve/${src.commit}/`)), 'files are fetched by commit, not by branch');

  const before = hub.requests.length;
  const again = await downloadHubModel(client, ID, src.commit, 'fp32', join(out, 'b'));
  assert.equal(again.cached, 6);
  assert.equal(hub.requests.length, before, 'listing and files come from the cache');
  assert.deepEqual(treeHashes(join(out, 'b')), treeHashes(join(TINY, 'revisions', STEP)));
});

test('a connection dropped mid-file resumes with a Range request and the file is intact', async (t) => {
  const { hub, client, out } = await setup(t, { drop: { count: 2, match: (f) => f === 'onnx/model.onnx', afterBytes: 3_000_000 } });
  const logs: string[] = [];
  const res = await downloadHubModel(client, ID, hub.commit(ID, 'main'), 'fp32', out, { log: (m) => logs.push(m) });
  const onnxGets = hub.requests.filter((r) => r.file === 'onnx/model.onnx');
  assert.deepEqual(onnxGets.map((r) => r.status), [200, 206, 206]);
  // Each retry is a stage log line (the progress display shows it under the running stage).
  const retries = logs.filter((l) => /^onnx\/model\.onnx: try \d of \d+ failed \(.+\); retrying in \d+\.\d s$/.test(l));
  assert.equal(retries.length, 2, logs.join('\n'));
  // Each resume starts after the bytes already kept, never beyond what the server had sent.
  const starts = onnxGets.map((r) => Number(/^bytes=(\d+)-$/.exec(r.range ?? 'bytes=0-')?.[1]));
  const sentBefore = onnxGets.map((_, i) => onnxGets.slice(0, i).reduce((a, r) => a + r.sent, 0));
  assert.equal(starts[0], 0);
  for (const i of [1, 2]) {
    assert.ok(starts[i]! > starts[i - 1]! && starts[i]! <= sentBefore[i]!, `resume ${i} at ${starts[i]} of ${sentBefore[i]} sent`);
  }
  assert.equal(res.resumed, 2);
  assert.deepEqual(treeHashes(out), treeHashes(TINY));
  assert.equal(readdirSync(join(res.snapshotDir, 'onnx')).filter((f) => f !== 'model.onnx').length, 0, 'no .part or lock left');
});

test('when every try drops, the error says so and keeps the .part for the next run, which resumes', async (t) => {
  const { hub, client, out, cacheDir } = await setup(t, { drop: { count: 4, match: (f) => f === 'onnx/model.onnx', afterBytes: 1_000_000 } });
  const commit = hub.commit(ID, 'main');
  await assert.rejects(downloadHubModel(client, ID, commit, 'fp32', out), (err: unknown) => {
    assert.ok(err instanceof FetchError);
    assert.equal(err.reason, 'retries-exhausted');
    assert.match(err.message, new RegExp(`^${ID}@${commit.slice(0, 12)} onnx/model.onnx: download failed after 4 tries \\(.+\\); \\d+ bytes are kept in .+model\\.onnx\\.part and the next run resumes from there$`));
    return true;
  });
  assert.ok(!existsSync(join(out, 'onnx', 'model.onnx')), 'nothing at the final path');
  const part = join(cacheDir, 'models--test-org--tiny-gpt2', 'snapshots', commit, 'onnx', 'model.onnx');
  assert.ok(!existsSync(part));
  assert.ok(existsSync(`${part}.part`));
  const kept = statSync(`${part}.part`).size;
  assert.ok(kept > 1_000_000 && kept <= 4_000_000, `${kept} bytes kept`);
  const res = await downloadHubModel(client, ID, commit, 'fp32', out);
  assert.equal(res.resumed, 1);
  assert.equal(hub.requests.at(-1)?.range, `bytes=${kept}-`);
  assert.deepEqual(treeHashes(out), treeHashes(TINY));
});

test('a stalled connection is abandoned after the idle timeout and resumed', async (t) => {
  const { hub, client, out } = await setup(t, { drop: { count: 1, mode: 'stall', match: (f) => f === 'tokenizer.json' } }, { idleTimeoutMs: 300 });
  const started = Date.now();
  await downloadHubModel(client, ID, hub.commit(ID, 'main'), 'fp32', out);
  const gets = hub.requests.filter((r) => r.file === 'tokenizer.json');
  assert.equal(gets.length, 2);
  assert.equal(gets[1]?.range, `bytes=${gets[0]?.sent}-`);
  assert.ok(Date.now() - started >= 300);
  assert.deepEqual(treeHashes(out), treeHashes(TINY));
});

test('two fetches of the same commit at once share the cache: each file is downloaded once', async (t) => {
  const { hub, client, out } = await setup(t);
  const commit = hub.commit(ID, 'main');
  const [a, b] = await Promise.all([
    downloadHubModel(client, ID, commit, 'fp32', join(out, 'a')),
    downloadHubModel(client, ID, commit, 'fp32', join(out, 'b')),
  ]);
  assert.equal(hub.requests.filter((r) => r.file === 'onnx/model.onnx').length, 1);
  assert.equal(a.cached + b.cached, 6);
  assert.deepEqual(treeHashes(join(out, 'a')), treeHashes(TINY));
  assert.deepEqual(treeHashes(join(out, 'b')), treeHashes(TINY));
});

test('401 and 403 name the model and HF_TOKEN; the right token gets through', async (t) => {
  for (const status of [401, 403] as const) {
    const { client } = await setup(t, { token: 'hf_secret', authStatus: status });
    await assert.rejects(resolveModelSource({ id: ID }, '', { offline: false, client }), (err: unknown) => {
      assert.ok(err instanceof FetchError && err.reason === 'auth');
      assert.equal(err.message, `model ${ID}: the hub answered ${status} (GatedRepo); HF_TOKEN is not set. `
        + `Accept the model's licence at ${client.config.endpoint}/${ID} and set HF_TOKEN to a token with read access to it`);
      return true;
    });
  }
  const { hub, out, cacheDir } = await setup(t, { token: 'hf_secret' });
  const authed = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_secret' }, { cacheDir, retry: FAST_RETRY }));
  const src = await resolveModelSource({ id: ID }, '', { offline: false, client: authed });
  assert.equal(src.source, 'hub');
  await downloadHubModel(authed, ID, hub.commit(ID, 'main'), 'fp32', out);
  assert.ok(hub.requests.every((r) => r.authorization === 'Bearer hf_secret'));
  const wrong = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_wrong' }, { cacheDir: join(cacheDir, 'x'), retry: FAST_RETRY }));
  await assert.rejects(downloadHubModel(wrong, ID, hub.commit(ID, 'main'), 'fp32', out), /HF_TOKEN is set but the hub refused it/);
});

test('server errors are retried with backoff; a dtype the repo lacks names the ones it has', async (t) => {
  const { hub, client, out } = await setup(t, { fail: { count: 2, status: 503 } });
  const src = await resolveModelSource({ id: ID }, '', { offline: false, client });
  assert.equal(src.source === 'hub' && src.commit, hub.commit(ID, 'main'));
  assert.deepEqual(hub.requests.slice(0, 3).map((r) => r.status), [503, 503, 200]);
  await assert.rejects(downloadHubModel(client, ID, hub.commit(ID, 'main'), 'q4', out),
    new RegExp(`lacks onnx/model_q4.onnx needed for dtype q4; ONNX weights exist for dtype fp32`));
});

test('offline: resolution comes from the cache of an earlier online run, else a clear error', async (t) => {
  const { hub, client, cacheDir, out } = await setup(t);
  await assert.rejects(resolveModelSource({ id: ID }, STEP, { offline: true, client, modelsDir: '/nonexistent/models' }), (err: unknown) => {
    assert.ok(err instanceof FetchError && err.reason === 'offline-missing');
    assert.equal(err.message, `model ${ID} revision ${STEP} is not available offline. Looked in: `
      + `/nonexistent/models/test-org/tiny-gpt2/revisions/${STEP}, /nonexistent/models/tiny-gpt2/revisions/${STEP} `
      + `and the hub cache ${cacheDir}/models--test-org--tiny-gpt2. Provide it as a mirror folder <dir>/${ID}/revisions/${STEP} `
      + '(the org folder may be left out) and pass --models-dir <dir> (or set PIPELINE_MODELS_DIR), or give the model a path: '
      + 'to its folder (revisions under <path>/revisions/<rev>), or run once online to fill the cache');
    return true;
  });
  assert.equal(hub.requests.length, 0, 'offline never touches the network');
  const online = await resolveModelSource({ id: ID }, STEP, { offline: false, client });
  if (online.source !== 'hub') throw new Error('expected hub');
  await downloadHubModel(client, ID, online.commit, 'fp32', join(out, 'online'));
  const n = hub.requests.length;
  const offlineClient = new HubClient({ ...client.config, offline: true });
  assert.deepEqual(await resolveModelSource({ id: ID }, STEP, { offline: true, client: offlineClient }), online);
  await downloadHubModel(offlineClient, ID, online.commit, 'fp32', join(out, 'offline'));
  assert.equal(hub.requests.length, n);
  assert.deepEqual(treeHashes(join(out, 'offline')), treeHashes(join(TINY, 'revisions', STEP)));
});

test('a download whose digest does not match is not kept; both digests are named', async (t) => {
  const body = Buffer.from('item_id,text\n1,hello\n');
  const { hub, out } = await setup(t, { static: { '/files/a.csv': body } });
  const wrong = sha256('something else');
  const dest = join(out, 'a.csv');
  await assert.rejects(downloadFile({ url: `${hub.url}/files/a.csv`, dest, what: 'a.csv', retry: FAST_RETRY, expected: { sha256: wrong } }),
    new RegExp(`^FetchError: a.csv: sha256 mismatch: expected ${wrong}, got ${sha256(body)} \\(from ${hub.url}/files/a.csv\\)$`));
  assert.ok(!existsSync(dest) && !existsSync(`${dest}.part`));
  // A stale, longer .part (the remote file shrank) is discarded rather than trusted.
  mkdirSync(out, { recursive: true });
  writeFileSync(`${dest}.part`, Buffer.alloc(body.length + 10, 1));
  const ok = await downloadFile({ url: `${hub.url}/files/a.csv`, dest, what: 'a.csv', retry: FAST_RETRY, expected: { sha256: sha256(body), size: body.length } });
  assert.equal(ok.bytes, body.length);
});
