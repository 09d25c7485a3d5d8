// The Slurm executor against a real single-node Slurm (scripts/slurm/start.sh starts one when
// `sinfo` does not answer). exec-stage is faked by fixtures/fake-exec-stage.mjs so that these
// tests exercise the sbatch/squeue/scontrol/scancel plumbing. The tests run concurrently: the
// timeout test needs Slurm's one-minute minimum and sets the pace of the whole file.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Invocation } from '../../src/engine/executor.js';
import { Store } from '../../src/engine/store/store.js';
import { createSlurmExecutor, type SlurmJobStats } from '../../src/engine/executors/slurm.js';
import { ensureSlurm, fakeExecStage, grant, invocation, jobState, queueByName, sleep, tempDir } from './helpers.js';

const overheads: SlurmJobStats[] = [];
const execCommand = [process.execPath, fakeExecStage];

function executor(label: string, extra: Partial<Parameters<typeof createSlurmExecutor>[0]> = {}) {
  return createSlurmExecutor({ logDir: join(tempDir(label), 'logs'), execCommand, pollMs: 200, ...extra });
}

function recordOf(inv: Invocation): { pid: number; env: Record<string, string> } {
  return JSON.parse(readFileSync(new Store(inv.storeDir).runPath(inv.key), 'utf8'));
}

function jobsOf(stats: Record<string, unknown>): SlurmJobStats[] {
  return stats.jobs as SlurmJobStats[];
}

