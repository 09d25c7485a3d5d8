// One behaviour suite for both executors: the same small pipelines of `run:` stages, run by the
// real CLI on this machine (local) and with `--executor slurm` (the single-node test Slurm), must
// give the same results — a chain succeeds with identical outputs and stage keys, a failing stage
// is reported with its typed failure and its downstream skipped, --keep-going runs the rest, a
// stage past its time limit and a Ctrl-C are cancelled cleanly, and a cached rerun runs nothing.
// Each test runs both executors at once and applies one set of assertions to each.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { Rig, type Result } from '../engine/rig.js';
import { ensureSlurm } from './helpers.js';

type Exec = 'local' | 'slurm';
const EXECUTORS: Exec[] = ['local', 'slurm'];
/** A suffix for job names, so that our jobs are told apart from other runs' in the shared queue. */
const TAG = `b${process.pid}`;

interface Failed {
  id: string;
  failure: { reason: string; cause?: string; message: string };
}

function cli(r: Rig, e: Exec, args: string[]): Promise<Result> {
  return r.cliAsync(['run', '--json', ...(e === 'slurm' ? ['--executor', 'slurm'] : []), ...args]);
}

/** Run the same pipeline on both executors at once (a project each). */
async function both(pipeline: string, args: string[] = []): Promise<Array<{ e: Exec; r: Rig; res: Result }>> {
  return Promise.all(EXECUTORS.map(async (e) => {
    const r = new Rig(pipeline);
    return { e, r, res: await cli(r, e, args) };
  }));
}

function events(res: Result, type: string): Array<Record<string, unknown>> {
  return Rig.events(res).filter((ev) => ev['type'] === type);
}

function summary(res: Result): { ran: number; cached: number; failed: number; skipped: number; interrupted: boolean; keepGoing: boolean } {
  return events(res, 'run-done')[0]!['summary'] as ReturnType<typeof summary>;
}

/** Stage id → { key, executor } from the store's run records. */
function records(r: Rig): Map<string, { key: string; executor: string }> {
  const out = new Map<string, { key: string; executor: string }>();
  const dir = join(r.dir, 'cache', 'runs');
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.json') || e.name.endsWith('.fingerprint.json')) continue;
    const rec = JSON.parse(readFileSync(join(e.parentPath, e.name), 'utf8')) as { stageId: string; key: string; executor: string };
    out.set(rec.stageId, { key: rec.key, executor: rec.executor });
  }
  return out;
}

