// A stage run in the engine gives its room back as its command exits: the next queued stage's
// command starts while the first one's outputs are stored and its record written. Commands still
// never overlap beyond --jobs, and a kill -9 while one stage commits and the next runs leaves a
// store the next run completes from.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from './rig.js';

const SPANS = `stages:
  w:
    matrix: { n: [1, 2, 3] }
    run: "echo w-\${n} >> calls.log && echo start $(date +%s%N) >> spans.log && sleep 0.2 && echo end $(date +%s%N) >> spans.log && echo \${n} > w-\${n}.txt"
    outs: ["w-\${n}.txt"]
`;

test('--jobs 1: the next stage starts before the last one is recorded, and commands never overlap', () => {
  const r = new Rig(SPANS);
  const res = r.cli(['run', '--json', '--jobs', '1']);
  assert.equal(res.code, 0, res.stderr);
  const ev = Rig.events(res).filter((e) => e['type'] === 'stage-start' || e['type'] === 'stage-done');
  // start A, start B, done A, …: each next start comes before the previous stage is done.
  const order = ev.map((e) => `${String(e['type']).slice(6)} ${String(e['id'])}`);
  assert.equal(order.length, 6, order.join(', '));
  assert.match(order[0]!, /^start /);
  assert.match(order[1]!, /^start /, `the second stage starts while the first is being recorded: ${order.join(', ')}`);
  const spans = r.read('spans.log').trim().split('\n').map((l) => l.split(' ') as [string, string]);
  let live = 0;
  let peak = 0;
  for (const [what] of spans.sort((x, y) => Number(BigInt(x[1]) - BigInt(y[1])))) {
    live += what === 'start' ? 1 : -1;
    peak = Math.max(peak, live);
  }
  assert.equal(peak, 1, 'one command at a time');
  const done = Rig.events(res).find((e) => e['type'] === 'run-done') as { summary: { peak: { stages: number } } };
  assert.equal(done.summary.peak.stages, 1, 'a stage being recorded does not count against --jobs');
});

test('kill -9 while one stage stores its outputs and the next one runs: the next run completes and nothing is partial', () => {
  const r = new Rig(SPANS);
  const killed = r.cli(['run', '--json', '--jobs', '1'], { PIPELINE_FAULT: 'mid-store:w/1' });
  assert.equal(killed.code, 137, `expected the engine to die: ${killed.stdout}${killed.stderr}`);
  const started = Rig.events(killed).filter((e) => e['type'] === 'stage-start').map((e) => e['id']);
  assert.ok(started.length >= 2 && started[0] === 'w/1', `w/1 first, then the next stage before the kill: ${started.join(', ')}`);
  const st = JSON.parse(r.cli(['status', '--json']).stdout) as { id: string; state: string }[];
  assert.ok(st.every((s) => s.state === 'stale'), JSON.stringify(st));
  const again = r.cli(['run']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  for (const n of [1, 2, 3]) assert.equal(r.read(`w-${n}.txt`), `${n}\n`);
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { corrupt: string[] }).corrupt, []);
  assert.deepEqual(readdirSync(join(r.dir, 'cache', 'tmp')).filter((n) => !n.includes('stat-cache')), [], 'staging of the killed run is cleaned');
});
