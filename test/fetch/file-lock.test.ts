// The download lock uses the store's lock files and liveness check: holders never overlap, and a
// lock left by a dead process (or an old-style lock folder) is taken over.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withFileLock } from '../../src/fetch/file-lock.js';
import { STALE_MS } from '../../src/util/liveness.js';
import { age } from '../store/helpers.js';

test('two holders of one download lock never overlap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-fl-'));
  const lock = join(dir, 'f.bin.lock');
  let inside = 0;
  let peak = 0;
  const work = (): Promise<void> =>
    withFileLock(lock, async () => {
      inside++;
      peak = Math.max(peak, inside);
      await new Promise((r) => setTimeout(r, 60));
      inside--;
    });
  await Promise.all([work(), work(), work()]);
  assert.equal(peak, 1);
  assert.equal(existsSync(lock), false);
});

test('a lock of a dead process and an old-style lock folder are taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-fl-'));
  const lock = join(dir, 'f.bin.lock');
  writeFileSync(lock, JSON.stringify({ token: 'dddddddddddd', host: 'elsewhere.example', pid: 1, argv: '', since: '' }));
  age(lock, STALE_MS + 1000);
  assert.equal(await withFileLock(lock, async () => 'ran'), 'ran');
  mkdirSync(lock);
  writeFileSync(join(lock, 'owner.json'), '{"host":"h","pid":1}');
  age(lock, STALE_MS + 1000);
  assert.equal(await withFileLock(lock, async () => 'ran again'), 'ran again');
  assert.equal(existsSync(lock), false);
});
