// The paper's tasks through the engine on a model we did not build (../shared/models/tiny-gpt2,
// exported by torch) and one of its revisions, fetched from a local mirror and from a fake hub;
// the one-off `pipeline score` command; the full blimp and dgl sets once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { startFakeHub } from '../support/fake-hub.js';
import { scoreStagesYaml } from '../support/score-stages.js';
import { REPO, Rig } from '../engine/rig.js';

const SHARED = join(REPO, '..', 'shared');
const MODELS = join(SHARED, 'models');
const STIMULI = join(SHARED, 'data', 'stimuli');

const PIPELINE = (limit: number, tasks: string): string => `version: 1
vars: { limit: ${limit} }
models:
  - id: test-org/tiny-gpt2
    display: { name: Tiny GPT-2 3M, family: Tiny }
    revisions: [step0030-tokens0.06M]
tasks:
${tasks}
${scoreStagesYaml({ conditions: true, revisions: { model: '$revisions', score: '$revisions' }, params: '{ limit: "${limit}" }' })}`;

const ALL_TASKS = '  lambada: {}\n  digit_mat: {}\n  crt: {}\n  blimp: {}\n  dgl: {}\n';

function header(path: string): string {
  return readFileSync(path, 'utf8').split(/\r?\n/)[0]!;
}

