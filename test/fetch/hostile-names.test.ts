// A hostile hub on 127.0.0.1 hands us names meant as paths or shell syntax: a commit
// `../../…`, listing entries with `..`, branches `step1$(touch${IFS}x)`. Each is refused where it
// enters, naming the repo, the revision and the name, and nothing is written outside the cache.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../../src/fetch/hub-config.js';
import { commitListing, downloadHubModel, resolveModelSource } from '../../src/fetch/model-fetch.js';
import { selectModelRevisions } from '../../src/fetch/revision-select.js';
import { fetchStimuli, resolveDatasetCommit, resolveStimuliSource } from '../../src/fetch/stimuli.js';
import { startFakeHub, type FakeHubOptions } from '../support/fake-hub.js';
import { FAST_RETRY, tempDir } from './helpers.js';

const ID = 'test-org/tiny-gpt2';

async function setup(t: Parameters<typeof tempDir>[0], hubOpts: FakeHubOptions) {
  const hub = await startFakeHub(hubOpts);
  t.after(() => hub.close());
  const top = tempDir(t, 'hostile-');
  const cacheDir = join(top, 'c', 'cache');
  mkdirSync(cacheDir, { recursive: true });
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url }, { cacheDir, retry: FAST_RETRY }));
  return { hub, client, top, cacheDir };
}

function unsafe(...parts: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof FetchError, String(err));
    assert.equal(err.reason, 'unsafe-name', err.message);
    for (const p of parts) assert.ok(err.message.includes(p), `${JSON.stringify(p)} in: ${err.message}`);
    return true;
  };
}

/** Every file under a folder, relative; for "nothing was written here". */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

test('a commit sha "../../…" from the hub is refused at resolution, and nothing is written outside the cache', async (t) => {
  const evil = '../../../x';
  const { client, top, cacheDir } = await setup(t, { hostile: { sha: evil } });
  await assert.rejects(resolveModelSource({ id: ID }, '', { offline: false, client }), unsafe(ID, 'main', JSON.stringify(evil)));
  await assert.rejects(resolveModelSource({ id: ID }, 'step0030-tokens0.06M', { offline: false, client }), unsafe(ID, 'step0030-tokens0.06M'));
  assert.deepEqual(filesUnder(top).filter((f) => !f.startsWith(cacheDir)), []);
  // A commit given to the cache functions directly is refused before any path is built from it.
  await assert.rejects(commitListing(client, ID, evil), unsafe(ID, JSON.stringify(evil)));
  await assert.rejects(downloadHubModel(client, ID, evil, 'fp32', join(top, 'out')), unsafe(ID, JSON.stringify(evil)));
  assert.deepEqual(filesUnder(top).filter((f) => !f.startsWith(cacheDir)), []);
});

test('a listing entry with ".." is refused by name, before any file is written', async (t) => {
  const evilName = 'onnx/model.onnx_data/../../../../../../x';
  const { hub, client, top } = await setup(t, { hostile: { files: { [evilName]: 'echo pwned\n' } } });
  const commit = hub.commit(ID, 'main');
  await assert.rejects(downloadHubModel(client, ID, commit, 'fp32', join(top, 'out')), unsafe(ID, commit, JSON.stringify(evilName)));
  assert.ok(!existsSync(join(top, 'c', 'x')), 'the hub wrote outside the cache');
  assert.ok(!existsSync(join(top, 'x')));
  assert.equal(hub.requests.filter((r) => r.url.includes('/resolve/')).length, 0, 'no file was fetched');
  // Other shapes of the same attack.
  for (const name of ['/etc/passwd', 'a//b', 'onnx\\..\\..\\x', 'a/\u0000b', '']) {
    const h2 = await setup(t, { hostile: { files: { [name]: 'x' } } });
    await assert.rejects(resolveModelSource({ id: ID }, '', { offline: false, client: h2.client }), unsafe(ID, JSON.stringify(name)));
  }
});

