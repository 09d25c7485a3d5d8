// Revision names, selections from refs, and resolution of branch / step name / tag / commit
// through the fake hub.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../../src/fetch/hub-config.js';
import { selectModelRevisions } from '../../src/fetch/revision-select.js';
import { closeRefs, parseStep, selectRevisions, type Refs } from '../../src/fetch/revisions.js';
import { startFakeHub } from '../support/fake-hub.js';
import { FAST_RETRY, SHARED, tempDir, TINY } from './helpers.js';

const OLMO_STEPS = [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000];
const olmoRefs: Refs = {
  branches: [
    { name: 'main', targetCommit: 'm' },
    // Deliberately unsorted, with token counts that do not sort lexically.
    ...[...OLMO_STEPS].reverse().map((s) => ({ name: `step${s}-tokens${Math.round(s * 4.4)}B`, targetCommit: `c${s}` })),
    { name: 'step500-extra', targetCommit: 'x' },
  ],
  tags: [{ name: 'v1.0', targetCommit: 'm' }],
};

test('parseStep reads OLMo and Pythia step names', () => {
  assert.equal(parseStep('step10000-tokens44B'), 10000);
  assert.equal(parseStep('step143000'), 143000);
  assert.equal(parseStep('main'), null);
  assert.equal(parseStep('v1.0'), null);
});

test('selectRevisions: glob, sorted by step number, every k-th and a step range', () => {
  const all = selectRevisions(olmoRefs, { glob: 'step*-tokens*' });
  assert.deepEqual(all, OLMO_STEPS.map((s) => `step${s}-tokens${Math.round(s * 4.4)}B`));
  const everyThird = selectRevisions(olmoRefs, { glob: 'step*-tokens*', every: 3 });
  assert.deepEqual(everyThird.map(parseStep), [0, 3000, 6000, 9000]);
  const ranged = selectRevisions(olmoRefs, { glob: 'step*-tokens*', steps: [2000, 8000], every: 2 });
  assert.deepEqual(ranged.map(parseStep), [2000, 4000, 6000, 8000]);
  assert.deepEqual(selectRevisions(olmoRefs, { glob: 'v*' }), ['v1.0']);
  assert.throws(() => selectRevisions(olmoRefs, { glob: '*', every: 0 }), /every: 0/);
  assert.throws(() => selectRevisions(olmoRefs, { glob: '*', steps: [9, 1] }), /\[9, 1\] is empty/);
});

test('closeRefs ranks step names by step distance, others by edit distance', () => {
  const names = [...olmoRefs.branches.map((b) => b.name)];
  assert.deepEqual(closeRefs('step4100-tokens18B', names, 2), ['step4000-tokens17600B', 'step5000-tokens22000B']);
  assert.equal(closeRefs('mian', names, 1)[0], 'main');
});

test('hub resolution: main, step name, tag and commit; refs listing; selection from refs', async (t) => {
  const hub = await startFakeHub({ repos: [{ id: 'test-org/tiny-gpt2', dir: TINY, tags: { 'v0.1': 'step0120-tokens0.25M' } }] });
  t.after(() => hub.close());
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url }, { cacheDir: tempDir(t), retry: FAST_RETRY }));
  const id = 'test-org/tiny-gpt2';

  const main = await client.revisionInfo(id, '');
  assert.equal(main.sha, hub.commit(id, 'main'));
  assert.ok(main.siblings.some((s) => s.rfilename === 'onnx/model.onnx' && s.lfs?.size === 13365624));
  assert.ok(!main.siblings.some((s) => s.rfilename.startsWith('revisions/')), 'revisions are branches, not files');

  const step = await client.revisionInfo(id, 'step0030-tokens0.06M');
  assert.equal(step.sha, hub.commit(id, 'step0030-tokens0.06M'));
  assert.notEqual(step.sha, main.sha);
  assert.equal((await client.revisionInfo(id, 'v0.1')).sha, hub.commit(id, 'step0120-tokens0.25M'));
  assert.equal((await client.revisionInfo(id, step.sha)).sha, step.sha);

  const refs = await client.refs(id);
  assert.deepEqual(refs.branches.map((b) => b.name).sort(),
    ['main', 'step0030-tokens0.06M', 'step0120-tokens0.25M', 'step0300-tokens0.61M']);
  assert.deepEqual(refs.tags, [{ name: 'v0.1', ref: 'refs/tags/v0.1', targetCommit: hub.commit(id, 'step0120-tokens0.25M') }]);

  const picked = await selectModelRevisions({ id }, { glob: 'step*-tokens*', every: 2 }, { offline: false, client });
  assert.deepEqual(picked, ['step0030-tokens0.06M', 'step0300-tokens0.61M']);
  const ranged = await selectModelRevisions({ id }, { glob: 'step*', steps: [100, 400] }, { offline: false, client });
  assert.deepEqual(ranged, ['step0120-tokens0.25M', 'step0300-tokens0.61M']);
});

test('a missing revision names it and lists the closest refs; a missing repo says so', async (t) => {
  const hub = await startFakeHub();
  t.after(() => hub.close());
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: hub.url }, { cacheDir: tempDir(t), retry: FAST_RETRY }));
  await assert.rejects(client.revisionInfo('test-org/tiny-gpt2', 'step0100-tokens0.20M'), (err: unknown) => {
    assert.ok(err instanceof FetchError);
    assert.equal(err.reason, 'revision-not-found');
    assert.equal(err.message,
      `model test-org/tiny-gpt2: revision "step0100-tokens0.20M" was not found on ${hub.url} (4 refs); `
      + 'closest refs: step0120-tokens0.25M, step0030-tokens0.06M, step0300-tokens0.61M, main');
    return true;
  });
  await assert.rejects(client.revisionInfo('test-org/no-such-model', ''), (err: unknown) => {
    assert.ok(err instanceof FetchError && err.reason === 'repo-not-found');
    assert.match(err.message, /model test-org\/no-such-model was not found/);
    return true;
  });
});

test('revision selection from a local mirror needs no hub', async () => {
  const client = new HubClient(hubConfigFromEnv({ HF_ENDPOINT: 'http://127.0.0.1:9' }, { offline: true }));
  const picked = await selectModelRevisions({ id: 'EleutherAI/tiny-gpt2' }, { glob: 'step*', steps: [0, 200] },
    { modelsDir: `${SHARED}/models`, offline: true, client });
  assert.deepEqual(picked, ['step0030-tokens0.06M', 'step0120-tokens0.25M']);
  await assert.rejects(selectModelRevisions({ id: 'org/absent' }, { glob: 'step*' }, { modelsDir: `${SHARED}/models`, offline: true, client }),
    /model org\/absent: revisionSelect step\* needs the hub's refs, and offline mode forbids asking/);
});
