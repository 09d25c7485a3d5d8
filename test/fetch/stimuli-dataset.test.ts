// Stimuli from a Hugging Face dataset repo (lambada's default: EleutherAI/lambada_openai,
// data/lambada_test_en.jsonl), served by the fake hub under the hub's dataset routes: the revision
// resolves to a commit (the key), the file is downloaded and verified, kept in the hub cache as
// huggingface_hub keeps it, and found there offline; and the digit_mat default is the paper
// repository's pinned all_problems.npz.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { sha256 } from '../../src/fetch/hash.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../../src/fetch/hub-config.js';
import { datasetCacheDir, fetchStimuli, resolveDatasetCommit, resolveStimuliSource } from '../../src/fetch/stimuli.js';
import { readLambada } from '../../src/tasks/stimuli.js';
import fetchStimuliKind, { DEFAULT_STIMULI } from '../../stages/fetch-stimuli.js';
import { fakeCommit, startFakeHub } from '../support/fake-hub.js';
import { FAST_RETRY, planContext, STIMULI, stageContext, tempDir } from './helpers.js';

const ID = 'EleutherAI/lambada_openai';
const FILE = 'data/lambada_test_en.jsonl';
const N = 25;

/** A dataset repo folder like lambada_openai's: the first N passages as `{"text": …}` lines. */
function datasetRepo(t: Parameters<typeof tempDir>[0]): { dir: string; bytes: Buffer; texts: string[] } {
  const dir = tempDir(t, 'dataset-repo-');
  const texts = readLambada(join(STIMULI, 'lambada', 'stimuli.jsonl')).slice(0, N).map((i) => i.text);
  const bytes = Buffer.from(texts.map((text) => `${JSON.stringify({ text })}\n`).join(''));
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, FILE), bytes);
  writeFileSync(join(dir, 'README.md'), '# lambada_openai (test copy)\n');
  return { dir, bytes, texts };
}

function client(endpoint: string, cacheDir: string, over: { offline?: boolean; token?: string } = {}): HubClient {
  return new HubClient(hubConfigFromEnv({}, { endpoint, cacheDir, retry: FAST_RETRY, offline: over.offline ?? false, token: over.token }));
}

const DECL = { dataset: { id: ID, file: FILE, revision: 'main' }, file: 'stimuli.jsonl' };

test('a dataset source: the mirror copy wins; else the dataset file at its revision', async (t) => {
  const projectDir = tempDir(t);
  assert.deepEqual(await resolveStimuliSource('lambada', DECL, { projectDir, stimuliDir: STIMULI, offline: true }),
    { source: 'mirror', path: join(STIMULI, 'lambada', 'stimuli.jsonl'), file: 'stimuli.jsonl', sha256: undefined });
  assert.deepEqual(await resolveStimuliSource('lambada', DECL, { projectDir, offline: false }),
    { source: 'dataset', id: ID, revision: 'main', repoFile: FILE, file: 'stimuli.jsonl', sha256: undefined });
  // Without file:, the file keeps the dataset file's name; the revision defaults to main.
  assert.deepEqual(await resolveStimuliSource('lambada', { dataset: { id: ID, file: FILE } }, { projectDir, offline: false }),
    { source: 'dataset', id: ID, revision: 'main', repoFile: FILE, file: 'lambada_test_en.jsonl', sha256: undefined });
  await assert.rejects(resolveStimuliSource('lambada', { dataset: { id: 'no-slash', file: FILE } }, { projectDir, offline: false }), /needs id: <org>\/<name>/);
  await assert.rejects(resolveStimuliSource('lambada', { ...DECL, url: 'https://example.org/x.jsonl' }, { projectDir, offline: false }), /both url: and dataset:/);
});

