// A revision sweep over a PyTorch-layout repo on the fake hub, through the CLI: fetch (only the
// needed files, each once; flax/tf/gguf/ONNX decoys never requested) → convert-model (ONNX with the
// scoring graph) → score → aggregate; then the same offline: nothing re-runs, nothing downloads.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scoreStagesYaml } from '../support/score-stages.js';
import { parse } from 'csv-parse/sync';
import { CHECKPOINT_DECOYS, startFakeHub, writePytorchRepo } from '../support/fake-hub.js';
import { REPO, Rig } from '../engine/rig.js';

const SHARED = join(REPO, '..', 'shared');
const PYTHIA = join(SHARED, 'models', 'hf-tiny', 'pythia-tiny');
const STIMULI = join(SHARED, 'data', 'stimuli');
const REVISIONS = ['step1000-tokens4B', 'step2000-tokens8B'];
const NEEDED = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'model.safetensors'];

export const SWEEP_PIPELINE = `version: 1
vars: { limit: 3 }
models:
  - id: test-org/pythia-tiny
    display: { name: Pythia tiny, family: Pythia, params_b: 0.0002 }
    revisions: { glob: "step*" }
tasks:
  lambada: {}
${scoreStagesYaml({ convert: true, conditions: true, revisions: { model: '$revisions', score: '[""]' }, params: '{ limit: "${limit}" }' })}  score-sweep:
    uses: score
    id: score/\${task}/\${model}@\${revision}
    matrix: { task: [lambada], model: $models, revision: $checkpoints }
    needs: [convert-model, fetch-stimuli, build-config]
    params: { limit: "\${limit}" }
  aggregate:
    uses: aggregate
    id: aggregate/\${domain}
    matrix:
      include:
        - { domain: lambada, task: [lambada], sweep: true }
    needs: [score, score-sweep]
    params: { trainingTime: "\${sweep}" }
`;

test('revision sweep from a PyTorch hub repo: fetch → convert → score → aggregate, then offline with nothing re-run or re-downloaded', { timeout: 600_000 }, async () => {
  const rig = new Rig(SWEEP_PIPELINE);
  const repoDir = join(rig.dir, 'fake-repo');
  await writePytorchRepo(repoDir, PYTHIA, REVISIONS, { decoys: true });
  const hub = await startFakeHub({ repos: [{ id: 'test-org/pythia-tiny', dir: repoDir }], lfsThreshold: 100_000 });
  const env = { HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf'), PIPELINE_STIMULI_DIR: STIMULI };
  try {
    const dag = await rig.cliAsync(['dag'], env);
    assert.equal(dag.code, 0, dag.stderr);
    const ids = dag.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    for (const rev of ['', ...REVISIONS.map((r) => `@${r}`)]) assert.ok(ids.includes(`convert-model/pythia-tiny${rev}`), `dag lacks convert-model/pythia-tiny${rev}:\n${dag.stdout}`);

    const run = await rig.cliAsync(['run', '--json'], env);
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-3000));
    const ran = Rig.ran(run);
    assert.equal(ran.filter((id) => id.startsWith('convert-model/')).length, 3, ran.join(', '));
    assert.equal(ran.filter((id) => id.startsWith('score/')).length, 3, ran.join(', '));
    assert.ok(ran.includes('aggregate/lambada'), ran.join(', '));

    // Every needed file of every revision was requested exactly once; no decoy ever.
    const files = hub.requests.filter((q) => q.file !== undefined && q.method === 'GET');
    const perRev = new Map<string, string[]>();
    for (const q of files) {
      const rev = decodeURIComponent(q.url.split('/resolve/')[1]!.split('/')[0]!);
      perRev.set(rev, [...(perRev.get(rev) ?? []), q.file!]);
    }
    assert.equal(perRev.size, 3, [...perRev.keys()].join(', '));
    for (const [rev, got] of perRev) assert.deepEqual(got.sort(), [...NEEDED].sort(), rev);
    for (const decoy of Object.keys(CHECKPOINT_DECOYS)) assert.ok(!files.some((q) => q.file === decoy), decoy);

    // The revisions' weights differ, so do their scores.
    const rows = (rel: string): Record<string, string>[] => parse(rig.read(rel), { columns: true }) as Record<string, string>[];
    const main = rows('output/lambada/pythia-tiny.csv');
    const step1 = rows(`output/lambada/pythia-tiny_${REVISIONS[0]}.csv`);
    assert.equal(main.length, 3);
    assert.equal(step1.length, 3);
    assert.equal(step1[0]!['revision'], REVISIONS[0]);
    const scores = (r: Record<string, string>[]): string => JSON.stringify(r.map(({ model, revision, ...rest }) => rest));
    assert.notEqual(scores(main), scores(step1));
    assert.ok(existsSync(join(rig.dir, 'processed_data')), 'aggregate wrote processed_data/');

    // inspect shows the conversion: architecture, dtype, source files and sizes.
    const ins = await rig.cliAsync(['inspect', `convert-model/pythia-tiny@${REVISIONS[1]}`], env);
    assert.equal(ins.code, 0, ins.stderr);
    assert.match(ins.stdout, /architecture\s+gpt_neox/);
    assert.match(ins.stdout, /dtype\s+fp32/);
    assert.match(ins.stdout, /model\.safetensors\s+\d[\d.]* (KiB|MiB)/);
    assert.match(ins.stdout, /onnx\/score\.onnx/);
    const rec = JSON.parse((await rig.cliAsync(['inspect', `convert-model/pythia-tiny@${REVISIONS[1]}`, '--json'], env)).stdout) as { info: { convert: Record<string, unknown> } };
    assert.equal(rec.info.convert['architecture'], 'gpt_neox');
    assert.equal(rec.info.convert['source_commit'], hub.commit('test-org/pythia-tiny', REVISIONS[1]!));
  } finally {
    await hub.close();
  }
  const before = rig.read('output/lambada/pythia-tiny.csv');
  // The hub is gone: offline, the remembered selection and commits plan the same keys; all fresh.
  const offline = await rig.cliAsync(['--offline', 'run', '--json'], { HF_HOME: join(rig.dir, 'hf'), HF_ENDPOINT: 'http://127.0.0.1:9', PIPELINE_STIMULI_DIR: STIMULI });
  assert.equal(offline.code, 0, offline.stderr + offline.stdout.slice(-2000));
  assert.deepEqual(Rig.ran(offline), []);
  assert.equal(rig.read('output/lambada/pythia-tiny.csv'), before);
  assert.ok(readFileSync(join(rig.dir, 'output/lambada', `pythia-tiny_${REVISIONS[1]}.csv`), 'utf8').includes(REVISIONS[1]!));
});