/** Our jobs Slurm still has pending or running (their names start with a stage of this suite). */
function liveJobs(stage: string): string[] {
  const out = execFileSync('squeue', ['-h', '-t', 'PENDING,RUNNING,COMPLETING,CONFIGURING', '-o', '%j %T'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.startsWith(`${stage} `) || l.startsWith(`${stage}+`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const CHAIN = `stages:
  first${TAG}:
    run: echo first >> calls.log && echo one > one.txt
    outs: [one.txt]
  second${TAG}:
    run: echo second >> calls.log && cat one.txt > two.txt && echo two >> two.txt
    deps: [one.txt]
    outs: [two.txt]
  third${TAG}:
    run: echo third >> calls.log && cat two.txt > three.txt && wc -l < two.txt >> three.txt
    deps: [two.txt]
    outs: [three.txt]
`;

const FAILING = `stages:
  bad${TAG}:
    run: echo bad >> calls.log && echo broken >&2 && exit 3
    outs: [bad.txt]
  after${TAG}:
    run: echo after >> calls.log && cat bad.txt > after.txt
    deps: [bad.txt]
    outs: [after.txt]
  other${TAG}:
    run: echo other >> calls.log && echo x > other.txt
    outs: [other.txt]
`;

const hanging = (name: string): string => `stages:
  ${name}:
    run: echo $$ > hang.pid && exec sleep 120
    outs: [hang.txt]
  after${TAG}:
    run: cat hang.txt > after.txt
    deps: [hang.txt]
    outs: [after.txt]
`;
const HANGING = hanging(`hang${TAG}`);

describe('both executors behave alike', { concurrency: true }, () => {
  before(() => ensureSlurm());

  it('a chain of stages succeeds with identical outputs and keys, and a cached rerun runs nothing', async () => {
    const runs = await both(CHAIN);
    for (const { e, r, res } of runs) {
      assert.equal(res.code, 0, `${e}: ${res.stdout}${res.stderr}`);
      assert.deepEqual(Rig.ran(res), [`first${TAG}`, `second${TAG}`, `third${TAG}`], e);
      assert.deepEqual(r.calls(), ['first', 'second', 'third'], `${e}: in dependency order`);
      assert.equal(r.read('three.txt'), 'one\ntwo\n2\n');
      // `slurm:<job id>` under Slurm
      for (const [id, rec] of records(r)) assert.equal(rec.executor.split(':')[0], e, `${id} ran on ${rec.executor}`);
    }
    const [local, slurm] = runs;
    for (const f of ['one.txt', 'two.txt', 'three.txt']) assert.equal(slurm!.r.read(f), local!.r.read(f), `${f} differs between executors`);
    const keys = (r: Rig): string[] => [...records(r)].map(([id, rec]) => `${id} ${rec.key}`).sort();
    assert.deepEqual(keys(slurm!.r), keys(local!.r), 'the same stage keys');
    await Promise.all(runs.map(async ({ e, r }) => {
      r.resetCalls();
      const again = await cli(r, e, []);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(Rig.ran(again), [], `${e}: a rerun runs nothing`);
      assert.equal(summary(again).cached, 3);
      assert.deepEqual(r.calls(), []);
    }));
  });

  it('a failing stage is reported with its typed failure and its downstream skipped', async () => {
    for (const { e, r, res } of await both(FAILING)) {
      assert.equal(res.code, 1, `${e}: ${res.stdout}${res.stderr}`);
      const failed = events(res, 'stage-failed') as unknown as Failed[];
      assert.deepEqual(failed.map((f) => f.id), [`bad${TAG}`], e);
      assert.equal(failed[0]!.failure.reason, 'execute', e);
      assert.equal(failed[0]!.failure.cause === 'stage-error' || failed[0]!.failure.cause === 'exit-non-zero', true, `${e}: ${failed[0]!.failure.cause}`);
      assert.match(failed[0]!.failure.message, /command exited with code 3/, e);
      assert.match(failed[0]!.failure.message, /broken/, `${e}: the command's stderr is in the message`);
      assert.ok(events(res, 'stage-skipped').some((s) => s['id'] === `after${TAG}` && /upstream bad\w* failed/.test(String(s['because']))), `${e}: ${res.stdout}`);
      assert.ok(!r.calls().includes('after'), e);
      assert.equal(summary(res).keepGoing, false);
    }
  });

  it('--keep-going runs every stage the failure does not block', async () => {
    for (const { e, r, res } of await both(FAILING, ['--keep-going'])) {
      assert.equal(res.code, 1, `${e}: ${res.stdout}${res.stderr}`);
      assert.deepEqual(Rig.ran(res), [`other${TAG}`], e);
      assert.deepEqual((events(res, 'stage-failed') as unknown as Failed[]).map((f) => f.id), [`bad${TAG}`], e);
      assert.deepEqual(r.calls().sort(), ['bad', 'other'], e);
      const s = summary(res);
      assert.deepEqual([s.ran, s.failed, s.skipped, s.keepGoing], [1, 1, 1, true], e);
    }
  });

  it('a stage past its time limit is stopped and fails as a timeout; its downstream is skipped', async () => {
    const t0 = Date.now();
    for (const { e, r, res } of await both(HANGING, ['--keep-going', '--stage-timeout', '4s'])) {
      assert.equal(res.code, 1, `${e}: ${res.stdout}${res.stderr}`);
      const failed = events(res, 'stage-failed') as unknown as Failed[];
      assert.deepEqual(failed.map((f) => [f.id, f.failure.reason, f.failure.cause]), [[`hang${TAG}`, 'execute', 'timeout']], e);
      assert.match(failed[0]!.failure.message, /ran past its time limit of 4 s \(--stage-timeout 4s\)/, e);
      assert.ok(events(res, 'stage-skipped').some((s) => s['id'] === `after${TAG}`), e);
      if (r.exists('hang.pid')) assert.ok(!alive(Number(r.read('hang.pid'))), `${e}: the command was killed`);
      if (e === 'slurm') assert.deepEqual(liveJobs(`hang${TAG}`), [], 'the job was cancelled');
    }
    assert.ok(Date.now() - t0 < 60_000, 'nobody waited for the command');
  });

  it('Ctrl-C cancels the running stage; the next run runs it again', async () => {
    await Promise.all(EXECUTORS.map(async (e) => {
      const r = new Rig(hanging(`sig${TAG}`).replace('exec sleep 120', 'echo hang >> calls.log && exec sleep 120'));
      const { proc, done } = r.spawn(['run', '--json', ...(e === 'slurm' ? ['--executor', 'slurm'] : [])]);
      // the command has started (it wrote its pid), wherever it runs
      for (let i = 0; i < 2400 && !r.calls().includes('hang'); i++) await new Promise((res) => setTimeout(res, 25));
      assert.ok(r.calls().includes('hang'), `${e}: the stage never started`);
      proc.kill('SIGINT');
      const res = await done;
      assert.equal(res.code, 130, `${e}: ${res.stdout}${res.stderr}`);
      assert.equal(summary(res).interrupted, true);
      assert.deepEqual(Rig.ran(res), [], e);
      assert.deepEqual(events(res, 'stage-failed'), [], `${e}: an interruption is not a failure`);
      if (e === 'slurm') assert.deepEqual(liveJobs(`sig${TAG}`), [], 'the job was cancelled');
      else assert.ok(!alive(Number(r.read('hang.pid'))), 'the command was killed');
      const dry = await r.cliAsync(['run', '--dry-run', '--json']);
      assert.deepEqual(events(dry, 'stage-would-run').map((s) => s['id']).sort(), [`after${TAG}`, `sig${TAG}`], `${e}: nothing was recorded as done`);
    }));
  });
});
