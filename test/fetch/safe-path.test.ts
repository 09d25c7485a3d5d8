// The validators every outside name passes through: relative names, containment after symlinks,
// commit ids and ref names.

import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertSafeRelativeName, isValidCommitId, isValidRefName, resolveInside, UnsafePathError } from '../../src/util/safe-path.js';
import { tempDir } from './helpers.js';

test('relative names: ordinary repo paths pass, anything that could leave its folder is refused with the name', () => {
  for (const ok of ['config.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'a..b/c', '.gitattributes']) assertSafeRelativeName(ok, 'x');
  for (const bad of ['', '..', '../x', 'onnx/model.onnx_data/../../../../x', 'a/./b', '/etc/passwd', 'a//b', 'a/', 'a\\..\\b', 'C:/x', 'a\u0000b', 'a\nb']) {
    assert.throws(() => assertSafeRelativeName(bad, 'model o/n revision main listing'), (e: unknown) => {
      assert.ok(e instanceof UnsafePathError);
      assert.ok(e.message.startsWith('model o/n revision main listing: refusing '), e.message);
      assert.ok(e.message.includes(JSON.stringify(bad)), e.message);
      return true;
    }, bad);
  }
});

test('resolveInside follows symlinks: a link out of the root is refused, a link inside is fine', (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'blobs'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  symlinkSync(join(dir, 'outside'), join(root, 'escape'));
  symlinkSync(join(root, 'blobs'), join(root, 'inner'));
  symlinkSync(join(dir, 'nowhere'), join(root, 'dangling'));
  assert.equal(resolveInside(root, 'a/b/c.json', 'w'), join(root, 'a', 'b', 'c.json'));
  assert.equal(resolveInside(root, 'inner/x', 'w'), join(root, 'inner', 'x'));
  assert.throws(() => resolveInside(root, 'escape/x', 'w'), /outside/);
  assert.throws(() => resolveInside(root, 'escape', 'w'), /outside/);
  assert.throws(() => resolveInside(root, 'dangling', 'w'), /dangling symbolic link/);
  assert.throws(() => resolveInside(root, '../root/x', 'w'), /"\.\." path segment/);
  // A root that does not exist yet is compared lexically below its existing ancestor.
  assert.equal(resolveInside(join(root, 'new'), 'y', 'w'), join(root, 'new', 'y'));
});

test('commit ids are 40 lowercase hex digits', () => {
  assert.ok(isValidCommitId('0123456789abcdef0123456789abcdef01234567'));
  for (const bad of ['../../x', '0123456789ABCDEF0123456789abcdef01234567', '0123', `${'a'.repeat(40)}/..`, 42, null]) assert.ok(!isValidCommitId(bad), String(bad));
});

test('ref names: hub branches pass; git-invalid names and shell syntax are refused', () => {
  for (const ok of ['main', 'step143000', 'step10000-tokens44B', 'step0030-tokens0.06M', 'v1.0', 'feature/x', 'refs/pr/1', 'a+b=c,d@e']) assert.ok(isValidRefName(ok), ok);
  for (const bad of ['', 'step1$(touch${IFS}x)', 'step2`id>x`', 'x/../../etc', '..', 'a..b', '-x', '/x', 'x/', 'a//b', 'x.lock', 'a/x.lock/b', 'x.', '.x', 'a/.x',
    'a@{1}', '@', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a\u0001', 'a;b', 'a|b', "a'b", 'x'.repeat(256)]) {
    assert.ok(!isValidRefName(bad), JSON.stringify(bad));
  }
});