test('pipeline score --model <checkpoint folder | hub id>: converts on the way, once', { timeout: 300_000 }, async () => {
  const rig = new Rig();
  // A torch.save .bin folder in the hub's layout (llama-tiny), scored straight from the folder.
  const args = ['--stimuli-dir', STIMULI, 'score', '--model', join(SHARED, 'models', 'hf-tiny', 'llama-tiny'), '--task', 'blimp', '--limit', '2', '--json'];
  const first = await rig.cliAsync(args);
  assert.equal(first.code, 0, first.stderr + first.stdout.slice(-2000));
  const out = JSON.parse(first.stdout.trim().split('\n').pop()!) as { csv: string; cached: boolean; pipeline: string };
  assert.equal(out.cached, false);
  assert.equal((parse(readFileSync(out.csv, 'utf8'), { columns: true }) as unknown[]).length, 2);
  const ins = await rig.cliAsync(['-f', out.pipeline, '--store', '.pipeline-score/cache', '--stimuli-dir', STIMULI, 'inspect', 'convert-model/llama-tiny']);
  assert.match(ins.stdout, /architecture\s+llama/);
  assert.match(ins.stdout, /pytorch_model\.bin/);
  const again = JSON.parse((await rig.cliAsync(args)).stdout.trim().split('\n').pop()!) as { cached: boolean };
  assert.equal(again.cached, true);

  // A hub id of a PyTorch repo: fetched (only what conversion needs), converted, scored.
  const repoDir = join(rig.dir, 'fake-repo');
  await writePytorchRepo(repoDir, PYTHIA, [], { decoys: true });
  const hub = await startFakeHub({ repos: [{ id: 'test-org/pythia-tiny', dir: repoDir }] });
  try {
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf') };
    const r = await rig.cliAsync(['--stimuli-dir', STIMULI, 'score', '--model', 'test-org/pythia-tiny', '--task', 'dgl', '--limit', '2', '--json'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    const got = hub.requests.filter((q) => q.file !== undefined).map((q) => q.file!).sort();
    assert.deepEqual(got, [...NEEDED].sort());
  } finally {
    await hub.close();
  }
});