test('all tasks on tiny-gpt2 and a revision from the local mirror: paper headers, limit, determinism', { timeout: 600_000 }, () => {
  const rig = new Rig(PIPELINE(3, ALL_TASKS));
  const env = { PIPELINE_MODELS_DIR: MODELS, PIPELINE_STIMULI_DIR: STIMULI };
  const r = rig.cli(['run', '--json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const outs = [
    ['lambada', 'lambada'], ['digit_mat', 'digit_mat'], ['crt/crt1', 'crt/crt1'], ['crt/crt2', 'crt/crt2'], ['crt/crt3', 'crt/crt3'], ['blimp', 'blimp'], ['dgl', 'dgl'],
  ];
  for (const [mine, paper] of outs) {
    for (const suffix of ['', '_step0030-tokens0.06M']) {
      const f = join(rig.dir, 'output', mine!, `tiny-gpt2${suffix}.csv`);
      const lines = readFileSync(f, 'utf8').trim().split('\n');
      const expected = header(join(SHARED, 'data', 'paper-outputs', paper!, 'OLMo-7B.csv'));
      // lambada adds kl_divergence_nats just before model,revision (README); otherwise the paper's header.
      assert.equal(lines[0], mine === 'lambada' ? expected.replace(',model,revision', ',kl_divergence_nats,model,revision') : expected, f);
      assert.ok(lines.length >= 4, `${f}: ${lines.length} lines`);
      assert.ok(lines[lines.length - 1]!.endsWith(suffix ? ',step0030-tokens0.06M' : ','), f);
    }
  }
  // The revision's weights differ: its scores differ from the final weights'.
  assert.notEqual(rig.read('output/blimp/tiny-gpt2.csv'), rig.read('output/blimp/tiny-gpt2_step0030-tokens0.06M.csv').replace(/step0030-tokens0\.06M/g, ''));
  // Determinism: forcing the scores again gives byte-identical CSVs (same digests).
  const before = rig.read('output/crt/crt1/tiny-gpt2.csv');
  const again = rig.cli(['run', '--force', '--only', 'score'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(rig.read('output/crt/crt1/tiny-gpt2.csv'), before);
  // --force recomputes: nothing is answered from the per-request cache.
  const forced = JSON.parse(rig.cli(['inspect', 'score/crt/crt1/tiny-gpt2', '--json'], env).stdout) as { info: { request_cache?: { hits: number; misses: number } } };
  assert.equal(forced.info.request_cache?.hits, 0);
  assert.ok((forced.info.request_cache?.misses ?? 0) > 0);
  // The one-off command reuses the pipeline's cache for the same stage? (a different pipeline: its own key)
  const ins = JSON.parse(rig.cli(['inspect', 'score/digit_mat/tiny-gpt2', '--json'], env).stdout) as { info: Record<string, unknown> };
  assert.ok(typeof ins.info['counters'] === 'object');
});

test('the full blimp and dgl sets once on tiny-gpt2', { timeout: 900_000 }, () => {
  const rig = new Rig(PIPELINE(0, '  blimp: {}\n  dgl: {}\n').replace('    revisions: [step0030-tokens0.06M]\n', ''));
  const r = rig.cli(['run'], { PIPELINE_MODELS_DIR: MODELS, PIPELINE_STIMULI_DIR: STIMULI });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const blimp = rig.read('output/blimp/tiny-gpt2.csv').trim().split('\n');
  const dgl = rig.read('output/dgl/tiny-gpt2.csv').trim().split('\n');
  assert.equal(blimp.length, 651);
  assert.equal(dgl.length, 81);
  // Near chance, as the model's README says; the check is the semantics, not the science.
  const acc = blimp.slice(1).filter((l) => /,(True|False),/.test(l)).length;
  assert.equal(acc, 650);
});

test('pipeline score: one model and task from a folder, a cache hit the second time, --json', { timeout: 300_000 }, () => {
  const rig = new Rig();
  const args = ['--stimuli-dir', STIMULI, 'score', '--model', join(MODELS, 'tiny-gpt2'), '--task', 'crt', '--condition', 'crt2', '--limit', '4', '--json'];
  const first = rig.cli(args);
  assert.equal(first.code, 0, first.stderr);
  const out = JSON.parse(first.stdout) as { stage: string; key: string; csv: string; requests: string; cached: boolean };
  assert.equal(out.stage, 'score/crt/crt2/tiny-gpt2');
  assert.equal(out.cached, false);
  assert.equal((parse(readFileSync(out.csv, 'utf8'), { columns: true }) as unknown[]).length, 4);
  const req = readFileSync(out.requests, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(req.length >= 4 * 3, `${req.length} requests`);
  const second = JSON.parse(rig.cli(args).stdout) as { key: string; cached: boolean };
  assert.equal(second.cached, true);
  assert.equal(second.key, out.key);
  // A revision of the same folder.
  const rev = rig.cli(['--stimuli-dir', STIMULI, 'score', '--model', join(MODELS, 'tiny-gpt2'), '--revision', 'step0120-tokens0.25M', '--task', 'blimp', '--limit', '2', '--json']);
  assert.equal(rev.code, 0, rev.stderr);
  assert.match(readFileSync((JSON.parse(rev.stdout) as { csv: string }).csv, 'utf8'), /,step0120-tokens0\.25M\n/);
});

test('fetch-model from a hub (a fake one on 127.0.0.1): revision resolved to a commit; gated model message', { timeout: 300_000 }, async () => {
  const hub = await startFakeHub({});
  try {
    const rig = new Rig();
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf') };
    const args = ['--stimuli-dir', STIMULI, 'score', '--model', 'test-org/tiny-gpt2', '--revision', 'step0120-tokens0.25M', '--task', 'dgl', '--limit', '2', '--json'];
    const r = await rig.cliAsync(args, env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as { csv: string; stage: string };
    assert.equal(out.stage, 'score/dgl/tiny-gpt2@step0120-tokens0.25M');
    // The second call is a cache hit: it resolves the revision again (one API call) and downloads nothing.
    const downloads = hub.requests.filter((q) => q.url.includes('/resolve/')).length;
    const again = await rig.cliAsync(args, env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { cached: boolean }).cached, true);
    assert.equal(hub.requests.filter((q) => q.url.includes('/resolve/')).length, downloads);
    assert.ok(hub.requests.some((q) => q.url.includes('/revision/step0120-tokens0.25M')));
    assert.ok(hub.requests.some((q) => q.url.includes('/resolve/') && q.url.includes('model.onnx')));
  } finally {
    await hub.close();
  }
  const gated = await startFakeHub({ token: 'secret', authStatus: 401 });
  try {
    const rig = new Rig();
    const r = await rig.cliAsync(['--stimuli-dir', STIMULI, 'score', '--model', 'test-org/tiny-gpt2', '--task', 'dgl', '--limit', '1'], { HF_ENDPOINT: gated.url, HF_HOME: join(rig.dir, 'hf'), HF_TOKEN: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr + r.stdout, /HF_TOKEN/);
  } finally {
    await gated.close();
  }
});

test('a revision sweep selected from the hub refs by glob: expanded at plan time, remembered offline', { timeout: 120_000 }, async () => {
  const hub = await startFakeHub({});
  const rig = new Rig(`version: 1
models:
  - id: test-org/tiny-gpt2
    revisions: { glob: "step0*", every: 2 }
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models, revision: $revisions }
`);
  try {
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf') };
    const dag = await rig.cliAsync(['dag'], env);
    assert.equal(dag.code, 0, dag.stderr);
    // step0030, step0120, step0300 sorted by step; every 2nd from the first: 0030 and 0300.
    assert.deepEqual(dag.stdout.trim().split('\n').map((l) => l.split(' ')[0]), [
      'fetch-model/tiny-gpt2', 'fetch-model/tiny-gpt2@step0030-tokens0.06M', 'fetch-model/tiny-gpt2@step0300-tokens0.61M',
    ]);
    const run = await rig.cliAsync(['run', '--json'], env);
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-1500));
    assert.equal(Rig.ran(run).length, 3);
  } finally {
    await hub.close();
  }
  // The hub is gone: offline, the remembered selection and the cached downloads plan the same stages.
  // (Another endpoint on purpose: the commit, not where it was served from, is in the key.)
  const offline = await rig.cliAsync(['--offline', 'run'], { HF_HOME: join(rig.dir, 'hf'), HF_ENDPOINT: 'http://127.0.0.1:9' });
  assert.equal(offline.code, 0, offline.stderr + offline.stdout);
  assert.match(offline.stdout, /Nothing to do: all 3 stages are up to date/);
  // Without --offline and without network (a hub name that does not resolve): the cache is used
  // as --offline would, and the run says so once.
  const unreachable = await rig.cliAsync(['run'], { HF_HOME: join(rig.dir, 'hf'), HF_ENDPOINT: 'http://hub.invalid' });
  assert.equal(unreachable.code, 0, unreachable.stderr + unreachable.stdout);
  assert.match(unreachable.stdout, /Nothing to do: all 3 stages are up to date/);
  const notes = unreachable.stderr.match(/note: cannot reach http:\/\/hub\.invalid \((ENOTFOUND|EAI_AGAIN)\); using the local hub cache, as --offline would/g) ?? [];
  assert.equal(notes.length, 1, unreachable.stderr);
});

test('a revision glob that matches no ref: the glob and its line are blamed, with the refs the hub has', { timeout: 120_000 }, async () => {
  const hub = await startFakeHub({});
  const rig = new Rig(`version: 1
models:
  - id: test-org/tiny-gpt2
    revisions: { glob: "stpe0*" }
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models, revision: $revisions }
`);
  try {
    const r = await rig.cliAsync(['dag'], { HF_ENDPOINT: hub.url, HF_HOME: join(rig.dir, 'hf') });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^pipeline\.yaml:4:\d+ revisions glob "stpe0\*" of model test-org\/tiny-gpt2 matches no revision: the hub has \d+ refs?, e\.g\. \(closest first\) [^\n]*step0030-tokens0\.06M/);
    assert.match(r.stderr, /glob: "stpe0\*"/, 'the offending line is shown');
    assert.doesNotMatch(r.stderr, /expands to nothing/);
  } finally {
    await hub.close();
  }
});
