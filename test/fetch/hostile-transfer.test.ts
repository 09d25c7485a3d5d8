// A hostile or broken hub on 127.0.0.1 cannot exhaust the machine or hang a run: a body longer
// than the listing is refused at the listed size, a server that accepts and never answers runs
// into the first-byte deadline (set short here through the environment), a stalled body into the
// idle one, each retried a bounded number of times and then named by URL; a same-size damaged
// file in a shared HF cache is downloaded again (offline: refused); HF_TOKEN never follows a
// redirect to another host.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv, type HubConfig } from '../../src/fetch/hub-config.js';
import { downloadHubModel, resolveModelSource } from '../../src/fetch/model-fetch.js';
import { datasetCacheDir, fetchStimuli } from '../../src/fetch/stimuli.js';
import { startFakeHub, type FakeHubOptions } from '../support/fake-hub.js';
import { FAST_RETRY, tempDir, TINY, treeHashes } from './helpers.js';

const ID = 'test-org/tiny-gpt2';
// Generous for a loaded machine, yet short enough that a hang shows as a failure.
const LIMIT = { timeout: 60_000 };

async function setup(t: Parameters<typeof tempDir>[0], hubOpts: FakeHubOptions = {}, env: Record<string, string> = {}, over: Partial<HubConfig> = {}) {
  const hub = await startFakeHub(hubOpts);
  t.after(() => hub.close());
  const cacheDir = tempDir(t, 'hf-cache-');
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url, ...env }, { cacheDir, retry: FAST_RETRY, ...over }));
  return { hub, client, cacheDir, out: tempDir(t) };
}

function reason(r: string, ...parts: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof FetchError, String(err));
    assert.equal(err.reason, r, err.message);
    for (const p of parts) assert.ok(err.message.includes(p), `${JSON.stringify(p)} in: ${err.message}`);
    return true;
  };
}

test('an endless body is refused at the listed size, on the first try', LIMIT, async (t) => {
  const { hub, client, out, cacheDir } = await setup(t, { hostile: { body: { mode: 'endless' }, bodyMatch: (f) => f === 'tokenizer.json' } });
  const commit = hub.commit(ID, 'main');
  await assert.rejects(downloadHubModel(client, ID, commit, 'fp32', out), reason('too-large', 'tokenizer.json', 'the listing gives', `${hub.url}/${ID}/resolve/${commit}/tokenizer.json`));
  assert.equal(hub.requests.filter((r) => r.file === 'tokenizer.json').length, 1, 'not retried');
  const snap = join(cacheDir, 'models--test-org--tiny-gpt2', 'snapshots', commit);
  assert.ok(!existsSync(join(snap, 'tokenizer.json')) && !existsSync(join(snap, 'tokenizer.json.part')), 'nothing kept');
});

test('a body a few bytes longer than the listing is refused too', LIMIT, async (t) => {
  const { hub, client, out } = await setup(t, { hostile: { body: { mode: 'long', extra: 10 }, bodyMatch: (f) => f === 'config.json' } });
  await assert.rejects(downloadHubModel(client, ID, hub.commit(ID, 'main'), 'fp32', out), reason('too-large', 'config.json'));
  assert.equal(hub.requests.filter((r) => r.file === 'config.json').length, 1);
});

test('a hub that accepts and never answers: PIPELINE_HTTP_TIMEOUT, a bounded number of tries, then the URL', LIMIT, async (t) => {
  const { hub, client } = await setup(t, { hostile: { silent: (p) => p.startsWith('/api/') } }, { PIPELINE_HTTP_TIMEOUT: '0.2', PIPELINE_HTTP_RETRIES: '3' }, { retry: { ...FAST_RETRY, attempts: 3 } });
  assert.equal(client.config.firstByteTimeoutMs, 200);
  await assert.rejects(resolveModelSource({ id: ID }, '', { offline: false, client }),
    reason('retries-exhausted', `${hub.url}/api/models/${ID}/revision/main`, 'gave up after 3 tries', 'within 200 ms', 'PIPELINE_HTTP_TIMEOUT'));
  assert.equal(hub.requests.filter((r) => r.url.startsWith('/api/')).length, 3);
  // The environment sets the tries too.
  assert.equal(hubConfigFromEnv({ PIPELINE_HTTP_RETRIES: '2' }).retry.attempts, 2);
  assert.equal(hubConfigFromEnv({ PIPELINE_HTTP_IDLE_TIMEOUT: '1.5' }).idleTimeoutMs, 1500);
  assert.throws(() => hubConfigFromEnv({ PIPELINE_HTTP_TIMEOUT: 'soon' }), /PIPELINE_HTTP_TIMEOUT="soon": give a positive number of seconds/);
});

