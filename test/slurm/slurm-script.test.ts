// Pure parts of the Slurm executor: sbatch flags, the batch script, output parsers, state mapping.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSbatchJobId, parseScontrolJob, parseSlurmTime, parseSqueueStates } from '../../src/engine/executors/slurm-cli.js';
import { batchScript, jobName, mergeResources, parseMarks, resourceFlags, sbatchArgs, shellQuote } from '../../src/engine/executors/slurm-script.js';
import { classifyState } from '../../src/engine/executors/slurm-states.js';
import { HUGEPAGE_MALLOC_SHELL, withHugePageMalloc } from '../../src/util/malloc-tunables.js';

describe('slurm script', () => {
  it('translates resources into sbatch flags', () => {
    assert.deepEqual(resourceFlags({}), ['--cpus-per-task=1']);
    assert.deepEqual(resourceFlags({ cpu: 4, memory: 3 * 1024 ** 3, gpu: 2 }), ['--cpus-per-task=4', '--mem=3072M', '--gres=gpu:2']);
    // bytes round up to whole MiB; gpu 0 asks for none
    assert.deepEqual(resourceFlags({ memory: 1024 ** 2 + 1, gpu: 0 }), ['--cpus-per-task=1', '--mem=2M']);
  });

  it('merges a group to the largest request of each resource', () => {
    assert.deepEqual(mergeResources([{ cpu: 1, memory: 10 }, { cpu: 3 }, { gpu: 1, memory: 5 }]), { cpu: 3, memory: 10, gpu: 1 });
  });

  it('builds the command line with options and a per-job log', () => {
    const args = sbatchArgs(
      { stageIds: ['score/task=crt,model=pythia%1b'], resources: { cpu: 2 }, projectDir: '/p', logDir: '/l', execPrefix: 'x', invocationFiles: [] },
      { partition: 'gpu', account: 'lab', timeLimit: '10:00', extraFlags: ['--qos=short'] },
    );
    assert.deepEqual(args, [
      '--job-name=score_task_crt_model_pythia_1b',
      '--output=/l/score_task_crt_model_pythia_1b-%j.log',
      '--chdir=/p', '--nodes=1', '--ntasks=1', '--cpus-per-task=2',
      '--time=10:00', '--partition=gpu', '--account=lab', '--qos=short',
    ]);
    assert.equal(jobName(['a/b', 'c', 'd']), 'a_b+2');
  });

  it('writes a script that runs exec-stage on quoted invocation files and passes its exit on', () => {
    const script = batchScript({ stageIds: ['s'], resources: {}, projectDir: "/it's here", logDir: '/l', execPrefix: 'node /r/bin/pipeline.js exec-stage', invocationFiles: ['/a b.json', '/c.json'] });
    assert.ok(script.startsWith('#!/bin/bash\n'));
    assert.ok(script.includes(`cd '/it'\\''s here' || exit 90`));
    assert.ok(script.includes(`node /r/bin/pipeline.js exec-stage '/a b.json' /c.json\nrc=$?`));
    assert.ok(script.trimEnd().endsWith('exit $rc'));
    assert.equal(shellQuote('plain/path-1.json'), 'plain/path-1.json');
    // a cpu job never inherits device ids from the submitting shell; a gpu job keeps Slurm's
    assert.ok(script.includes('\nunset CUDA_VISIBLE_DEVICES\n'));
    const gpu = batchScript({ stageIds: ['s'], resources: { gpu: 1 }, projectDir: '/p', logDir: '/l', execPrefix: 'x', invocationFiles: [] });
    assert.ok(!gpu.includes('unset CUDA_VISIBLE_DEVICES'));
  });

  it('asks glibc for huge-page malloc in the job unless the environment already says (the same rule as local workers)', () => {
    const script = batchScript({ stageIds: ['s'], resources: {}, projectDir: '/p', logDir: '/l', execPrefix: 'x', invocationFiles: [] });
    assert.ok(script.includes(`\n${HUGEPAGE_MALLOC_SHELL}\n`));
    const inJob = (tunables: string | undefined): string =>
      execFileSync('bash', ['-c', `${HUGEPAGE_MALLOC_SHELL}\nprintf %s "$GLIBC_TUNABLES"`], { encoding: 'utf8', env: { PATH: process.env['PATH'], ...(tunables === undefined ? {} : { GLIBC_TUNABLES: tunables }) } });
    for (const t of [undefined, '', 'glibc.malloc.arena_max=2', 'glibc.malloc.hugetlb=0', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2']) {
      assert.equal(inJob(t), withHugePageMalloc(t), `GLIBC_TUNABLES=${t}`);
    }
    // A hostile value from the submitting environment is data: kept verbatim, never run.
    const dir = mkdtempSync(join(tmpdir(), 'tunables-'));
    try {
      const hostile = `x$(touch ${dir}/ran)\`touch ${dir}/ran2\`;touch ${dir}/ran3 "'*`;
      assert.equal(inJob(hostile), `${hostile}:glibc.malloc.hugetlb=1`);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(withHugePageMalloc(undefined), 'glibc.malloc.hugetlb=1');
    assert.equal(withHugePageMalloc('glibc.malloc.arena_max=2'), 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(withHugePageMalloc('glibc.malloc.hugetlb=0'), 'glibc.malloc.hugetlb=0');
  });

  it('parses the timing marks out of a log', () => {
    assert.deepEqual(parseMarks('[slurm-exec] start 1000 job=1\nhello\n[slurm-exec] end 2500 rc=3\n'), { start: 1000, end: 2500, rc: 3 });
    assert.deepEqual(parseMarks('nothing'), { start: null, end: null, rc: null });
  });
});

describe('slurm output parsers', () => {
  it('reads sbatch --parsable', () => {
    assert.equal(parseSbatchJobId('42\n'), '42');
    assert.equal(parseSbatchJobId('42;cluster\n'), '42');
    assert.throws(() => parseSbatchJobId('sbatch: error: x'), /no job id/);
  });

  it('reads squeue states', () => {
    assert.deepEqual([...parseSqueueStates('12 RUNNING\n13 COMPLETING\n\ngarbage line here\n')], [['12', 'RUNNING'], ['13', 'COMPLETING']]);
  });

  it('reads scontrol show job -o', () => {
    const f = parseScontrolJob('JobId=7 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 SubmitTime=2026-11-28T08:24:33 Command=/a b c WorkDir=/w');
    assert.equal(f.JobState, 'FAILED');
    assert.equal(f.ExitCode, '3:0');
    assert.equal(f.Command, '/a b c');
    assert.equal(f.WorkDir, '/w');
    assert.equal(parseSlurmTime(f.SubmitTime), new Date(2026, 10, 28, 8, 24, 33).getTime());
    assert.equal(parseSlurmTime('Unknown'), null);
  });

  it('maps states: COMPLETING unfinished, failures to reasons', () => {
    assert.deepEqual(classifyState('COMPLETING'), { done: false });
    assert.deepEqual(classifyState('PENDING'), { done: false });
    assert.deepEqual(classifyState('COMPLETED'), { done: true, ok: true });
    const reasons = ['FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED'].map((s) => {
      const c = classifyState(s);
      return c.done && !c.ok ? c.reason : null;
    });
    assert.deepEqual(reasons, ['exit-non-zero', 'cancelled', 'timeout', 'node-fail', 'out-of-memory', 'preempted']);
  });
});