test('the revision resolves to a commit through the dataset API; the file downloads, verified, into the hub cache', async (t) => {
  const repo = datasetRepo(t);
  // A model repo of the same id must not answer for the dataset: the routes are the hub's dataset ones.
  const hub = await startFakeHub({ repos: [{ id: ID, dir: repo.dir, type: 'dataset' }] });
  t.after(() => hub.close());
  const cache = tempDir(t, 'hf-cache-');
  const c = client(hub.url, cache);
  const src = await resolveStimuliSource('lambada', DECL, { projectDir: cache, offline: false });
  assert.equal(src.source, 'dataset');
  if (src.source !== 'dataset') return;
  const commit = await resolveDatasetCommit('lambada', src, c);
  assert.equal(commit, fakeCommit(ID, 'main'));
  assert.equal(readFileSync(join(datasetCacheDir(cache, ID), 'refs', 'main'), 'utf8'), commit);

  const dest = join(cache, 'stage', 'stimuli');
  const res = await fetchStimuli('lambada', { ...src, commit }, dest, { client: c, retry: FAST_RETRY });
  assert.deepEqual(readFileSync(dest), repo.bytes);
  assert.deepEqual({ sha256: res.sha256, bytes: res.bytes }, { sha256: sha256(repo.bytes), bytes: repo.bytes.length });
  assert.equal(res.from, `${hub.url}/datasets/${ID}/resolve/${commit}/${FILE}`);
  assert.deepEqual(readFileSync(join(datasetCacheDir(cache, ID), 'snapshots', commit, 'data', 'lambada_test_en.jsonl')), repo.bytes);
  // The listing the resolution got is kept by commit: the download needs no second listing request.
  assert.deepEqual(hub.requests.map((r) => `${r.status} ${r.url}`), [
    `200 /api/datasets/${ID}/revision/main?blobs=true`,
    `200 /datasets/${ID}/resolve/${commit}/${FILE}`,
  ]);
  // What the lambada task reads: item ids 0… in file order, the texts unchanged.
  const items = readLambada(dest);
  assert.deepEqual(items.map((i) => i.itemId), Array.from({ length: N }, (_, i) => String(i)));
  assert.deepEqual(items.map((i) => i.text), repo.texts);

  // Offline: the cached ref and snapshot answer; no request is made.
  const before = hub.requests.length;
  const off = client(hub.url, cache, { offline: true });
  assert.equal(await resolveDatasetCommit('lambada', src, off), commit);
  const dest2 = join(cache, 'stage2', 'stimuli');
  await fetchStimuli('lambada', src, dest2, { client: off });
  assert.deepEqual(readFileSync(dest2), repo.bytes);
  assert.equal(hub.requests.length, before);
});

test('dataset failures say what to do: offline and unresolved, a missing file, a wrong revision, a token', async (t) => {
  const repo = datasetRepo(t);
  const hub = await startFakeHub({ repos: [{ id: ID, dir: repo.dir, type: 'dataset' }], token: 'hf_secret', authStatus: 401 });
  t.after(() => hub.close());
  const cache = tempDir(t, 'hf-cache-');
  const src = { source: 'dataset' as const, id: ID, revision: 'main', repoFile: FILE, file: 'stimuli.jsonl' };
  await assert.rejects(resolveDatasetCommit('lambada', src, client(hub.url, cache, { offline: true })),
    (e: unknown) => e instanceof FetchError && e.reason === 'offline-missing' && /never resolved here/.test(e.message) && /--stimuli-dir/.test(e.message));
  await assert.rejects(resolveDatasetCommit('lambada', src, client(hub.url, cache)),
    (e: unknown) => e instanceof FetchError && e.reason === 'auth' && /dataset EleutherAI\/lambada_openai/.test(e.message) && /HF_TOKEN is not set/.test(e.message));
  const c = client(hub.url, cache, { token: 'hf_secret' });
  assert.equal(await resolveDatasetCommit('lambada', src, c), fakeCommit(ID, 'main'));
  assert.ok(hub.requests.filter((r) => r.status === 200).every((r) => r.authorization === 'Bearer hf_secret'));
  await assert.rejects(resolveDatasetCommit('lambada', { ...src, repoFile: 'data/lambada_test_de.jsonl' }, c),
    (e: unknown) => e instanceof FetchError && e.reason === 'file-not-found' && e.message.includes(`the repo has ${FILE}`));
  await assert.rejects(resolveDatasetCommit('lambada', { ...src, revision: 'v9' }, c),
    (e: unknown) => e instanceof FetchError && e.reason === 'revision-not-found' && /revision "v9"/.test(e.message));
  await assert.rejects(resolveDatasetCommit('lambada', { ...src, id: 'EleutherAI/nope' }, c),
    (e: unknown) => e instanceof FetchError && e.reason === 'repo-not-found');
  // A commit given as the revision needs no resolution at all.
  const commit = 'a'.repeat(40);
  assert.equal(await resolveDatasetCommit('lambada', { ...src, revision: commit }, client(hub.url, cache, { offline: true })), commit);
});