describe('slurm executor', { concurrency: true }, () => {
  before(() => ensureSlurm());
  after(() => {
    // measured overhead for docs/slurm.md: submit → script start → run record committed
    const rows = overheads.filter((j) => j.state === 'COMPLETED' && j.scriptStart && j.committed);
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    if (rows.length > 0) {
      const phase = (f: (j: SlurmJobStats) => number) => `median ${med(rows.map(f))} max ${Math.max(...rows.map(f))}`;
      console.log(`slurm overhead over ${rows.length} trivial jobs (ms): submit→start ${phase((j) => j.scriptStart! - j.submitCalled)}; `
        + `start→committed ${phase((j) => Math.round(j.committed! - j.scriptStart!))}; submit→committed ${phase((j) => Math.round(j.committed! - j.submitCalled))}; `
        + `submit→observed by the executor ${phase((j) => j.observedEnd! - j.submitCalled)}`);
    }
  });

  it('runs a job to success and translates cpus and memory', async () => {
    const store = tempDir('ok');
    const ex = executor('ok');
    const lines: string[] = [];
    const inv = invocation(store, 'score/model=a', {}, { cpu: 2, memory: 300 * 1024 * 1024 });
    const outcome = await ex.execute(inv, grant, new AbortController().signal, (l) => lines.push(l));
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.ok(outcome.ok && existsSync(outcome.runRecordPath));
    const rec = recordOf(inv);
    assert.equal(rec.env.SLURM_CPUS_PER_TASK, '2');
    assert.equal(rec.env.SLURM_MEM_PER_NODE, '300');
    assert.equal(rec.env.SLURM_JOB_NAME, 'score_model_a');
    assert.ok(lines.includes('fake: committed score/model=a'), lines.join('\n'));
    const [job] = jobsOf(ex.stats());
    assert.ok(job);
    assert.equal(job.state, 'COMPLETED');
    assert.equal(job.exitCode, '0:0');
    assert.equal(jobState(job.jobId), 'COMPLETED');
    assert.ok(job.scriptStart! >= job.submitCalled && job.committed! >= job.scriptStart!, JSON.stringify(job));
    // a succeeded invocation's file is removed; the log stays
    assert.equal(existsSync(join(store, 'tmp', 'invocations', `${inv.key}.json`)), false);
    assert.ok(existsSync(job.logPath));
    overheads.push(...jobsOf(ex.stats()));
    await ex.close();
  });

  it('gives a GPU job the device ids Slurm granted', async () => {
    const store = tempDir('gpu');
    const ex = executor('gpu');
    const one = invocation(store, 'score/gpu1', {}, { gpu: 1 });
    const two = invocation(store, 'score/gpu2', {}, { gpu: 2 });
    const none = invocation(store, 'score/cpu', {});
    // device ids in the submitting environment must not leak into a job that asked for no GPU
    const saved = process.env.CUDA_VISIBLE_DEVICES;
    process.env.CUDA_VISIBLE_DEVICES = '7';
    const outcomes = await Promise.all([one, two, none].map((inv) => ex.execute(inv, grant, new AbortController().signal, () => {})))
      .finally(() => (saved === undefined ? delete process.env.CUDA_VISIBLE_DEVICES : (process.env.CUDA_VISIBLE_DEVICES = saved)));
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true], JSON.stringify(outcomes));
    assert.match(recordOf(one).env.CUDA_VISIBLE_DEVICES ?? '', /^[01]$/);
    assert.equal(recordOf(two).env.CUDA_VISIBLE_DEVICES, '0,1');
    assert.equal(recordOf(none).env.CUDA_VISIBLE_DEVICES, undefined);
    overheads.push(...jobsOf(ex.stats()));
    await ex.close();
  });

  it('reports a failing job (exit 3 → FAILED) with its job id and log tail', async () => {
    const store = tempDir('fail');
    const ex = executor('fail');
    const outcome = await ex.execute(invocation(store, 'score/fails', { exit: 3 }), grant, new AbortController().signal, () => {});
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'exit-non-zero');
    const [job] = jobsOf(ex.stats());
    assert.ok(job);
    assert.equal(outcome.jobId, job.jobId);
    assert.ok(outcome.message.includes(`Slurm job ${job.jobId}`), outcome.message);
    assert.ok(outcome.message.includes('ended FAILED'), outcome.message);
    assert.ok(outcome.message.includes('exit 3:0'), outcome.message);
    assert.ok(outcome.message.includes('fake: score/fails failing with exit 3'), outcome.message);
    assert.ok(outcome.logTail?.includes('fake: started score/fails'));
    assert.equal(jobState(job.jobId), 'FAILED');
    // a failure keeps its invocation file, so it can be rerun by hand
    assert.ok(readdirSync(join(store, 'tmp', 'invocations')).some((f) => f.endsWith('.json')));
    await ex.close();
  });

  it('reads back the failure the stage recorded (typed), not one from before the job', async () => {
    const store = tempDir('typed');
    const ex = executor('typed');
    const s = new Store(store);
    const loadFailure = { reason: 'load', message: 'cannot load model m: no config.json' };
    const typed = invocation(store, 'score/typed', { exit: 1, failure: { path: s.failurePath('score/typed'), failure: loadFailure } });
    // an earlier run's record with the same key: this job writes none, so the job's own words stand
    const old = invocation(store, 'score/old', { exit: 3 });
    await s.writeFailure('score/old', old.key, { reason: 'fetch', cause: 'network', message: 'an earlier run' });
    const [a, b] = await Promise.all([typed, old].map((inv) => ex.execute(inv, grant, new AbortController().signal, () => {})));
    assert.ok(a && !a.ok && b && !b.ok);
    assert.equal(a.reason, 'exit-non-zero'); // Slurm's view of the job is kept beside the stage's
    assert.equal(a.failure?.reason, 'load', JSON.stringify(a));
    assert.ok(a.failure?.message.includes(`Slurm job ${a.jobId}`), a.failure?.message);
    assert.equal(b.failure, undefined, JSON.stringify(b));
    await ex.close();
  });

  it('treats COMPLETED without a run record as a failure', async () => {
    const store = tempDir('norecord');
    const ex = executor('norecord');
    const outcome = await ex.execute(invocation(store, 'score/silent', { noRecord: true }), grant, new AbortController().signal, () => {});
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'stage-error');
    assert.match(outcome.message, /ended COMPLETED but wrote no run record/);
    await ex.close();
  });

  it('turns a job sbatch refuses into a failure naming the stage and sbatch\'s error', async () => {
    const ex = executor('badpart', { partition: 'no-such-partition' });
    const outcome = await ex.execute(invocation(tempDir('badpart'), 'score/nowhere'), grant, new AbortController().signal, () => {});
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'stage-error');
    assert.match(outcome.message, /could not run stage score\/nowhere as a Slurm job: sbatch failed .*invalid partition/i);
    await ex.close();
  });

  it('says why a job is pending, and runs it once it may', async () => {
    const store = tempDir('held');
    const ex = executor('held', { extraFlags: ['--hold'] }); // PENDING, Reason=JobHeldUser
    const lines: string[] = [];
    const running = ex.execute(invocation(store, 'score/held'), grant, new AbortController().signal, (l) => lines.push(l));
    while (!lines.some((l) => l.includes('is pending: JobHeldUser'))) await sleep(200);
    const [job] = jobsOf(ex.stats());
    assert.ok(job);
    assert.equal(jobState(job.jobId), 'PENDING');
    execFileSync('scontrol', ['release', job.jobId]);
    const outcome = await running;
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.equal(lines.filter((l) => l.includes('is pending: JobHeldUser')).length, 1, 'the same reason is said once');
    await ex.close();
  });

  it('cancels a running job on abort (scancel → CANCELLED)', async () => {
    const store = tempDir('cancel');
    const ex = executor('cancel');
    const ac = new AbortController();
    const started = Date.now();
    const outcome = await ex.execute(invocation(store, 'score/long', { sleepMs: 60_000 }), grant, ac.signal, (line) => {
      if (line.startsWith('fake: started')) ac.abort();
    });
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'cancelled');
    const [job] = jobsOf(ex.stats());
    assert.ok(job);
    assert.equal(outcome.jobId, job.jobId);
    assert.equal(jobState(job.jobId), 'CANCELLED');
    assert.ok(Date.now() - started < 30_000, 'cancellation took too long');
    assert.equal(ex.stats().cancelled, 1);
    await ex.close();
  });

  it('close() cancels the jobs still queued or running', async () => {
    const store = tempDir('close');
    const ex = executor('close');
    const lines: string[] = [];
    const running = ex.execute(invocation(store, 'score/forever', { sleepMs: 60_000 }), grant, new AbortController().signal, (l) => lines.push(l));
    while (!lines.some((l) => l.startsWith('fake: started'))) await sleep(100);
    await ex.close();
    const outcome = await running;
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'cancelled');
    assert.equal(jobState(outcome.jobId!), 'CANCELLED');
    // nothing can be submitted after close
    const late = await ex.execute(invocation(store, 'score/late'), grant, new AbortController().signal, () => {});
    assert.ok(!late.ok && late.reason === 'cancelled');
  });

  it('measures the per-job overhead of trivial jobs', async () => {
    const store = tempDir('overhead');
    const ex = executor('overhead');
    const invs = Array.from({ length: 8 }, (_, i) => invocation(store, `overhead-${i}`));
    const outcomes = await Promise.all(invs.map((inv) => ex.execute(inv, grant, new AbortController().signal, () => {})));
    assert.ok(outcomes.every((o) => o.ok), JSON.stringify(outcomes));
    const summary = ex.stats().overheadMs as Record<string, number | null>;
    assert.equal(summary.jobs, 8);
    for (const phase of ['submitToStart', 'startToEnd', 'submitToCommitted', 'submitToObserved']) {
      const ms = summary[phase];
      assert.ok(typeof ms === 'number' && ms >= 0 && ms < 30_000, `${phase}: ${ms}`);
    }
    overheads.push(...jobsOf(ex.stats()));
    await ex.close();
  });

  it('maps a time limit to timeout', async () => {
    const store = tempDir('timeout');
    const ex = executor('timeout', { timeLimit: '1' }); // Slurm's minimum: one minute
    const outcome = await ex.execute(invocation(store, 'score/slow', { sleepMs: 300_000 }), grant, new AbortController().signal, () => {});
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'timeout');
    assert.ok(outcome.message.includes('ended TIMEOUT'), outcome.message);
    assert.equal(jobState(outcome.jobId!), 'TIMEOUT');
    await ex.close();
  });

  it('keeps at most maxQueued jobs in the queue', async () => {
    const store = tempDir('maxq');
    const ex = executor('maxq', { maxQueued: 2 });
    const prefix = `maxq${process.pid}`;
    const invs = Array.from({ length: 6 }, (_, i) => invocation(store, `${prefix}-${i}`, { sleepMs: 1500 }));
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const queue = await queueByName(prefix);
        peak = Math.max(peak, [...queue.values()].filter((s) => s !== 'COMPLETED').length);
        await sleep(100);
      }
    })();
    const outcomes = await Promise.all(invs.map((inv) => ex.execute(inv, grant, new AbortController().signal, () => {})));
    sampling = false;
    await sampler;
    assert.deepEqual(outcomes.map((o) => o.ok), invs.map(() => true), JSON.stringify(outcomes));
    assert.equal(ex.stats().peakQueued, 2);
    assert.ok(peak >= 1 && peak <= 2, `peak in squeue was ${peak}`);
    assert.equal(ex.stats().submitted, 6);
    await ex.close();
  });

  it('gives up after the last retry and says which attempt failed', async () => {
    const store = tempDir('retry-exhausted');
    const ex = executor('retry-exhausted', { retries: 2 });
    const outcome = await ex.execute(invocation(store, 'score/broken', { exit: 4 }), grant, new AbortController().signal, () => {});
    assert.ok(!outcome.ok);
    assert.equal(outcome.reason, 'exit-non-zero');
    assert.match(outcome.message, /exit 4:0.*\(attempt 3\)/);
    assert.equal(jobsOf(ex.stats()).length, 3);
    assert.equal(ex.stats().resubmitted, 2);
    await ex.close();
  });

  it('resubmits a job that fails once when retries allow', async () => {
    const store = tempDir('retry');
    const ex = executor('retry', { retries: 1 });
    const logs: string[] = [];
    const outcome = await ex.execute(invocation(store, 'score/flaky', { failOnce: true }), grant, new AbortController().signal, (l) => logs.push(l));
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    const jobs = jobsOf(ex.stats());
    assert.deepEqual(jobs.map((j) => [j.attempt, j.state]), [[0, 'FAILED'], [1, 'COMPLETED']]);
    assert.notEqual(jobs[0]!.jobId, jobs[1]!.jobId);
    assert.equal(ex.stats().resubmitted, 1);
    assert.ok(logs.some((l) => l.includes('resubmitting 1 stage(s), attempt 2 of 2')), logs.join('\n'));

    // without retries the same flake is a failure
    const strict = executor('retry0');
    const failed = await strict.execute(invocation(tempDir('retry0'), 'score/flaky', { failOnce: true }), grant, new AbortController().signal, () => {});
    assert.ok(!failed.ok && failed.reason === 'exit-non-zero');
    assert.ok(!failed.message.includes('(attempt'), failed.message);
    assert.equal(jobsOf(strict.stats()).length, 1);
    await ex.close();
    await strict.close();
  });

  it('coalesces execute() calls of one affinity within the window into one job', async () => {
    const store = tempDir('coalesce');
    const ex = executor('coalesce', { groupWindowMs: 300 });
    const withAffinity = (id: string, affinity: string) => ({ ...invocation(store, id), affinity });
    const a = ['x', 'y', 'z'].map((t) => withAffinity(`score/${t}/model-a`, 'model-a'));
    const b = withAffinity('score/x/model-b', 'model-b');
    const plain = invocation(store, 'build-config/x'); // no affinity: never waits for a window
    const signal = new AbortController().signal;
    const outcomes = await Promise.all([...a, b, plain].map((inv) => ex.execute(inv, grant, signal, () => {})));
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, true, true], JSON.stringify(outcomes));
    const jobOf = (inv: Invocation) => recordOf(inv).env.SLURM_JOB_ID;
    assert.equal(new Set(a.map(jobOf)).size, 1, 'model-a stages share one job');
    assert.equal(new Set(a.map((inv) => recordOf(inv).pid)).size, 1, 'and one process');
    assert.notEqual(jobOf(b), jobOf(a[0]!));
    assert.notEqual(jobOf(plain), jobOf(a[0]!));
    assert.deepEqual(ex.stats().coalescedGroups, [3, 1]);
    assert.equal(ex.stats().submitted, 3);

    // an abort while the batch waits: nothing is submitted
    const ac = new AbortController();
    const waiting = ex.execute(withAffinity('score/w/model-c', 'model-c'), grant, ac.signal, () => {});
    ac.abort();
    const late = await waiting;
    assert.ok(!late.ok && late.reason === 'cancelled');
    assert.equal(ex.stats().submitted, 3);
    await ex.close();
  });

  it('runs a group of invocations in one job and one process', async () => {
    const store = tempDir('group');
    const ex = executor('group');
    const invs = ['a', 'b', 'c'].map((m) => invocation(store, `score/group-${m}`, {}, { cpu: m === 'b' ? 2 : 1 }));
    const outcomes = await ex.executeGroup(invs, grant, new AbortController().signal, () => {});
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true], JSON.stringify(outcomes));
    const records = invs.map((inv) => recordOf(inv));
    assert.equal(new Set(records.map((r) => r.pid)).size, 1, 'one process for the whole group');
    assert.equal(new Set(records.map((r) => r.env.SLURM_JOB_ID)).size, 1, 'one job for the whole group');
    assert.equal(records[0]!.env.SLURM_CPUS_PER_TASK, '2', 'the group takes the largest request');
    assert.equal(records[0]!.env.SLURM_JOB_NAME, 'score_group-a+2');

    // a failure in the middle: the first stays done, the rest fail with the job's id
    const mixed = ['x', 'y', 'z'].map((m) => invocation(store, `score/mixed-${m}`, m === 'y' ? { exit: 2 } : {}));
    const results = await ex.executeGroup(mixed, grant, new AbortController().signal, () => {});
    assert.deepEqual(results.map((o) => (o.ok ? 'ok' : o.reason)), ['ok', 'exit-non-zero', 'exit-non-zero']);
    assert.ok(!results[1]!.ok && results[1]!.message.includes('score/mixed-y failing with exit 2'));
    await ex.close();
  });
});
