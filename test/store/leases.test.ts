// Store leases through the real CLI: gc and verify never delete what a run is storing; runs and
// status wait for gc; leases of dead owners are taken over.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from '../engine/rig.js';
import { age, forgeExclusiveLease, owner, THIS_HOST, until } from './helpers.js';

const MANY = 2000;

test(`gc in parallel with a run storing ${MANY} small files: gc refuses, the run succeeds, verify is clean`, async () => {
  const r = new Rig(`stages:
  big:
    run: "echo big >> calls.log && mkdir -p big && for i in $(seq 1 ${MANY}); do echo $i > big/f$i.txt; done && sleep 1"
    outs: [big/]
  small:
    run: echo small >> calls.log && ls big | wc -l > small.txt
    deps: [big/]
    outs: [small.txt]
`);
  const run = r.spawn(['run', '--json']);
  assert.ok(await until(() => r.calls().includes('big'), 30_000), 'the run started');
  // While the run holds the store, gc must not remove a single object: it waits, then refuses.
  const gc = await r.cliAsync(['gc', '--keep-runs', '0'], { PIPELINE_LEASE_WAIT_MS: '300' });
  assert.equal(gc.code, 1, gc.stdout + gc.stderr);
  assert.match(gc.stderr, /pipeline gc needs the store .* to itself, but it is in use by a running process: `pipeline run --json` \(pid \d+ on host /);
  assert.doesNotMatch(gc.stdout, /removed/);
  const res = await run.done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.read('small.txt').trim(), String(MANY));
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { corrupt: string[] }).corrupt, []);
  // Once the run is over gc proceeds, keeps everything the stages use, and nothing re-runs.
  const gc2 = r.cli(['gc', '--keep-runs', '0']);
  assert.equal(gc2.code, 0, gc2.stderr);
  assert.match(gc2.stdout, /kept \d+ objects referenced by 2 runs/);
  r.resetCalls();
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(r.calls(), []);
  assert.deepEqual(readdirSync(join(r.dir, 'cache', 'leases')), [], 'every lease released');
});

test('status and run wait while gc holds the store (another host, fresh heartbeat), and go on once it is stale', async () => {
  const r = new Rig(`stages:
  a:
    run: echo a >> calls.log && echo a > a.txt
    outs: [a.txt]
`);
  const lease = forgeExclusiveLease(r, owner('eeeeeeeeeeee'));
  const run = r.spawn(['run'], { PIPELINE_WAIT_NOTICE_MS: '1' });
  let said = '';
  for (const stream of [run.proc.stdout!, run.proc.stderr!]) stream.on('data', (d: Buffer) => (said += d.toString()));
  assert.ok(await until(() => /which needs it to itself; waiting/.test(said), 60_000), said);
  assert.match(said, /held by `pipeline gc` \(pid 4000000 on host node17\.other-cluster\.example, since .*\), which needs it to itself; waiting/);
  // Not a fixed wait: the run says it still waits each time it judged the lease alive again.
  assert.ok(await until(() => said.split('still waiting for').length > 2, 60_000), said);
  assert.deepEqual(r.calls(), [], 'nothing runs while gc holds the store');
  assert.ok(existsSync(lease));
  age(lease, 3_600_000); // gc's host went silent an hour ago
  const res = await run.done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.calls(), ['a']);
  assert.equal(existsSync(lease), false, 'the stale lease was removed');
});

test('a dead gc on this host does not block status; verify waits for nothing once runs are gone', () => {
  const r = new Rig(`stages:
  a:
    run: echo a > a.txt
    outs: [a.txt]
`);
  forgeExclusiveLease(r, owner('ffffffffffff', { host: THIS_HOST, pid: 4_000_000 }));
  const st = r.cli(['status']);
  assert.equal(st.code, 0, st.stderr);
  assert.doesNotMatch(st.stderr, /waiting/);
  assert.equal(r.cli(['run']).code, 0);
  const t0 = Date.now();
  assert.equal(r.cli(['verify']).code, 0);
  assert.ok(Date.now() - t0 < 8000);
  assert.ok(statSync(join(r.dir, 'cache', 'leases')).isDirectory());
});
