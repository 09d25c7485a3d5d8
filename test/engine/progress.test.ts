// Progress is structured: a kind reports it with ctx.progress, it reaches the engine from the
// engine process and from a worker process alike, as stage-progress events; a log line that looks
// like progress is only a log line. The per-request time limit grows from the reported total.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from './rig.js';

const KIND = (name: string, isolation: 'inline' | 'worker'): string => `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: '${name}',
  description: 'a kind that reports progress',
  isolation: '${isolation}',
  affinity: (ctx) => ctx.instance.id,
  outputs: () => [{ name: 'out', type: 'file' }],
  async execute(ctx) {
    ctx.log('looks like progress: 7/9 requests');
    for (let i = 1; i <= 3; i++) ctx.progress({ done: i, total: 3, unit: 'items' });
    writeFileSync(join(ctx.outDir, 'out'), 'ok');
  },
};`;

test('ctx.progress reaches --json as stage-progress events, from the engine process and from a worker', { timeout: 120_000 }, () => {
  const rig = new Rig(`plugins: [./inline.mjs, ./worker.mjs]
stages:
  a: { uses: counts-inline }
  b: { uses: counts-worker }
`);
  rig.write('inline.mjs', KIND('counts-inline', 'inline'));
  rig.write('worker.mjs', KIND('counts-worker', 'worker'));
  const r = rig.cli(['run', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const events = Rig.events(r);
  for (const id of ['a', 'b']) {
    const progress = events.filter((e) => e['type'] === 'stage-progress' && e['id'] === id).map((e) => [e['done'], e['total'], e['unit']]);
    assert.deepEqual(progress, [[1, 3, 'items'], [2, 3, 'items'], [3, 3, 'items']], id);
    assert.ok(events.some((e) => e['type'] === 'stage-log' && e['id'] === id && e['line'] === 'looks like progress: 7/9 requests'), `${id}: the log line is a log line`);
  }
});

test('the per-request limit grows from the reported total, not from log text', { timeout: 120_000 }, () => {
  const rig = new Rig(`plugins: [./slow.mjs]
stages:
  s: { uses: slow }
`);
  // 2 s of base and 2 s a request: with 5 requests reported the limit is 12 s, and 4 s of work fit;
  // a log line saying "1/1 requests" does not shrink it.
  rig.write('slow.mjs', `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'slow',
  description: 'reports 5 requests, then works 4 s',
  isolation: 'inline',
  timeout: { baseMs: 2000, perItemMs: 2000 },
  outputs: () => [{ name: 'out', type: 'file' }],
  async execute(ctx) {
    ctx.progress({ done: 0, total: 5, unit: 'requests' });
    ctx.log('x: 1/1 requests');
    await new Promise((r) => setTimeout(r, 4000));
    writeFileSync(join(ctx.outDir, 'out'), 'ok');
  },
};`);
  const r = rig.cli(['run', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(Rig.ran(r), ['s']);
});
