// Model workers: stages with the same affinity run in one long-lived worker process that loads
// its "model" once; a crashing worker fails one stage, not the run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from './rig.js';

// A worker kind standing in for `score`: "loading" is counted in the process cache.
const KIND = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'fake-score',
  description: 'test worker kind',
  isolation: 'worker',
  affinity: (ctx) => ctx.instance.vars.model,
  outputs: (ctx) => [{ name: 'out', type: 'file', materialize: 'out/' + ctx.instance.vars.model + '-' + ctx.instance.vars.job + '.json' }],
  async execute(ctx) {
    const key = 'model:' + ctx.instance.vars.model;
    let m = ctx.processCache.get(key);
    let loaded = 0;
    if (!m) { m = { loads: 1 }; loaded = 1; ctx.processCache.set(key, m); await new Promise((r) => setTimeout(r, 100)); }
    if (ctx.instance.vars.job === 'boom' && ctx.instance.vars.model === 'm2') process.exit(9);
    // As score does: 1 when this stage loaded the model, 0 when it reused the worker's.
    ctx.record('model_loads', loaded);
    writeFileSync(join(ctx.outDir, 'out'), JSON.stringify({ pid: process.pid, loads: m.loads }));
  },
};`;

function pipeline(tasks: string[]): string {
  return `plugins: [./fake-score.mjs]
pools: { cpu: 2 }
models:
  - id: org/m1
  - id: org/m2
  - id: org/m3
stages:
  score:
    uses: fake-score
    matrix:
      job: [${tasks.join(', ')}]
      model: $models
`;
}

test('each model is loaded once per run, in one worker, whatever the stage order', () => {
  const r = new Rig(pipeline(['t1', 't2', 't3', 't4']));
  r.write('fake-score.mjs', KIND);
  const res = r.cli(['run', '--json']);
  assert.equal(res.code, 0, res.stderr);
  const done = Rig.events(res).find((e) => e['type'] === 'run-done') as { summary: { modelLoads: Record<string, number>; ran: number } };
  assert.equal(done.summary.ran, 12);
  assert.deepEqual(done.summary.modelLoads, { m1: 1, m2: 1, m3: 1 });
  for (const m of ['m1', 'm2', 'm3']) {
    const outs = ['t1', 't2', 't3', 't4'].map((t) => JSON.parse(r.read(`out/${m}-${t}.json`)) as { pid: number; loads: number });
    assert.equal(new Set(outs.map((o) => o.pid)).size, 1, `${m} ran in more than one process`);
    assert.notEqual(outs[0]!.pid, process.pid);
  }
});

// A worker kind that loads no model (as convert-model): its worker start is not a model load.
const CONVERT = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'fake-convert', description: 'test worker kind without a model', code: [import.meta.url],
  isolation: 'worker',
  affinity: (ctx) => ctx.instance.vars.model + ':convert',
  outputs: (ctx) => [{ name: 'out', type: 'file' }],
  async execute(ctx) { writeFileSync(join(ctx.outDir, 'out'), 'converted'); },
};`;

test('model loads count the loads the stages report, not worker starts (a converting worker loads no model)', () => {
  const r = new Rig(`plugins: [./fake-score.mjs, ./fake-convert.mjs]
pools: { cpu: 2 }
models:
  - id: org/m1
stages:
  convert:
    uses: fake-convert
    matrix: { model: $models }
  score:
    uses: fake-score
    needs: [convert]
    matrix: { job: [t1, t2], model: $models }
`);
  r.write('fake-score.mjs', KIND);
  r.write('fake-convert.mjs', CONVERT);
  const res = r.cli(['run', '--json']);
  assert.equal(res.code, 0, res.stderr);
  const done = Rig.events(res).find((e) => e['type'] === 'run-done') as { summary: { modelLoads: Record<string, number>; ran: number } };
  assert.equal(done.summary.ran, 3);
  assert.deepEqual(done.summary.modelLoads, { m1: 1 });
});

test('a worker that dies fails its stage with a clear message; --keep-going finishes the others', () => {
  const r = new Rig(pipeline(['t1', 'boom']));
  r.write('fake-score.mjs', KIND);
  const res = r.cli(['run', '--keep-going']);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /✗ score\/boom\/m2: the worker process for m2 died \(exit code 9\)/);
  for (const ok of ['m1-t1', 'm2-t1', 'm3-t1', 'm1-boom', 'm3-boom']) assert.ok(r.exists(`out/${ok}.json`), ok);
});
