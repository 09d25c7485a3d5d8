// Pure parts of judging a Slurm job and laying out its files: the outcome of a stage that wrote no
// run record (each final state, our cancellation, the stage's own recorded failure), which
// recorded failure is this job's, the overhead medians and the file names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Invocation } from '../../src/engine/executor.js';
import { failureOutcome, ownFailure, type EndedJob } from '../../src/engine/executors/slurm-judge.js';
import { invocationFile, logFile, scriptFile } from '../../src/engine/executors/slurm-layout.js';
import { median, newJobStats, summarize } from '../../src/engine/executors/slurm-stats.js';

function job(state: string, over: { aborted?: boolean; attempt?: number; exit?: string; reason?: string } = {}): EndedJob {
  const stats = { ...newJobStats(['score/x'], over.attempt ?? 0, 1000), jobId: '57', logPath: '/logs/score_x-57.log', exitCode: over.exit ?? null, state };
  return { final: { state, fields: over.reason ? { Reason: over.reason } : null }, stats, aborted: !!over.aborted };
}

describe('slurm judge', () => {
  it('maps a final state without a run record to its typed reason, naming job, state, exit and log', () => {
    const out = failureOutcome('score/x', '/s/runs/k.json', job('FAILED', { exit: '3:0', reason: 'NonZeroExitCode' }), 'fake: failing');
    assert.equal(out.reason, 'exit-non-zero');
    assert.equal(out.jobId, '57');
    assert.equal(out.message, 'Slurm job 57 for stage score/x ended FAILED, exit 3:0, reason NonZeroExitCode; log: /logs/score_x-57.log\n--- last lines of the job log:\nfake: failing');
    assert.equal(failureOutcome('score/x', '/r', job('TIMEOUT'), '').reason, 'timeout');
    assert.equal(failureOutcome('score/x', '/r', job('OUT_OF_MEMORY'), '').reason, 'out-of-memory');
    assert.equal(failureOutcome('score/x', '/r', job('NODE_FAIL'), '').reason, 'node-fail');
    assert.equal(failureOutcome('score/x', '/r', job('PREEMPTED'), '').reason, 'preempted');
    const vanished = failureOutcome('score/x', '/r', job('VANISHED'), '');
    assert.equal(vanished.reason, 'killed');
    assert.match(vanished.message, /disappeared from the queue.*\(the log is empty\)$/);
  });

  it('calls a COMPLETED job without a record a stage error, and a cancelled one cancelled', () => {
    const completed = failureOutcome('score/x', '/s/runs/k.json', job('COMPLETED', { attempt: 1 }), '');
    assert.equal(completed.reason, 'stage-error');
    assert.match(completed.message, /ended COMPLETED but wrote no run record \/s\/runs\/k\.json \(attempt 2\)/);
    const own = { reason: 'load' as const, message: 'no such model' };
    const cancelled = failureOutcome('score/x', '/r', job('FAILED', { aborted: true }), '', own);
    assert.equal(cancelled.reason, 'cancelled');
    assert.equal(cancelled.failure, undefined, 'a cancellation is ours, not the stage\'s failure');
  });

  it('carries the stage\'s own failure in the job\'s words', () => {
    const out = failureOutcome('score/x', '/r', job('FAILED', { exit: '1:0' }), 'tail', { reason: 'load', message: 'model did not load' });
    assert.equal(out.reason, 'exit-non-zero');
    assert.deepEqual(out.failure, { reason: 'load', message: out.message });
  });

  it('takes a recorded failure only when it is this key\'s and written after the job was submitted', () => {
    const stats = job('FAILED').stats; // submitted at 1000 ms
    const f = { reason: 'execute' as const, cause: 'stage-error' as const, message: 'boom' };
    assert.deepEqual(ownFailure({ key: 'k', failure: f, at: new Date(2000).toISOString() }, 'k', stats), { ...f, jobId: '57' });
    assert.equal(ownFailure({ key: 'k', failure: f, at: new Date(500).toISOString() }, 'k', stats), undefined, 'an earlier run\'s');
    assert.equal(ownFailure({ key: 'other', failure: f, at: new Date(2000).toISOString() }, 'k', stats), undefined);
    assert.equal(ownFailure(undefined, 'k', stats), undefined);
    const fetch = { reason: 'fetch' as const, message: 'gave up', cause: 'network' };
    assert.deepEqual(ownFailure({ key: 'k', failure: fetch as never, at: new Date(2000).toISOString() }, 'k', stats), fetch);
  });

  it('summarises overhead as medians over the jobs that have each timing', () => {
    assert.equal(median([]), null);
    assert.equal(median([3, null, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const a = { ...newJobStats(['a'], 0, 0), scriptStart: 500, scriptEnd: 900, committed: 950, observedEnd: 1200 };
    const b = { ...newJobStats(['b'], 0, 100), scriptStart: 800 };
    assert.deepEqual(summarize([a, b]), { jobs: 2, submitToStart: 600, startToEnd: 400, submitToCommitted: 950, submitToObserved: 1200, endToObserved: 300 });
  });

  it('lays out invocations, scripts and logs by key and job name', () => {
    const inv = (key: string): Invocation => ({ key, storeDir: '/store', instance: { id: `score/${key}` } } as unknown as Invocation);
    assert.equal(invocationFile(inv('k1')), '/store/tmp/invocations/k1.json');
    assert.equal(scriptFile([inv('k1')]), '/store/tmp/invocations/k1.sbatch');
    assert.equal(scriptFile([inv('k1'), inv('k2'), inv('k3')]), '/store/tmp/invocations/k1+2.sbatch');
    assert.equal(logFile('/logs', ['score/task=crt', 'score/b'], '81'), '/logs/score_task_crt+1-81.log');
  });
});
