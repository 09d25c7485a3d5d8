// An input object is re-hashed once per process while its stat is unchanged (an aggregate reads
// hundreds the stages before it checked): damage after that first check must still be caught.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StageInput } from '../../src/engine/kind.js';
import { Store } from '../../src/engine/store/store.js';

function inputOf(store: Store, digest: string): StageInput[] {
  return [{ stageId: 'up', kind: 'run', name: 'up', vars: {}, info: {}, outputs: { 'out.txt': { digest, type: 'file', path: store.objectPath(digest) } } }];
}

test('a small input object damaged after this process checked it is still caught, and quarantined', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ltd-input-checks-'));
  try {
    const store = new Store(root);
    const digest = await store.putBytes('twelve bytes');
    await store.checkInputs(inputOf(store, digest)); // checked: remembered with its stat
    await store.checkInputs(inputOf(store, digest)); // unchanged: passes again
    const p = store.objectPath(digest);
    chmodSync(p, 0o644);
    writeFileSync(p, 'TWELVE BYTES'); // same size: only the content (and ctime) differ
    await assert.rejects(store.checkInputs(inputOf(store, digest)), /no longer matches its digest \(damaged on disk\); quarantined/);
    assert.equal(await store.hasObject(digest), false, 'the damaged object was moved to quarantine');
    // Stored again, the same digest is checked afresh (a new inode), and passes.
    assert.equal(await store.putBytes('twelve bytes'), digest);
    await store.checkInputs(inputOf(store, digest));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
