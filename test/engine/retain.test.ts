// The retain policy's decision, as a pure function of the graph and of which stages have settled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, releasable, retainPolicy, slotOf, type RetainGraph, type Settled } from '../../src/engine/retain.js';
import type { ModelSpec } from '../../src/engine/kind.js';

function model(retain?: Parameters<typeof retainPolicy>[0]): ModelSpec {
  const m: ModelSpec = { id: 'o/m', name: 'm', revisions: ['s1', 's2'], display: { name: 'm', family: 'm', params_b: null } };
  if (retain) m.retain = retainPolicy(retain);
  return m;
}

/** fetch/r → convert/r → score/a/r, score/b/r → aggregate */
function sweep(m: ModelSpec): RetainGraph {
  const st = (id: string, kind: string, needs: string[]): [string, { id: string; kind: string; model: ModelSpec; needs: string[] }] => [id, { id, kind, model: m, needs }];
  const byId = new Map([
    st('fetch/s1', 'fetch-model', []),
    st('convert/s1', 'convert-model', ['fetch/s1']),
    st('score/a/s1', 'score', ['convert/s1']),
    st('score/b/s1', 'score', ['convert/s1']),
    st('aggregate', 'aggregate', ['score/a/s1', 'score/b/s1']),
  ]);
  const dependents = new Map<string, string[]>();
  for (const i of byId.values()) for (const n of i.needs) dependents.set(n, [...(dependents.get(n) ?? []), i.id]);
  return { byId, dependents };
}

const states = (m: Record<string, Settled>) => (id: string): Settled | undefined => m[id];

test('the pipeline.yaml form: true keeps, false releases once read, after-scoring once scored', () => {
  assert.deepEqual(retainPolicy({}), { checkpoints: 'keep', converted: 'keep', window: 1 });
  assert.deepEqual(retainPolicy({ checkpoints: false, converted: 'after-scoring', window: 2 }), { checkpoints: 'consumed', converted: 'scored', window: 2 });
  assert.equal(slotOf({ kind: 'fetch-model', model: model({ checkpoints: false }) })?.slot, 'm:checkpoints');
  assert.equal(slotOf({ kind: 'convert-model', model: model({ checkpoints: false }) }), undefined, 'converted models are kept: no window');
  assert.equal(slotOf({ kind: 'score', model: model({ checkpoints: false }) }), undefined);
});

test('checkpoints: false releases the checkpoint once its conversion is done, not before', () => {
  const g = sweep(model({ checkpoints: false }));
  assert.equal(decide(g, 'fetch/s1', states({ 'fetch/s1': 'done' })), 'wait');
  assert.equal(decide(g, 'fetch/s1', states({ 'fetch/s1': 'done', 'convert/s1': 'done' })), 'release');
  assert.equal(decide(g, 'convert/s1', states({ 'convert/s1': 'done', 'score/a/s1': 'done', 'score/b/s1': 'done' })), 'keep');
  // The conversion failed: keep the checkpoint for the rerun, but free the window.
  assert.equal(decide(g, 'fetch/s1', states({ 'fetch/s1': 'done', 'convert/s1': 'failed' })), 'free');
});

test('converted: after-scoring waits for every score stage below it, not for the aggregate', () => {
  const g = sweep(model({ converted: 'after-scoring' }));
  assert.equal(decide(g, 'convert/s1', states({ 'score/a/s1': 'done' })), 'wait');
  assert.equal(decide(g, 'convert/s1', states({ 'score/a/s1': 'done', 'score/b/s1': 'done' })), 'release');
  assert.equal(decide(g, 'convert/s1', states({ 'score/a/s1': 'done', 'score/b/s1': 'skipped' })), 'free');
  assert.deepEqual(releasable(g, states({ 'fetch/s1': 'done', 'convert/s1': 'done', 'score/a/s1': 'done', 'score/b/s1': 'done' })), ['convert/s1']);
});

test('checkpoints: after-scoring keeps the checkpoint until the scores are in; no policy keeps everything', () => {
  const g = sweep(model({ checkpoints: 'after-scoring' }));
  assert.equal(decide(g, 'fetch/s1', states({ 'convert/s1': 'done', 'score/a/s1': 'done' })), 'wait');
  assert.equal(decide(g, 'fetch/s1', states({ 'convert/s1': 'done', 'score/a/s1': 'done', 'score/b/s1': 'done' })), 'release');
  const kept = sweep(model());
  assert.deepEqual(releasable(kept, () => 'done'), []);
});

test('pipeline.yaml: retain is read per model, and a bad value is a located error naming the field', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadSpec } = await import('../../src/engine/spec.js');
  const dir = mkdtempSync(join(tmpdir(), 'ltd-retain-'));
  const file = join(dir, 'pipeline.yaml');
  const yaml = (retain: string): string => `version: 1\nmodels:\n  - id: o/m\n    revisions: [a]\n    retain: ${retain}\nstages:\n  fetch-model: { uses: fetch-model, matrix: { model: $models, revision: $checkpoints } }\n`;
  writeFileSync(file, yaml('{ checkpoints: false, converted: after-scoring, window: 2 }'));
  assert.deepEqual(loadSpec(file).models[0]!.retain, { checkpoints: 'consumed', converted: 'scored', window: 2 });
  writeFileSync(file, yaml('{ checkpoints: sometimes, window: 0 }'));
  assert.throws(() => loadSpec(file), (e: Error) => {
    assert.match(e.message, /pipeline\.yaml:5:\d+ models\[0\]\.retain\.checkpoints must be one of .*"after-scoring", not "sometimes"/);
    assert.match(e.message, /models\[0\]\.retain\.window/);
    return true;
  });
});
