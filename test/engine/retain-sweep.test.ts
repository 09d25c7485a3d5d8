// A revision sweep under a retain policy, through the CLI against the fake hub: each checkpoint
// leaves the store once converted, each converted model once scored; never more than one of each
// in the store at once (told by the run's own events); a no-op rerun fetches nothing; a changed
// score param brings back exactly the fetch and convert the stale score stages need, saying why.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFakeHub, writeTinyCheckpointRepo } from '../support/fake-hub.js';
import { Rig } from './rig.js';

const REVISIONS = ['step1', 'step2', 'step3'];
// ~20 MB per checkpoint: over the store's 4 MiB line, small enough for a test.
const SIZES = { nEmbd: 96, nLayer: 1, nHead: 4 };

const pipeline = (retain: string): string => `version: 1
vars: { limit: 2 }
models:
  - id: test-org/gpt-tiny
    display: { name: gpt tiny, family: T }
    revisions: [${REVISIONS.join(', ')}]
${retain ? `    retain: ${retain}\n` : ''}tasks:
  lambada: {}
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models, revision: $checkpoints }
  convert-model:
    uses: convert-model
    matrix: { model: $models, revision: $checkpoints }
    needs: [fetch-model]
  stimuli:
    uses: demo-stimuli
    matrix: { task: $tasks }
  build-config:
    uses: build-config
    matrix: { task: $tasks, condition: $conditions, model: $models }
  score:
    uses: score
    matrix: { task: $tasks, condition: $conditions, model: $models, revision: $checkpoints }
    needs: [convert-model, stimuli, build-config]
    params: { limit: "\${limit}" }
`;

/** Files over 4 MiB in the store's objects/ (weights; the store keeps small files of released outputs). */
function largeObjects(dir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (statSync(join(d, e.name)).size > 4 * 1024 * 1024) n++;
    }
  };
  walk(dir);
  return n;
}

/** Most outputs of a kind held at once, from stage-start (+1) and stage-released (−1) events. */
function highWater(events: Record<string, unknown>[], kind: string): number {
  let held = 0;
  let peak = 0;
  for (const e of events) {
    if (typeof e['id'] !== 'string' || !e['id'].startsWith(`${kind}/`)) continue;
    if (e['type'] === 'stage-start') peak = Math.max(peak, ++held);
    if (e['type'] === 'stage-released') held--;
  }
  return peak;
}

