// The engine's verbs return data (engine/verbs/*): ls, inspect (and gc, verify) asserted on what
// they return, not on what the CLI prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
