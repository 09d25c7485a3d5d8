// Reads for a revision never leave the model folder: a revision `x/../../…`, a hub id with `..`,
// a revisions/<rev> link out of the model folder, a model file that links outside; each is refused
// naming the model, the revision and the name, and the outside file is never read.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FetchError } from '../../src/fetch/errors.js';
import { HubClient } from '../../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../../src/fetch/hub-config.js';
import { copyModelFiles, localFetchSelection, resolveModelSource } from '../../src/fetch/model-fetch.js';
import { tempDir, TINY } from './helpers.js';

const ID = 'test-org/tiny-gpt2';

function unsafe(...parts: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof FetchError, String(err));
    assert.equal(err.reason, 'unsafe-name', err.message);
    for (const p of parts) assert.ok(err.message.includes(p), `${JSON.stringify(p)} in: ${err.message}`);
    return true;
  };
}

/** A mirror root holding a copy of tiny-gpt2's final weights, and a folder beside it that must stay unread. */
function layout(t: Parameters<typeof tempDir>[0]) {
  const top = tempDir(t, 'mirror-');
  const root = join(top, 'mirror');
  const base = join(root, 'test-org', 'tiny-gpt2');
  mkdirSync(base, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) cpSync(join(TINY, f), join(base, f));
  mkdirSync(join(base, 'onnx'));
  writeFileSync(join(base, 'onnx', 'model.onnx'), 'not really onnx');
  const outside = join(top, 'outside');
  mkdirSync(join(outside, 'revisions', 'x'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(outside, f), 'secret');
  mkdirSync(join(outside, 'onnx'));
  writeFileSync(join(outside, 'onnx', 'model.onnx'), 'secret');
  const client = new HubClient(hubConfigFromEnv({}, { cacheDir: join(top, 'cache'), offline: true }));
  return { top, root, base, outside, client };
}

test('a revision with ".." (or any non-ref name) is refused before a folder is looked at', async (t) => {
  const { root, base, client } = layout(t);
  for (const rev of ['x/../../../outside', '..', '../outside', 'a b', 'x$(id)', '/abs']) {
    await assert.rejects(resolveModelSource({ id: ID, path: base }, rev, { offline: true, client }), unsafe(ID, JSON.stringify(rev)));
    await assert.rejects(resolveModelSource({ id: ID }, rev, { modelsDir: root, offline: true, client }), unsafe(ID, JSON.stringify(rev)));
  }
  // Commits and step names still resolve.
  mkdirSync(join(base, 'revisions', 'step0030-tokens0.06M'), { recursive: true });
  assert.deepEqual(await resolveModelSource({ id: ID }, 'step0030-tokens0.06M', { modelsDir: root, offline: true, client }),
    { source: 'local', via: 'mirror', folder: join(base, 'revisions', 'step0030-tokens0.06M') });
});

test('hub ids and model names with ".." are refused before the mirror is looked at', async (t) => {
  const { root, client } = layout(t);
  for (const id of ['../outside', 'a/../../outside', 'org/na--me', '/abs/x', 'a/b/c']) {
    await assert.rejects(resolveModelSource({ id }, '', { modelsDir: root, offline: true, client }), unsafe(JSON.stringify(id)));
  }
  await assert.rejects(resolveModelSource({ id: 'org/absent', name: '../outside' }, '', { modelsDir: root, offline: true, client }), unsafe('../outside'));
});

test('a revisions/<rev> link out of the model folder is refused, naming the revision', async (t) => {
  const { base, root, outside, client } = layout(t);
  mkdirSync(join(base, 'revisions'));
  symlinkSync(join(outside, 'revisions', 'x'), join(base, 'revisions', 'step1'));
  await assert.rejects(resolveModelSource({ id: ID, path: base }, 'step1', { offline: true, client }), unsafe('step1', 'outside'));
  await assert.rejects(resolveModelSource({ id: ID }, 'step1', { modelsDir: root, offline: true, client }), unsafe('step1', 'outside'));
});

test('a model file that links outside the model folder is refused by name and never read', async (t) => {
  const { base, outside } = layout(t);
  const folder = join(base, 'revisions', 'step2');
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) cpSync(join(base, f), join(folder, f));
  symlinkSync(join(outside, 'config.json'), join(folder, 'config.json'));
  await assert.rejects(localFetchSelection(folder, 'fp32', `model ${ID} revision step2`), unsafe('config.json', 'outside'));
  const dest = join(base, '..', 'dest');
  await assert.rejects(copyModelFiles(folder, ['config.json'], dest), unsafe('config.json'));
  await assert.rejects(copyModelFiles(folder, ['../../../../outside/config.json'], dest), unsafe('outside/config.json'));
  // A link that stays inside the model folder is fine.
  const ok = join(base, 'revisions', 'step3');
  mkdirSync(join(ok, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) cpSync(join(base, f), join(ok, f));
  symlinkSync(join(base, 'config.json'), join(ok, 'config.json'));
  await assert.rejects(localFetchSelection(ok, 'fp32', 'step3'), unsafe('config.json'), 'the revision folder is the root of its files');
});

test('pipeline score --revision with ".." or shell syntax is a usage error', async () => {
  const { scorePipeline } = await import('../../src/cli/score.js');
  const { UsageError } = await import('../../src/cli/options.js');
  const { scoreParams } = await import('../../stages/score.js');
  for (const rev of ['x/../../outside', '..', 'step1$(id)']) {
    assert.throws(() => scorePipeline({ model: 'org/absent', task: 'lambada', revision: rev, param: [] }, '/nonexistent', scoreParams),
      (e: unknown) => e instanceof UsageError && e.message.includes(JSON.stringify(rev)));
  }
  assert.match(scorePipeline({ model: 'org/absent', task: 'lambada', revision: 'step0030-tokens0.06M', param: [] }, '/nonexistent', scoreParams), /step0030-tokens0\.06M/);
});

test('linking from the hub cache: a snapshot entry that links outside the repo cache is refused, and the outside file is neither linked nor made read-only', async (t) => {
  const { base, outside } = layout(t);
  // huggingface_hub's layout: snapshots/<commit>/<file> → ../../blobs/<sha>; one entry points out.
  const repo = join(base, 'hub-cache');
  const snap = join(repo, 'snapshots', 'c'.repeat(40));
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snap, { recursive: true });
  cpSync(join(base, 'tokenizer.json'), join(repo, 'blobs', 'aa'));
  symlinkSync(join(repo, 'blobs', 'aa'), join(snap, 'tokenizer.json'));
  symlinkSync(join(outside, 'config.json'), join(snap, 'config.json'));
  const modeBefore = statSync(join(outside, 'config.json')).mode;
  const dest = join(base, '..', 'dest-linked');
  await assert.rejects(copyModelFiles(snap, ['config.json'], dest, { link: true, root: repo }), unsafe('config.json'));
  assert.equal(statSync(join(outside, 'config.json')).mode, modeBefore, 'the outside file was not chmod-ed');
  assert.equal(existsSync(join(dest, 'config.json')), false);
  // The blob inside the repo cache is linked: the same inode, read-only.
  await copyModelFiles(snap, ['tokenizer.json'], dest, { link: true, root: repo });
  assert.equal(statSync(join(dest, 'tokenizer.json')).ino, statSync(join(repo, 'blobs', 'aa')).ino);
  assert.equal(statSync(join(repo, 'blobs', 'aa')).mode & 0o222, 0);
});
