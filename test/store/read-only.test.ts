// `status` on a read-only store answers, with a warning (docs/store.md), whatever caches it would
// have written — the compiled spec included; a run says plainly why it cannot run (issue 17, 11).
// The project sits on a small tmpfs remounted read-only (needs root to mount).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Rig } from '../engine/rig.js';

const mnt = mkdtempSync(join(tmpdir(), 'ltd-ro-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]).status === 0;
after(() => {
  if (mounted) spawnSync('umount', ['-l', mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

test('status on a read-only store answers with a warning and exits 0; run fails naming the store', { skip: mounted ? false : 'cannot mount a tmpfs here (not root)' }, () => {
  const rig = new Rig();
  Object.defineProperty(rig, 'dir', { value: join(mnt, 'project') });
  rig.write('pipeline.yaml', 'stages:\n  a:\n    run: "echo a > a.txt"\n    outs: [a.txt]\n  b:\n    run: "cat a.txt > b.txt"\n    deps: [a.txt]\n    outs: [b.txt]\n');
  assert.equal(rig.cli(['run', '--only', 'a']).code, 0);
  // The compiled spec, the code digests and the stat cache would all be written by this status.
  rmSync(join(rig.dir, 'cache', 'compiled'), { recursive: true, force: true });
  assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
  try {
    const st = rig.cli(['status']);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /fresh\s+a/);
    assert.match(st.stdout, /stale\s+b/);
    assert.match(st.stderr, /^warning: .*read-only/im, st.stderr);
    const r = rig.cli(['run']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /✗ b: .*EROFS.*\/cache\//, 'the failure names the file it could not write');
    assert.equal((r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('warning') && /EROFS/.test(l)).length, 1, 'a read-only store is said once');
  } finally {
    spawnSync('mount', ['-o', 'remount,rw', mnt]);
  }
});
