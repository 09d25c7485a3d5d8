// A stage has a wall-clock limit (issue 17, item 8): a stage that would never finish fails with a
// typed timeout naming its limit, everything it started is killed (its process group, a worker
// whose event loop is stuck), and --keep-going runs the rest. The stages here wait on events that
// never come; the tests wait only for the run to end.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Rig } from './rig.js';

interface Failed {
  id: string;
  failure: { reason: string; cause?: string; message: string };
}

// `hang` starts a child that ignores SIGTERM and waits on a fifo nobody writes to.
const HANG = `    run: "mkfifo never; echo $$ > hang.pid; (trap '' TERM; exec cat never) & echo $! > child.pid; wait"
    outs: [hang.txt]
`;
const AFTER = `  after:
    run: "cat hang.txt > after.txt"
    deps: [hang.txt]
    outs: [after.txt]
`;
const FINE = `  fine:
    run: "echo fine > fine.txt"
    outs: [fine.txt]
`;

/** Running (a zombie waiting for init to reap it is dead). */
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

function check(r: ReturnType<Rig['cli']>, rig: Rig, limit: RegExp, ran: string[] = []): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const failed = Rig.events(r).filter((e) => e['type'] === 'stage-failed') as unknown as Failed[];
  assert.deepEqual(failed.map((f) => f.id), ['hang'], r.stdout);
  assert.equal(failed[0]!.failure.reason, 'execute');
  assert.equal(failed[0]!.failure.cause, 'timeout');
  assert.match(failed[0]!.failure.message, limit);
  assert.deepEqual(Rig.ran(r), ran, 'the rest goes on with --keep-going');
  assert.ok(Rig.events(r).some((e) => e['type'] === 'stage-skipped' && e['id'] === 'after'), 'the downstream stage is not run');
  for (const f of ['hang.pid', 'child.pid']) {
    const pid = Number(rig.read(f));
    assert.ok(pid > 0 && !alive(pid), `${f} (${pid}) was killed`);
  }
}

// Limits of several seconds: a stage's time counts from its start, the spawner's or a worker's own
// start included, which takes a while on a loaded machine. Where a limit applies to every stage
// (--stage-timeout, timeouts: run), the pipeline holds only the hanging stage and its dependent.
test('--stage-timeout: a run stage that never finishes fails naming the limit; its processes are killed', { timeout: 120_000 }, () => {
  const rig = new Rig(`stages:\n  hang:\n${HANG}${AFTER}`);
  const r = rig.cli(['run', '--json', '--keep-going', '--stage-timeout', '8s']);
  check(r, rig, /stage hang ran past its time limit of 8 s \(--stage-timeout 8s\)/);
});

test('timeout: on a stage, and timeouts: per kind, in pipeline.yaml', { timeout: 180_000 }, () => {
  const own = new Rig(`stages:\n  hang:\n    timeout: 8s\n${HANG}${AFTER}${FINE}`);
  check(own.cli(['run', '--json', '--keep-going']), own, /ran past its time limit of 8 s \(timeout: 8s of stage hang\)/, ['fine']);
  const kind = new Rig(`timeouts: { run: 8500ms }\nstages:\n  hang:\n${HANG}${AFTER}`);
  check(kind.cli(['run', '--json', '--keep-going']), kind, /ran past its time limit of 8\.5 s \(timeouts: run: 8500ms\)/);
  // The command line beats the file: a colleague's pipeline cannot lift the user's limit.
  const lifted = new Rig(`stages:\n  hang:\n    timeout: 100h\n${HANG}${AFTER}`);
  check(lifted.cli(['run', '--json', '--keep-going', '--stage-timeout', '8s']), lifted, /time limit of 8 s \(--stage-timeout 8s\)/);
});

test('a bad duration is a usage error (exit 2) naming where it came from', () => {
  const rig = new Rig(`stages:\n  hang:\n    timeout: soon\n${HANG}`);
  const r = rig.cli(['run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^pipeline\.yaml:3:14 stages\.hang\.timeout: cannot read the duration "soon"/m, r.stderr);
  const cli = new Rig(`stages:\n  fine:\n    run: "true"\n    outs: [x]\n`);
  const c = cli.cli(['run', '--stage-timeout', '0']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--stage-timeout: a duration must be more than 0/);
});

// A worker kind whose event loop never returns (a catastrophically backtracking tokenizer regex
// looks like this): the worker process is killed. With one cpu, two such stages and a good one of
// another kind, at least one stage starts after a stuck worker was killed: its grant came back.
const KIND = (name: string, stuck: boolean): string => `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: '${name}',
  description: 'a worker kind',
  code: [import.meta.url],
  isolation: 'worker',
  affinity: (ctx) => ctx.instance.id,
  outputs: () => [{ name: 'out', type: 'file' }],
  async execute(ctx) {
    writeFileSync(join(ctx.spec.projectDir, ctx.instance.id.replace(/\\//g, '-') + '.pid'), String(process.pid));
    ${stuck ? 'for (;;) { /* never yields */ }' : "writeFileSync(join(ctx.outDir, 'out'), 'ok');"}
  },
};`;

test('a worker stuck in synchronous code is killed at its limit; the pool is given back', { timeout: 180_000 }, () => {
  const rig = new Rig(`plugins: [./stuck.mjs, ./good.mjs]
pools: { cpu: 1 }
timeouts: { stuck-score: 8s }
stages:
  s:
    uses: stuck-score
    matrix: { n: [1, 2] }
  g:
    uses: good-score
`);
  rig.write('stuck.mjs', KIND('stuck-score', true));
  rig.write('good.mjs', KIND('good-score', false));
  const r = rig.cli(['run', '--json', '--keep-going']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const failed = Rig.events(r).filter((e) => e['type'] === 'stage-failed') as unknown as Failed[];
  assert.deepEqual(failed.map((f) => [f.id, f.failure.cause]).sort(), [['s/1', 'timeout'], ['s/2', 'timeout']]);
  assert.match(failed[0]!.failure.message, /time limit of 8 s \(timeouts: stuck-score: 8s\)/);
  assert.deepEqual(Rig.ran(r), ['g']);
  for (const n of [1, 2]) if (rig.exists(`s-${n}.pid`)) assert.ok(!alive(Number(rig.read(`s-${n}.pid`))), `the stuck worker of s/${n} was killed`);
  assert.ok(rig.exists('s-1.pid') || rig.exists('s-2.pid'), 'a stuck stage got as far as its execute');
});
