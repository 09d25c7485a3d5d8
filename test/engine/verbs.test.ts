// The engine's verbs return data (engine/verbs/*): ls, inspect (and gc, verify) asserted on what
// they return, not on what the CLI prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { CHAIN } from './chain-fixture.js';
import { Rig } from './rig.js';

async function ranChain(): Promise<{ r: Rig; engine: Engine }> {
  const r = new Rig(CHAIN);
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stderr);
  return { r, engine: await Engine.open({ file: join(r.dir, 'pipeline.yaml') }) };
}

test('Engine.ls: every stage fresh, with its key, run time and outputs (digest, size, materialised path)', async () => {
  const { r, engine } = await ranChain();
  const got = await engine.ls();
  assert.deepEqual(got.stages.map((s) => [s.id, s.state]), [['one', 'fresh'], ['two', 'fresh'], ['three', 'fresh']]);
  assert.equal(got.storeRoot, join(r.dir, 'cache'));
  const two = got.stages.find((s) => s.id === 'two')!;
  assert.match(two.key!, /^[0-9a-f]{64}$/);
  assert.ok(two.ranAt && !Number.isNaN(Date.parse(two.ranAt)));
  assert.deepEqual(Object.keys(two.outputs), ['two.txt']);
  assert.equal(two.outputs['two.txt']!.size, 4); // "1\n1\n"
  assert.equal(two.outputs['two.txt']!.path, 'two.txt');
  assert.equal(got.bytes, 2 + 4 + Buffer.byteLength(r.read('three.txt')));
  // An edited pipeline: the changed stage is stale and lists no outputs.
  r.write('pipeline.yaml', CHAIN.replace('echo three >>', 'echo three-b >>'));
  const after = await (await Engine.open({ file: join(r.dir, 'pipeline.yaml') })).ls();
  const three = after.stages.find((s) => s.id === 'three')!;
  assert.equal(three.state, 'stale');
  assert.deepEqual(three.outputs, {});
  assert.equal(three.ranAt, null);
});

test('Engine.inspect: a stage id, a materialised path, a digest prefix, an orphan object and nothing', async () => {
  const { r, engine } = await ranChain();
  const byId = await engine.inspect('two', { rows: 1 });
  assert.equal(byId.found, 'run');
  if (byId.found !== 'run') return;
  assert.equal(byId.record.stageId, 'two');
  assert.deepEqual(Object.keys(byId.fingerprint.inputs), ['one']);
  assert.match(byId.outputPaths['two.txt']!, /cache\/objects\//);
  assert.deepEqual(byId.previews, [{ name: 'two.txt', table: false, rows: 1, lines: ['1'] }]);
  const byPath = await engine.inspect('two.txt', { rows: 5, cwd: r.dir });
  assert.equal(byPath.found === 'run' && byPath.id, 'two');
  const digest = byId.record.outputs['two.txt']!.digest;
  const byDigest = await engine.inspect(digest.slice(0, 10), { rows: 5 });
  assert.equal(byDigest.found === 'run' && byDigest.id, 'two');
  // three's output after three is changed: no current stage produced it, but the store has it.
  const old = (await engine.inspect('three', { rows: 5 }));
  assert.equal(old.found, 'run');
  const oldDigest = old.found === 'run' ? old.record.outputs['three.txt']!.digest : '';
  r.write('pipeline.yaml', CHAIN.replace('echo three >>', 'echo three-b >>'));
  const edited = await Engine.open({ file: join(r.dir, 'pipeline.yaml') });
  const stale = await edited.inspect('three', { rows: 5 });
  assert.equal(stale.found === 'stage' && stale.verdict.state, 'stale');
  const orphan = await edited.inspect(oldDigest.slice(0, 12), { rows: 5 });
  assert.deepEqual(orphan.found === 'object' && [orphan.digest, orphan.head], [oldDigest, r.read('three.txt')]);
  assert.deepEqual(await edited.inspect('nope', { rows: 5 }), { found: 'nothing', what: 'nope' });
});

test('Engine.gc: a dry run counts what a run would remove; the run removes exactly that; recent runs are kept', async () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const open = (): Promise<Engine> => Engine.open({ file: join(r.dir, 'pipeline.yaml') });
  const before = await (await open()).ls();
  const oldThree = before.stages.find((s) => s.id === 'three')!;
  // three now counts lines: a new key and a new output ("2" instead of "4").
  r.write('pipeline.yaml', CHAIN.replace('wc -c < two.txt', 'wc -l < two.txt'));
  assert.equal(r.cli(['run']).code, 0);
  const engine = await open();
  const oldDigest = oldThree.outputs['three.txt']!.digest;
  // Both runs are in history: with --keep-runs 3 the old record and its object stay.
  const kept = await engine.gc({ keepRuns: 3, dryRun: true });
  assert.deepEqual([kept.objects, kept.runs, kept.kept.runs], [0, 0, 4]);
  const dry = await engine.gc({ keepRuns: 0, dryRun: true });
  assert.deepEqual({ ...dry, bytes: 0 }, { dryRun: true, objects: 1, bytes: 0, runs: 1, requestCaches: 0, released: { stages: [], bytes: 0 }, kept: { objects: 3, runs: 3 } });
  assert.equal(dry.bytes, 2); // "4\n"
  assert.ok((await engine.store.objects.list()).some((o) => o.digest === oldDigest), 'a dry run removes nothing');
  const done = await engine.gc({ keepRuns: 0, dryRun: false });
  assert.deepEqual(done, { ...dry, dryRun: false });
  assert.ok(!(await engine.store.objects.list()).some((o) => o.digest === oldDigest));
  assert.equal(await engine.store.readRun(oldThree.key!), undefined);
  assert.deepEqual((await engine.store.runs.keys()).length, 3);
  // What is current is untouched: everything is still up to date.
  assert.deepEqual((await (await open()).ls()).stages.map((s) => s.state), ['fresh', 'fresh', 'fresh']);
});

test('Engine.verify: a corrupt file of a folder output is quarantined, the run that read the folder is forgotten', async () => {
  const r = new Rig(`stages:
  mk:
    run: mkdir -p d && echo a > d/a.txt && echo b > d/b.txt
    outs: [d/]
  use:
    run: cat d/a.txt d/b.txt > u.txt
    deps: [d/]
    outs: [u.txt]
`);
  assert.equal(r.cli(['run']).code, 0, 'run');
  const engine = await Engine.open({ file: join(r.dir, 'pipeline.yaml') });
  const clean = await engine.verify();
  assert.deepEqual({ ...clean, checked: 0 }, { checked: 0, corrupt: [], quarantined: {}, recomputed: [], affected: [] });
  assert.equal(clean.checked, (await engine.store.objects.list()).length);
  assert.ok(clean.checked >= 4, `${clean.checked} objects: a, b, the folder's manifest and u`);
  const a = createHash('sha256').update('a\n').digest('hex');
  const path = engine.store.objectPath(a);
  chmodSync(path, 0o644);
  writeFileSync(path, 'x\n');
  const got = await engine.verify();
  assert.deepEqual(got.corrupt, [a]);
  assert.equal(got.quarantined[a], join(r.dir, 'cache', 'quarantine', a));
  assert.equal(readFileSync(got.quarantined[a]!, 'utf8'), 'x\n');
  // The folder's manifest names the bad file: the run of `use` was computed from it.
  assert.deepEqual(got.recomputed, ['use']);
  // mk lost a file of its output: it re-runs; use waits on it (waiting stages are not listed).
  assert.deepEqual(got.affected, ['mk']);
  assert.equal((await engine.status()).get('use')?.state, 'waiting');
});