test('a file request that is never answered ends the same way, naming the file URL', LIMIT, async (t) => {
  const { hub, client: normal, out } = await setup(t, { hostile: { silent: (p) => p.endsWith('/config.json') } });
  const commit = hub.commit(ID, 'main');
  await resolveModelSource({ id: ID }, '', { offline: false, client: normal }); // the listing, cached, under the normal deadlines
  // Only the never-answered request meets the short deadline (config.json is the first file fetched).
  const client = new HubClient({ ...normal.config, firstByteTimeoutMs: 200 });
  await assert.rejects(downloadHubModel(client, ID, commit, 'fp32', out),
    reason('retries-exhausted', `${ID}@${commit.slice(0, 12)} config.json`, 'after 4 tries', `${hub.url}/${ID}/resolve/${commit}/config.json`));
  assert.equal(hub.requests.filter((r) => r.url.endsWith('/config.json')).length, 4);
});

test('a listing longer than the JSON limit is refused', LIMIT, async (t) => {
  const { client } = await setup(t, { hostile: { files: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`pad/${'x'.repeat(100)}${i}`, 'x'])) } }, {}, { maxJsonBytes: 64 * 1024 });
  await assert.rejects(resolveModelSource({ id: ID }, '', { offline: false, client }), reason('too-large', 'longer than 65536 bytes'));
});

test('a same-size damaged file in the hub cache is downloaded again; offline it is refused by name', LIMIT, async (t) => {
  const { hub, client, cacheDir, out } = await setup(t);
  const commit = hub.commit(ID, 'main');
  await downloadHubModel(client, ID, commit, 'fp32', join(out, 'a'));
  const snap = join(cacheDir, 'models--test-org--tiny-gpt2', 'snapshots', commit);
  // One regular (git blob id) and one LFS (sha256) file, each damaged without changing its size.
  for (const f of ['config.json', 'onnx/model.onnx']) {
    const bytes = readFileSync(join(snap, f));
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(join(snap, f), bytes);
  }
  const offline = new HubClient({ ...client.config, offline: true });
  await assert.rejects(downloadHubModel(offline, ID, commit, 'fp32', join(out, 'off')), reason('digest-mismatch', 'config.json', 'damaged', snap));
  const before = hub.requests.length;
  const logs: string[] = [];
  const res = await downloadHubModel(client, ID, commit, 'fp32', join(out, 'b'), { log: (m) => logs.push(m) });
  assert.deepEqual(hub.requests.slice(before).map((r) => r.file).sort(), ['config.json', 'onnx/model.onnx']);
  assert.equal(res.cached, 4);
  assert.ok(logs.some((m) => m.startsWith('config.json in the hub cache did not match the listing')), logs.join('\n'));
  assert.deepEqual(treeHashes(join(out, 'b')), treeHashes(TINY));
});

test('a same-size damaged dataset file in the hub cache is downloaded again', LIMIT, async (t) => {
  const repoDir = tempDir(t, 'ds-');
  writeFileSync(join(repoDir, 'x.jsonl'), '{"text":"a b c"}\n');
  const DS = 'org/ds';
  const { hub, client, cacheDir, out } = await setup(t, { repos: [{ id: DS, dir: repoDir, type: 'dataset' }] });
  const src = { source: 'dataset' as const, id: DS, revision: 'main', repoFile: 'x.jsonl', file: 'x.jsonl' };
  await fetchStimuli('t', src, join(out, 'a'), { client });
  const snap = join(datasetCacheDir(cacheDir, DS), 'snapshots', hub.commit(DS, 'main'), 'x.jsonl');
  assert.equal(readFileSync(snap, 'utf8'), '{"text":"a b c"}\n');
  writeFileSync(snap, '{"text":"a b X"}\n');
  const offline = new HubClient({ ...client.config, offline: true });
  await assert.rejects(fetchStimuli('t', src, join(out, 'b'), { client: offline }), reason('digest-mismatch', snap, 'git blob id'));
  const before = hub.requests.length;
  await fetchStimuli('t', src, join(out, 'c'), { client });
  assert.equal(readFileSync(join(out, 'c'), 'utf8'), '{"text":"a b c"}\n');
  assert.ok(hub.requests.slice(before).some((r) => r.url.endsWith('/x.jsonl')), 'downloaded again');
  assert.equal(readFileSync(snap, 'utf8'), '{"text":"a b c"}\n', 'the cache holds the good copy again');
});

test('HF_TOKEN is sent to the hub and never follows a redirect to another host', LIMIT, async (t) => {
  const cdn = await startFakeHub();
  t.after(() => cdn.close());
  const other = cdn.url.replace('127.0.0.1', 'localhost');
  const { hub, client, out } = await setup(t, { token: 'hf_secret', hostile: { redirect: other } }, { HF_TOKEN: 'hf_secret' });
  await downloadHubModel(client, ID, hub.commit(ID, 'main'), 'fp32', out);
  assert.deepEqual(treeHashes(out), treeHashes(TINY));
  assert.ok(hub.requests.length > 0 && hub.requests.every((r) => r.authorization === 'Bearer hf_secret'));
  const cdnGets = cdn.requests.filter((r) => r.url.includes('/resolve/'));
  assert.equal(cdnGets.length, 6);
  assert.deepEqual(cdnGets.map((r) => r.authorization ?? null), cdnGets.map(() => null), 'the token went to another host');
  assert.ok(readdirSync(out).length > 0);
});