test('a cached listing with such a name (written by an older version) is refused too', async (t) => {
  const { hub, client, cacheDir, top } = await setup(t, {});
  const commit = hub.commit(ID, 'main');
  const dir = join(cacheDir, 'models--test-org--tiny-gpt2', 'listings');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${commit}.json`), JSON.stringify({ id: ID, sha: commit, siblings: [{ rfilename: 'config.json/../../../../../x', size: 3 }] }));
  await assert.rejects(downloadHubModel(client, ID, commit, 'fp32', join(top, 'out')), unsafe(ID, 'config.json/../../../../../x'));
});

test('branches named as shell syntax are refused when the refs are read, not handed on', async (t) => {
  for (const evil of ['step1$(touch${IFS}x)', 'step2`id>x`', 'step3/../../x']) {
    const { client } = await setup(t, { hostile: { branches: [evil] } });
    await assert.rejects(selectModelRevisions({ id: ID }, { glob: 'step*' }, { offline: false, client }), unsafe(ID, JSON.stringify(evil)));
  }
});

test('a local mirror folder under revisions/ named as shell syntax is refused when selected', async (t) => {
  const root = tempDir(t);
  const base = join(root, 'test-org', 'tiny-gpt2');
  for (const r of ['step1', 'step2$(id)']) mkdirSync(join(base, 'revisions', r), { recursive: true });
  const client = new HubClient(hubConfigFromEnv({}, { cacheDir: tempDir(t), offline: true }));
  await assert.rejects(selectModelRevisions({ id: ID }, { glob: 'step*' }, { offline: true, client, modelsDir: root }), unsafe(ID, JSON.stringify('step2$(id)')));
  await assert.rejects(selectModelRevisions({ id: ID, path: base }, { glob: 'step*' }, { offline: true, client }), unsafe(ID, JSON.stringify('step2$(id)')));
  assert.deepEqual(await selectModelRevisions({ id: ID, path: base }, { glob: 'step1' }, { offline: true, client }), ['step1']);
});

test('dataset listings and dataset file names are checked like model ones', async (t) => {
  const repoDir = tempDir(t, 'ds-');
  mkdirSync(join(repoDir, 'data'));
  writeFileSync(join(repoDir, 'data', 'x.jsonl'), '{"text":"a b"}\n');
  const DS = 'org/ds';
  const evilName = 'data/../../../../../../../x.jsonl';
  const { client, top } = await setup(t, { repos: [{ id: DS, dir: repoDir, type: 'dataset' }], hostile: { files: { [evilName]: 'x' } } });
  const src = { source: 'dataset' as const, id: DS, revision: 'main', repoFile: 'data/x.jsonl', file: 'stimuli.jsonl' };
  await assert.rejects(resolveDatasetCommit('lambada', src, client), unsafe(DS, JSON.stringify(evilName)));
  // The pipeline file's dataset.file and revision are names too.
  const projectDir = tempDir(t);
  await assert.rejects(resolveStimuliSource('lambada', { dataset: { id: DS, file: '../../etc/passwd' } }, { projectDir, offline: false }), unsafe(DS, '../../etc/passwd'));
  await assert.rejects(resolveStimuliSource('lambada', { dataset: { id: DS, file: 'a.jsonl', revision: 'x/../../y' } }, { projectDir, offline: false }), unsafe(DS, 'x/../../y'));
  await assert.rejects(resolveStimuliSource('lambada', { dataset: { id: '../../x', file: 'a.jsonl' } }, { projectDir, offline: false }), unsafe('../../x'));
  const sha = { ...src, repoFile: 'a/../../../../../../../y', commit: 'a'.repeat(40) };
  await assert.rejects(fetchStimuli('lambada', sha, join(top, 'out', 's.jsonl'), { client }), unsafe(DS, sha.repoFile));
  assert.ok(!existsSync(join(top, 'x.jsonl')));
});

test('a revision selection that meets unsafe refs fails, instead of falling back to the remembered list', async (t) => {
  const { resolveRevisionSelections } = await import('../../src/engine/revisions.js');
  const good = await startFakeHub({});
  t.after(() => good.close());
  const bad = await startFakeHub({ hostile: { branches: ['step9$(id)'] } });
  t.after(() => bad.close());
  const storeDir = tempDir(t);
  const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  });
  process.env.HF_HUB_CACHE = tempDir(t);
  const spec = () => ({ models: [{ id: ID, name: 'tiny', revisions: [] as string[], revisionSelect: { glob: 'step*' } }] });
  const view = { offline: false } as never;
  process.env.HF_ENDPOINT = good.url;
  const first = spec();
  await resolveRevisionSelections(first as never, view, storeDir);
  assert.deepEqual(first.models[0]!.revisions, ['step0030-tokens0.06M', 'step0120-tokens0.25M', 'step0300-tokens0.61M']);
  process.env.HF_ENDPOINT = bad.url;
  await assert.rejects(resolveRevisionSelections(spec() as never, view, storeDir), /step9\$\(id\)/);
});
