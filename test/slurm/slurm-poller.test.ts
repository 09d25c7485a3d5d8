// The executor's local helpers: the log follower and the maxQueued semaphore (no Slurm needed).

import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogFollower, Semaphore, tailFile } from '../../src/engine/executors/slurm-poller.js';
import { tempDir } from './helpers.js';

describe('log follower', () => {
  it('streams complete lines once each, even when reads overlap, and flushes the last partial line', async () => {
    const path = join(tempDir('follow'), 'job.log');
    const log = new LogFollower(path);
    assert.deepEqual(await log.read(), [], 'a missing file is no lines yet');
    writeFileSync(path, 'one\ntw');
    const [a, b] = await Promise.all([log.read(), log.read()]);
    assert.deepEqual([...a, ...b], ['one']);
    appendFileSync(path, 'o\nthree');
    assert.deepEqual(await log.read(), ['two']);
    assert.deepEqual(await log.flush(), ['three']);
    assert.deepEqual(await log.flush(), []);
  });

  it('tails the last lines, skipping the ones asked', async () => {
    const path = join(tempDir('tail'), 'job.log');
    writeFileSync(path, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\nmark\n');
    assert.equal(await tailFile(path, 3, (l) => l === 'mark'), 'line 47\nline 48\nline 49');
    assert.equal(await tailFile(join(tempDir('tail'), 'missing.log'), 3), '');
  });
});

describe('semaphore', () => {
  it('admits at most its limit, records the peak, and drops an aborted waiter', async () => {
    const sem = new Semaphore(2);
    const never = new AbortController().signal;
    const r1 = await sem.acquire(never);
    const r2 = await sem.acquire(never);
    const ac = new AbortController();
    const aborted = sem.acquire(ac.signal);
    let third = false;
    const waiting = sem.acquire(never).then((release) => {
      third = true;
      return release;
    });
    ac.abort();
    await assert.rejects(aborted, /aborted/);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(third, false, 'no slot while two are held');
    r1();
    r1(); // releasing twice frees one slot only
    const r3 = await waiting;
    assert.equal(sem.inUse, 2);
    assert.equal(sem.peak, 2);
    r2();
    r3();
    assert.equal(sem.inUse, 0);
    assert.throws(() => new Semaphore(0), /at least 1/);
  });
});