test('fetch-stimuli: lambada\'s default is the hub dataset, keyed by the commit; digit_mat\'s the pinned npz', async (t) => {
  const repo = datasetRepo(t);
  const hub = await startFakeHub({ repos: [{ id: ID, dir: repo.dir, type: 'dataset' }] });
  t.after(() => hub.close());
  const cache = tempDir(t, 'hf-cache-');
  const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = cache;
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  });
  const projectDir = tempDir(t);
  const ctx = planContext({ projectDir, kind: 'fetch-stimuli', vars: { task: 'lambada' }, task: { name: 'lambada', conditions: [], params: {} } });
  assert.deepEqual(fetchStimuliKind.outputs(ctx), [{ name: 'stimuli', type: 'file', materialize: 'external_stimuli/lambada/stimuli.jsonl' }]);
  const commit = fakeCommit(ID, 'main');
  const planned = await fetchStimuliKind.plan!(ctx);
  assert.deepEqual(planned, { source: 'dataset', id: ID, revision: 'main', commit, repo_file: FILE, sha256: null, file: 'stimuli.jsonl' });
  const out = tempDir(t);
  const sctx = stageContext(ctx, planned, out, tempDir(t));
  await fetchStimuliKind.execute(sctx);
  assert.deepEqual(readFileSync(join(out, 'stimuli')), repo.bytes);
  assert.deepEqual(sctx.records.resolved, { source: 'dataset', from: `${hub.url}/datasets/${ID}/resolve/${commit}/${FILE}`, file: 'stimuli.jsonl',
    sha256: sha256(repo.bytes), bytes: repo.bytes.length, commit, endpoint: hub.url });

  // digit_mat: the paper repository's file at commit 726e068, pinned; the mirror's copy matches the pin.
  assert.deepEqual(DEFAULT_STIMULI.digit_mat, {
    url: 'https://raw.githubusercontent.com/jennhu/lm-task-demands/726e068841c1305bd313ca25345aa1c08f9ec39d/external_stimuli/digit_mat/all_problems.npz',
    sha256: '8ccef408112108fd5994d4cc131a498c68f1cc474be185376616ad3ee37f3362',
  });
  const dm = planContext({ projectDir, kind: 'fetch-stimuli', vars: { task: 'digit_mat' }, task: { name: 'digit_mat', conditions: [], params: {} }, spec: { stimuliDir: STIMULI } });
  const dmPlan = await fetchStimuliKind.plan!(dm);
  assert.equal(dmPlan.source, 'mirror');
  const dmOut = tempDir(t);
  await fetchStimuliKind.execute(stageContext(dm, dmPlan, dmOut, tempDir(t)));
  assert.equal(sha256(readFileSync(join(dmOut, 'stimuli'))), DEFAULT_STIMULI.digit_mat!.sha256);
  assert.ok(!existsSync(join(projectDir, 'external_stimuli')), 'the stage writes only its staging folder');
});
