// src/util/safe-path.ts on its own: the name rules, containment after links, commit ids and
// git ref names.

import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertSafeRelativeName, isValidCommitId, isValidRefName, resolveInside } from '../../../src/util/safe-path.js';
import { temp } from './helpers.js';

test('assertSafeRelativeName accepts plain relative names and refuses the rest, naming the name', () => {
  for (const ok of ['a', 'model-00001-of-00002.safetensors', 'onnx/model.onnx_data', 'a..b', '...x']) assertSafeRelativeName(ok, 'shard');
  for (const bad of ['', '..', '../x', 'a/../../x', '/etc/passwd', 'C:\\x', 'c:x', 'a\\b', 'a\nb', 'a\u0000', 'a\u007f', 'a//b', './a', 'a/', 'x'.repeat(4097)]) {
    assert.throws(() => assertSafeRelativeName(bad, 'shard'), (e: Error) => e.message.startsWith(`shard: refusing ${JSON.stringify(bad)}`), JSON.stringify(bad));
  }
});

test('resolveInside: absolute path inside the root; links out (file or folder), through missing parts too, refused', (t) => {
  const root = temp(t);
  const dir = join(root, 'in');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  assert.equal(resolveInside(dir, 'sub/x', 'file'), join(dir, 'sub', 'x'));
  assert.equal(resolveInside(dir, 'not/yet/there', 'file'), join(dir, 'not', 'yet', 'there'));
  symlinkSync(root, join(dir, 'up'));
  assert.throws(() => resolveInside(dir, 'up/other', 'file'), /resolves to .*, outside/);
  // Out and back in again is inside.
  assert.equal(resolveInside(dir, 'up/in/sub', 'file'), join(dir, 'up', 'in', 'sub'));
  assert.throws(() => resolveInside(dir, 'up/missing/file', 'file'), /resolves to .*, outside/);
  symlinkSync(join(dir, 'sub'), join(dir, 'alias'));
  assert.equal(resolveInside(dir, 'alias/x', 'file'), join(dir, 'alias', 'x'));
  // The root itself through a link is fine.
  symlinkSync(dir, join(root, 'link-to-in'));
  assert.equal(resolveInside(join(root, 'link-to-in'), 'sub', 'file'), join(root, 'link-to-in', 'sub'));
});

test('commit ids are 40 lowercase hex; ref names follow git check-ref-format', () => {
  assert.ok(isValidCommitId('0123456789abcdef0123456789abcdef01234567'));
  for (const bad of ['0123456789ABCDEF0123456789abcdef01234567', '0123', '../../home/u', `${'a'.repeat(40)}\n`, 42]) assert.equal(isValidCommitId(bad), false, String(bad));
  for (const ok of ['main', 'step1000', 'refs/heads/step143000-tokens300B', 'v1.0']) assert.ok(isValidRefName(ok), ok);
  for (const bad of ['', 'a..b', 'x/../../y', '/main', 'main/', 'a//b', '.hidden', 'a.lock', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a@{1}', '@', 'a.', 'a\u0001']) {
    assert.equal(isValidRefName(bad), false, JSON.stringify(bad));
  }
});
