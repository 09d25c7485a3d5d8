// Shared pieces of the hostile-checkpoint tests: a temp folder per test and an assertion that a
// promise fails with a CheckpointError of a given reason naming a given file (and tensor).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../../../src/convert/checkpoint.js';

export function temp(t: { after(fn: () => Promise<void>): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-ckpt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Rejects with a CheckpointError of `reason` whose message names `file` and matches `re`. */
export async function refused(p: Promise<unknown>, reason: string, file: string, re?: RegExp): Promise<CheckpointError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof CheckpointError, `expected a CheckpointError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.ok(caught.message.includes(file), `message should name ${file}: ${caught.message}`);
  if (re) assert.match(caught.message, re);
  return caught;
}
