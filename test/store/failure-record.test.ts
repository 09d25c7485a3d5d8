// The failure record keeps the stage's Failure as data, so status and the Slurm executor read back
// a reason, not words; a record written before that (a message only) still reads.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../src/engine/store/store.js';

test('a failure record round-trips its Failure; an old message-only record reads as a stage error', async () => {
  const store = new Store(mkdtempSync(join(tmpdir(), 'failure-record-')));
  await store.writeFailure('score/a', 'k1', { reason: 'fetch', cause: 'offline-missing', message: 'model x: not available offline' });
  const got = await store.readFailure('score/a');
  assert.equal(got?.key, 'k1');
  assert.deepEqual(got?.failure, { reason: 'fetch', cause: 'offline-missing', message: 'model x: not available offline' });
  assert.ok(got && !Number.isNaN(Date.parse(got.at)));

  const old = store.failurePath('score/b');
  mkdirSync(dirname(old), { recursive: true });
  writeFileSync(old, JSON.stringify({ id: 'score/b', key: 'k2', message: 'command exited with code 1', at: '2026-01-01T00:00:00.000Z' }));
  assert.deepEqual(await store.readFailure('score/b'), { key: 'k2', failure: { reason: 'execute', cause: 'stage-error', message: 'command exited with code 1' }, at: '2026-01-01T00:00:00.000Z' });
  assert.equal(await store.readFailure('score/none'), undefined);
});
