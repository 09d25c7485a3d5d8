// Stimuli sources: explicit path, the mirror layout of shared/data/stimuli, a URL pinned by sha256
// (downloaded through the fake hub's static files), and the messages when something is off.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { sha256 } from '../../src/fetch/hash.js';
import { fetchStimuli, resolveStimuliSource } from '../../src/fetch/stimuli.js';
import { startFakeHub } from '../support/fake-hub.js';
import { FAST_RETRY, STIMULI, tempDir } from './helpers.js';

const DGL = join(STIMULI, 'dgl', 'stimuli.csv');
const DGL_SHA = sha256(readFileSync(DGL));

test('source order: explicit path, then the mirror <dir>/<task>/<file>, then the URL', async (t) => {
  const projectDir = tempDir(t);
  const url = 'http://127.0.0.1:9/dgl/stimuli.csv';
  assert.deepEqual(await resolveStimuliSource('dgl', { path: DGL, url, sha256: DGL_SHA }, { projectDir, stimuliDir: STIMULI, offline: false }),
    { source: 'path', path: DGL, file: 'stimuli.csv', sha256: DGL_SHA });
  assert.deepEqual(await resolveStimuliSource('dgl', { url, sha256: DGL_SHA }, { projectDir, stimuliDir: STIMULI, offline: false }),
    { source: 'mirror', path: DGL, file: 'stimuli.csv', sha256: DGL_SHA });
  assert.deepEqual(await resolveStimuliSource('digit_mat', { file: 'problems.json' }, { projectDir, stimuliDir: STIMULI, offline: true }),
    { source: 'mirror', path: join(STIMULI, 'digit_mat', 'problems.json'), file: 'problems.json', sha256: undefined });
  assert.deepEqual(await resolveStimuliSource('dgl', { url, sha256: DGL_SHA.toUpperCase() }, { projectDir, offline: false }),
    { source: 'url', url, sha256: DGL_SHA, file: 'stimuli.csv' });
});

test('missing or unusable declarations say what to do', async (t) => {
  const projectDir = tempDir(t);
  const opts = { projectDir, stimuliDir: STIMULI, offline: false };
  await assert.rejects(resolveStimuliSource('blimp', { path: 'data/blimp.csv' }, opts),
    { message: `task blimp: stimuli path data/blimp.csv (${projectDir}/data/blimp.csv) is not a file` });
  await assert.rejects(resolveStimuliSource('lambada', { file: 'other.jsonl' }, opts),
    { message: `task lambada: stimuli other.jsonl: not found at ${STIMULI}/lambada/other.jsonl and no url: is declared; `
      + 'put it at <dir>/lambada/other.jsonl and pass --stimuli-dir <dir> (or set PIPELINE_STIMULI_DIR), or give the task stimuli.path:' });
  await assert.rejects(resolveStimuliSource('crt', { url: 'https://example.org/crt.csv' }, { projectDir, offline: false }), /has no sha256: pin/);
  await assert.rejects(resolveStimuliSource('crt', { url: 'https://example.org/crt.csv', sha256: 'abc' }, { projectDir, offline: false }), /is not 64 hex digits/);
  await assert.rejects(resolveStimuliSource('crt', { url: 'https://example.org/crt.csv', sha256: DGL_SHA }, { projectDir, offline: true }),
    (err: unknown) => err instanceof FetchError && err.reason === 'offline-missing'
      && err.message.startsWith('task crt: stimuli crt.csv: no stimuli mirror is set, and offline mode forbids downloading https://example.org/crt.csv'));
});

test('a pinned URL downloads to a temp file, is verified, and lands whole', async (t) => {
  const hub = await startFakeHub({ static: { '/data/dgl.csv': DGL }, drop: undefined });
  t.after(() => hub.close());
  const out = tempDir(t);
  const src = await resolveStimuliSource('dgl', { url: `${hub.url}/data/dgl.csv`, sha256: DGL_SHA }, { projectDir: out, offline: false });
  const dest = join(out, 'stage', 'stimuli');
  const res = await fetchStimuli('dgl', src, dest, { retry: FAST_RETRY });
  assert.deepEqual(res, { sha256: DGL_SHA, bytes: readFileSync(DGL).length, from: `${hub.url}/data/dgl.csv` });
  assert.deepEqual(readFileSync(dest), readFileSync(DGL));
  assert.deepEqual(readdirSync(join(out, 'stage')), ['stimuli'], 'no temp files left');
});

test('a pin mismatch states both digests and leaves nothing behind', async (t) => {
  const served = Buffer.from('item_id,sentence\n1,The cat sleeps.\n');
  const hub = await startFakeHub({ static: { '/data/dgl.csv': served } });
  t.after(() => hub.close());
  const out = tempDir(t);
  const url = `${hub.url}/data/dgl.csv`;
  const src = await resolveStimuliSource('dgl', { url, sha256: DGL_SHA }, { projectDir: out, offline: false });
  const dest = join(out, 'stage', 'stimuli');
  await assert.rejects(fetchStimuli('dgl', src, dest, { retry: FAST_RETRY }), (err: unknown) => {
    assert.ok(err instanceof FetchError && err.reason === 'digest-mismatch');
    assert.equal(err.message, `task dgl: stimuli from ${url} do not match the pinned sha256: expected ${DGL_SHA}, got ${sha256(served)}; `
      + "if the file changed on purpose, update sha256: in the task's stimuli declaration");
    return true;
  });
  assert.ok(!existsSync(dest));
  assert.deepEqual(readdirSync(join(out, 'stage')), []);
  // A mirror copy is checked against the pin too.
  const mirrorSrc = await resolveStimuliSource('dgl', { sha256: sha256('x'), file: 'stimuli.csv' }, { projectDir: out, stimuliDir: STIMULI, offline: true });
  await assert.rejects(fetchStimuli('dgl', mirrorSrc, dest), new RegExp(`expected ${sha256('x')}, got ${DGL_SHA}`));
});
