// A worker process that dies while idle (OOM killer, a crash between stages) must not take the run
// down when the pool later stops it: its IPC channel is already closed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from '../../src/engine/executors/worker.js';

test('stopping a worker whose process died while idle does not throw', async () => {
  const w = new Worker('model-a', { cpus: 1, gpus: [], memory: 0 }, () => {});
  const proc = (w as unknown as { proc: ChildProcess }).proc;
  const disconnected = proc.connected ? once(proc, 'disconnect') : Promise.resolve();
  const exited = once(proc, 'exit');
  proc.kill('SIGKILL');
  await Promise.all([exited, disconnected]);
  assert.equal(proc.connected, false);
  assert.doesNotThrow(() => w.stop());
});
