// A Slurm job's only channel to the engine is its log: exec-stage writes a stage's progress as a
// JSON mark line, the executor reads it back as structured progress for the stage it names (no
// Slurm needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProgressMark, progressMark, PROGRESS_MARK } from '../../src/engine/executors/slurm-script.js';
import { Coalescer } from '../../src/engine/executors/slurm-coalesce.js';
import type { Invocation } from '../../src/engine/executor.js';
import type { StageProgress } from '../../src/engine/kind.js';

test('a progress mark round-trips; other lines and broken marks are not progress', () => {
  const line = progressMark('score/crt/crt1/m', { done: 8, total: 24, unit: 'requests' });
  assert.ok(line.startsWith(PROGRESS_MARK));
  assert.deepEqual(parseProgressMark(line), { stage: 'score/crt/crt1/m', progress: { done: 8, total: 24, unit: 'requests' } });
  assert.equal(parseProgressMark('crt/crt1: 8/24 requests'), undefined);
  assert.equal(parseProgressMark(`${PROGRESS_MARK}{"stage":"s","done":"8"}`), undefined);
  assert.equal(parseProgressMark(`${PROGRESS_MARK}{not json`), undefined);
});

test('in a coalesced group job, progress goes to the stage it names, log lines to every member', async () => {
  const inv = (id: string): Invocation => ({ key: id.padEnd(64, '0'), instance: { id, kind: 'score', name: 'score', vars: {}, params: {} }, affinity: 'm', storeDir: '/s' } as unknown as Invocation);
  const seen: Record<string, { logs: string[]; progress: StageProgress[] }> = { a: { logs: [], progress: [] }, b: { logs: [], progress: [] } };
  const c = new Coalescer(10_000, 2, async (invs, _grant, _signal, onLog, onProgress) => {
    onLog('loaded m');
    onProgress('b', { done: 1, total: 2, unit: 'requests' });
    onProgress('a', { done: 2, total: 2, unit: 'requests' });
    return invs.map(() => ({ ok: true, runRecordPath: '' }));
  });
  const grant = { cpus: 1, gpus: [], memory: 0 };
  const signal = new AbortController().signal;
  const outcomes = await Promise.all(['a', 'b'].map((id) => c.submit(inv(id), grant, signal, (l) => seen[id]!.logs.push(l), (p) => seen[id]!.progress.push(p))));
  assert.ok(outcomes.every((o) => o.ok));
  assert.deepEqual(seen, {
    a: { logs: ['loaded m'], progress: [{ done: 2, total: 2, unit: 'requests' }] },
    b: { logs: ['loaded m'], progress: [{ done: 1, total: 2, unit: 'requests' }] },
  });
});
