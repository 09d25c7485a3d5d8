// Crash safety, concurrency and store integrity: kill -9 the engine at each point of a stage's
// commit, run two engines at once, corrupt an object — and check nothing is lost or half-written.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHAIN_FANOUT as CHAIN } from './chain-fixture.js';
import { Rig } from './rig.js';

function verifyClean(r: Rig): void {
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { corrupt: string[] }).corrupt, []);
}

for (const point of ['before-execute', 'after-execute', 'mid-store', 'after-store', 'after-record']) {
  test(`kill -9 at ${point} of a stage: the next run completes and nothing is partial`, () => {
    const r = new Rig(CHAIN);
    const killed = r.cli(['run', '--jobs', '1'], { PIPELINE_FAULT: `${point}:two` });
    assert.equal(killed.code, 137, `expected the engine to die: ${killed.stdout}${killed.stderr}`);
    // `one` committed before the crash; `two` has a run record only if the crash came after it.
    const st = JSON.parse(r.cli(['status', '--json']).stdout) as { id: string; state: string }[];
    assert.equal(st.find((s) => s.id === 'one')!.state, 'fresh');
    assert.equal(st.find((s) => s.id === 'two')!.state, point === 'after-record' ? 'fresh' : 'stale');
    r.resetCalls();
    const again = r.cli(['run']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const ran = r.calls().sort();
    assert.ok(!ran.includes('one'), 'one must not re-run');
    assert.equal(ran.includes('two'), point !== 'after-record');
    assert.equal(r.read('two.txt'), '1\n1\n');
    assert.equal(r.read('many/4.txt'), '1\n2\n3\n4\n');
    verifyClean(r);
    // Staging left by the killed process is cleaned.
    assert.deepEqual(readdirSync(join(r.dir, 'cache', 'tmp')).filter((n) => !n.includes('stat-cache')), []);
  });
}

test('kill -9 in the middle of a run with several stages in flight, then resume', async () => {
  const r = new Rig(`stages:
  slow:
    matrix: { n: [1, 2, 3, 4, 5, 6] }
    run: echo slow-\${n} >> calls.log && sleep 0.4 && echo \${n} > slow-\${n}.txt
    outs: ["slow-\${n}.txt"]
`);
  const { proc, done } = r.spawn(['run', '--jobs', '2']);
  let exited = false;
  void done.then(() => (exited = true));
  // Kill once a few stages have started (polling, so a slow machine does not change the test: at a
  // load average of 20 the engine took over 5 s to start its first stage).
  for (let i = 0; i < 2400 && r.calls().length < 3 && !exited; i++) await new Promise((res) => setTimeout(res, 25));
  proc.kill('SIGKILL');
  await done;
  const before = r.calls().length;
  assert.ok(before >= 2 && before < 6, `expected a partial run, got ${before} calls`);
  r.resetCalls();
  const again = r.cli(['run']);
  assert.equal(again.code, 0, again.stderr);
  // Every stage ends up complete, and completed ones were not redone.
  for (let n = 1; n <= 6; n++) assert.equal(r.read(`slow-${n}.txt`), `${n}\n`);
  assert.ok(r.calls().length <= 6 - 2 + 2, `resumed run redid too much: ${r.calls().join(',')}`);
  verifyClean(r);
});

test('Ctrl-C (SIGINT) stops running stages cleanly and the next run resumes', async () => {
  const r = new Rig(`stages:
  s:
    matrix: { n: [1, 2, 3, 4] }
    run: echo s-\${n} >> calls.log && sleep 1 && echo \${n} > s-\${n}.txt
    outs: ["s-\${n}.txt"]
`);
  const { proc, done } = r.spawn(['run', '--jobs', '2']);
  for (let i = 0; i < 200 && r.calls().length < 1; i++) await new Promise((res) => setTimeout(res, 25));
  proc.kill('SIGINT');
  const res = await done;
  assert.equal(res.code, 130, res.stdout + res.stderr);
  assert.match(res.stdout, /Interrupted/);
  const again = r.cli(['run']);
  assert.equal(again.code, 0);
  for (let n = 1; n <= 4; n++) assert.equal(r.read(`s-${n}.txt`), `${n}\n`);
  verifyClean(r);
});

test('two runs at once on one project compute every stage once, and pool limits hold', async () => {
  const r = new Rig(`pools: { cpu: 2 }
stages:
  w:
    matrix: { n: [1, 2, 3, 4, 5, 6] }
    run: "echo w-\${n} >> calls.log && echo start \${n} $(date +%s%N) >> spans.log && sleep 0.3 && echo end \${n} $(date +%s%N) >> spans.log && echo \${n} > w-\${n}.txt"
    outs: ["w-\${n}.txt"]
`);
  const a = r.spawn(['run', '--json']);
  const b = r.spawn(['run', '--json']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual(r.calls().sort(), ['w-1', 'w-2', 'w-3', 'w-4', 'w-5', 'w-6']);
  // Per engine the cpu pool of 2 is never exceeded (peak recorded in the run summary).
  for (const res of [ra, rb]) {
    const done = Rig.events(res).find((e) => e['type'] === 'run-done') as { summary: { peak: { cpu: number; stages: number } } };
    assert.ok(done.summary.peak.cpu <= 2 && done.summary.peak.stages <= 2, JSON.stringify(done.summary.peak));
  }
  // And the two engines together never ran one stage twice at the same time (the stage lock).
  const spans = r.read('spans.log').trim().split('\n').map((l) => l.split(' '));
  assert.equal(spans.filter((s) => s[0] === 'start').length, 6);
});

test('the cpu pool bounds concurrency: with --cpus 1 stages never overlap', () => {
  const r = new Rig(`stages:
  w:
    matrix: { n: [1, 2, 3] }
    run: "echo start $(date +%s%N) >> spans.log && sleep 0.2 && echo end $(date +%s%N) >> spans.log && touch w-\${n}.txt"
    outs: ["w-\${n}.txt"]
`);
  assert.equal(r.cli(['--cpus', '1', 'run']).code, 0);
  const ev = r.read('spans.log').trim().split('\n').map((l) => l.split(' ') as [string, string]);
  let live = 0;
  let peak = 0;
  for (const [what] of ev.sort((x, y) => Number(BigInt(x[1]) - BigInt(y[1])))) {
    live += what === 'start' ? 1 : -1;
    peak = Math.max(peak, live);
  }
  assert.equal(peak, 1);
});

test('verify quarantines a corrupt object; the stage that owned it re-runs', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const rec = JSON.parse(r.cli(['inspect', 'two', '--json']).stdout) as { outputs: Record<string, { digest: string }> };
  const digest = rec.outputs['two.txt']!.digest;
  const obj = join(r.dir, 'cache', 'objects', digest.slice(0, 2), digest.slice(2));
  chmodSync(obj, 0o644);
  writeFileSync(obj, 'garbage\n');
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 3);
  const report = JSON.parse(v.stdout) as { corrupt: string[]; affected: string[]; recomputed: string[] };
  assert.deepEqual(report.corrupt, [digest]);
  assert.ok(report.affected.includes('two'));
  // The many-* stages read two.txt: what they computed may come from the bad bytes, so they re-run
  // too, although two re-runs to the same digest (issue 12 item 13).
  assert.deepEqual(report.recomputed, ['many/1', 'many/2', 'many/3', 'many/4']);
  r.resetCalls();
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(r.calls().sort(), ['many-1', 'many-2', 'many-3', 'many-4', 'two']);
  verifyClean(r);
});

test('gc keeps what current stages use and removes what nothing references', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  r.write('pipeline.yaml', CHAIN.replace('echo 1 > one.txt', 'echo 2 > one.txt'));
  assert.equal(r.cli(['run']).code, 0);
  const dry = r.cli(['gc', '--dry-run', '--keep-runs', '0']);
  assert.match(dry.stdout, /would remove [1-9]\d* objects/);
  const gc = r.cli(['gc', '--keep-runs', '0']);
  assert.match(gc.stdout, /removed [1-9]\d* objects/);
  r.resetCalls();
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(r.calls(), []);
  verifyClean(r);
});