async function withHub<T>(rig: Rig, fn: (env: Record<string, string>, requests: () => string[]) => Promise<T>): Promise<T> {
  const repo = join(rig.dir, 'fake-repo');
  await writeTinyCheckpointRepo(repo, REVISIONS, SIZES);
  const hub = await startFakeHub({ repos: [{ id: 'test-org/gpt-tiny', dir: repo }], lfsThreshold: 100_000 });
  try {
    return await fn({ HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf') }, () => hub.requests.filter((q) => q.file === 'model.safetensors' && q.method === 'GET').map((q) => q.url));
  } finally {
    await hub.close();
  }
}

test('retain { checkpoints: false, converted: after-scoring }: a bounded sweep, nothing large left, a rerun fetches only what a stale stage needs', { timeout: 600_000 }, async () => {
  const rig = new Rig(pipeline('{ checkpoints: false, converted: after-scoring }'));
  await withHub(rig, async (env, downloads) => {
    const run = await rig.cliAsync(['run', '--json'], env);
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-3000));
    const events = Rig.events(run);
    const released = events.filter((e) => e['type'] === 'stage-released').map((e) => String(e['id'])).sort();
    assert.deepEqual(released, [...REVISIONS.map((r) => `convert-model/gpt-tiny@${r}`), ...REVISIONS.map((r) => `fetch-model/gpt-tiny@${r}`)]);
    for (const e of events) if (e['type'] === 'stage-released') assert.ok(Number(e['bytes']) > 15e6, JSON.stringify(e));
    assert.equal(highWater(events, 'fetch-model'), 1, 'one checkpoint at a time');
    assert.equal(highWater(events, 'convert-model'), 1, 'one converted model at a time');
    // Nothing large is left: not in the store, not in the hub cache (the downloads were moved out of it).
    assert.equal(largeObjects(join(rig.dir, 'cache', 'objects')), 0);
    assert.equal(largeObjects(join(rig.dir, 'hf')), 0);
    assert.equal(downloads().length, 3);

    // Up to date: the released stages' keys stand; nothing runs, nothing downloads.
    const again = await rig.cliAsync(['run', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(Rig.ran(again), []);
    assert.equal(downloads().length, 3);

    // A score param changes: each score stage needs its converted model, which needs its checkpoint.
    const dry = await rig.cliAsync(['run', '--dry-run', '--set', 'limit=1'], env);
    assert.match(dry.stdout, /would run fetch-model\/gpt-tiny@step2 .*released by the model's retain policy and convert-model\/gpt-tiny@step2 needs them/);
    const rerun = await rig.cliAsync(['run', '--json', '--set', 'limit=1'], env);
    assert.equal(rerun.code, 0, rerun.stderr + rerun.stdout.slice(-3000));
    const ev = Rig.events(rerun);
    const starts = new Map(ev.filter((e) => e['type'] === 'stage-start').map((e) => [String(e['id']), e['reasons'] as { reason: string; neededBy?: string }[]]));
    for (const r of REVISIONS) {
      assert.deepEqual(starts.get(`fetch-model/gpt-tiny@${r}`), [{ reason: 'released', neededBy: `convert-model/gpt-tiny@${r}` }]);
      assert.deepEqual(starts.get(`convert-model/gpt-tiny@${r}`), [{ reason: 'released', neededBy: `score/lambada/gpt-tiny@${r}` }]);
      assert.ok(starts.has(`score/lambada/gpt-tiny@${r}`));
    }
    assert.equal(starts.size, 9, [...starts.keys()].join(', '));
    assert.equal(highWater(ev, 'fetch-model'), 1);
    assert.equal(downloads().length, 6);
    assert.equal(largeObjects(join(rig.dir, 'cache', 'objects')), 0);
  });
});

test('retain { checkpoints: false }: a changed score param reruns only the scores; pipeline gc releases what a policy added later allows', { timeout: 600_000 }, async () => {
  const rig = new Rig(pipeline(''));
  await withHub(rig, async (env, downloads) => {
    const run = await rig.cliAsync(['run', '--json'], env);
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-3000));
    assert.equal(Rig.events(run).filter((e) => e['type'] === 'stage-released').length, 0, 'no policy: everything kept');
    // Checkpoint and converted model of each revision (the hub cache shares the checkpoints' inodes).
    assert.equal(largeObjects(join(rig.dir, 'cache', 'objects')), 2 * REVISIONS.length);

    rig.write('pipeline.yaml', pipeline('{ checkpoints: false }'));
    // A dry run says what the policy would release and touches nothing.
    const dry = await rig.cliAsync(['gc', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would release 3 checkpoint\(s\) or converted model\(s\) by their retain policy/);
    assert.equal(largeObjects(join(rig.dir, 'cache', 'objects')), 2 * REVISIONS.length, 'a dry run releases nothing');
    const gc = await rig.cliAsync(['gc'], env);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /released 3 checkpoint\(s\) or converted model\(s\) by their retain policy/);
    assert.equal(largeObjects(join(rig.dir, 'cache', 'objects')), REVISIONS.length, 'the converted models stay');

    const rerun = await rig.cliAsync(['run', '--json', '--set', 'limit=1'], env);
    assert.equal(rerun.code, 0, rerun.stderr + rerun.stdout.slice(-3000));
    assert.deepEqual(Rig.ran(rerun), REVISIONS.map((r) => `score/lambada/gpt-tiny@${r}`), 'the converted models are there: no fetch, no convert');
    assert.equal(downloads().length, 3);
  });
});
