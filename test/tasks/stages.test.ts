// The stage kinds build-config, score and demo-stimuli, executed with hand-made contexts: config
// content and path, score's inputs-by-output-name, outputs, records, and model reuse in a worker.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import type { ModelSpec, PlanContext, StageContext, StageInput, TaskSpec } from '../../src/engine/kind.js';
import { demoStimuli, demoTasks } from '../../src/tasks/demo-stimuli.js';
import { runTask } from '../../src/tasks/run-task.js';
import buildConfigKind from '../../stages/build-config.js';
import demoStimuliKind from '../../stages/demo-stimuli.js';
import scoreKind from '../../stages/score.js';
import { FakeLM } from './fake-lm.js';
import { repoRoot, shared, stimulus } from './helpers.js';

const tiny: ModelSpec = {
  id: 'local/tiny-gpt2', name: 'tiny-gpt2', revisions: [''], display: { name: 'Tiny', family: 'Tiny', params_b: 0.003 },
  config: { half_precision: false },
};

function planCtx(kind: string, vars: Record<string, string>, params: Record<string, unknown> = {}, model: ModelSpec | undefined = tiny, task?: TaskSpec): PlanContext {
  return {
    instance: { id: `${kind}/${Object.values(vars).filter(Boolean).join('/')}`, kind, name: kind, vars, params },
    spec: { projectDir: repoRoot, models: model ? [model] : [], tasks: task ? [task] : [], vars: {}, offline: true },
    model,
    task,
    digest: async () => ({ digest: 'x', type: 'file' }),
  };
}

function stageCtx(plan: PlanContext, inputs: StageInput[], processCache = new Map<string, unknown>()) {
  const records: Record<string, unknown> = {};
  const logs: string[] = [];
  const warnings: string[] = [];
  const caches = mkdtempSync(path.join(tmpdir(), 'stage-caches-'));
  const ctx: StageContext = {
    ...plan,
    inputs,
    planned: {},
    outDir: mkdtempSync(path.join(tmpdir(), 'stage-out-')),
    tmpDir: mkdtempSync(path.join(tmpdir(), 'stage-tmp-')),
    gpus: [],
    cpus: 1,
    log: (m) => logs.push(m),
    warn: (m) => warnings.push(m),
    record: (k, v) => (records[k] = v),
    signal: new AbortController().signal,
    processCache,
    cacheDir: (name) => {
      // A fresh store per context: a stage's results never answer another test's.
      const d = path.join(caches, name);
      mkdirSync(d, { recursive: true });
      return d;
    },
  };
  return { ctx, records, logs, warnings };
}

function input(stageId: string, output: string, p: string, type: 'file' | 'dir' = 'file'): StageInput {
  return { stageId, kind: stageId.split('/')[0]!, name: stageId.split('/')[0]!, vars: {}, outputs: { [output]: { digest: 'd', type, path: p } }, info: {} };
}

test('build-config writes configs/<task>[/<condition>]/<model>.yaml with defaults, params and model flags', async () => {
  const p1 = planCtx('build-config', { task: 'digit_mat', condition: '', model: 'tiny-gpt2' });
  assert.deepEqual(buildConfigKind.outputs(p1), [{ name: 'config', type: 'file', materialize: 'configs/digit_mat/tiny-gpt2.yaml' }]);
  const { ctx } = stageCtx(p1, []);
  await buildConfigKind.execute(ctx);
  const doc = parseYaml(readFileSync(path.join(ctx.outDir, 'config'), 'utf8')) as Record<string, unknown>;
  assert.equal(doc.task, 'digit_mat');
  assert.equal(doc.model, 'local/tiny-gpt2');
  assert.equal(doc.max_new_tokens, 10);
  assert.equal(doc.condition, null);
  assert.equal(doc.half_precision, false);

  const p2 = planCtx('build-config', { task: 'crt', condition: 'crt2', model: 'tiny-gpt2' }, { max_new_tokens: '20' });
  assert.equal(buildConfigKind.outputs(p2)[0]!.materialize, 'configs/crt/crt2/tiny-gpt2.yaml');
  assert.deepEqual((await buildConfigKind.plan!(p2) as { config: Record<string, unknown> }).config.max_new_tokens, 20);
  assert.equal(((await buildConfigKind.plan!(planCtx('build-config', { task: 'crt', condition: 'crt1', model: 'tiny-gpt2' }))) as { config: { max_new_tokens: number } }).config.max_new_tokens, 100);
  assert.throws(() => buildConfigKind.outputs(planCtx('build-config', { task: '', model: 'tiny-gpt2' }, {}, tiny)), /needs vars.task/);
});

test('score: declarations (worker, affinity, resources, outputs)', () => {
  const p = planCtx('score', { task: 'crt', condition: 'crt1', model: 'OLMo-7B', revision: 'step1000-tokens4B' });
  assert.equal(scoreKind.isolation, 'worker');
  assert.equal(scoreKind.affinity!(p), 'OLMo-7B@step1000-tokens4B');
  assert.deepEqual(scoreKind.outputs(p), [
    { name: 'csv', type: 'file', materialize: 'output/crt/crt1/OLMo-7B_step1000-tokens4B.csv' },
    { name: 'requests', type: 'file' },
  ]);
  assert.equal(scoreKind.outputs(planCtx('score', { task: 'lambada', model: 'tiny-gpt2', revision: '' }))[0]!.materialize, 'output/lambada/tiny-gpt2.csv');
  assert.deepEqual(scoreKind.resources!(p), { cpu: 1 });
  assert.deepEqual(scoreKind.resources!(planCtx('score', { task: 'lambada', model: 'big' }, {}, { ...tiny, resources: { gpu: 4 } })), { gpu: 4 });
  assert.deepEqual(scoreKind.libraries, ['@huggingface/transformers', '@huggingface/tokenizers', 'onnxruntime-node']);
});

test('score executes on tiny-gpt2: CSV equals runTask, requests.jsonl, records, one model load per worker', async () => {
  const cache = new Map<string, unknown>();
  const dir = mkdtempSync(path.join(tmpdir(), 'score-in-'));
  const configPath = path.join(dir, 'config');
  writeFileSync(configPath, 'task: blimp\nmodel: local/tiny-gpt2\ncondition: null\nmax_new_tokens: 100\n');
  const inputs = [
    input('fetch-model/tiny-gpt2', 'model', path.join(shared, 'models/tiny-gpt2'), 'dir'),
    input('fetch-stimuli/blimp', 'stimuli', stimulus('blimp')),
    input('build-config/blimp/tiny-gpt2', 'config', configPath),
  ];
  const plan = planCtx('score', { task: 'blimp', condition: '', model: 'tiny-gpt2', revision: '' }, { limit: '4' });
  const first = stageCtx(plan, inputs, cache);
  await scoreKind.execute(first.ctx);
  const csv = readFileSync(path.join(first.ctx.outDir, 'csv'), 'utf8');
  const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 4);
  assert.equal(rows[0]!.model, 'local/tiny-gpt2');
  const requests = readFileSync(path.join(first.ctx.outDir, 'requests'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
  assert.equal(requests.length, 4 * 6);
  assert.equal(first.records.model_loads, 1);
  assert.equal((first.records.counters as { items: number }).items, 4);
  assert.deepEqual(first.records.failures, []);
  assert.equal((first.records.generation as { max_new_tokens: number }).max_new_tokens, 100);

  // A second stage of the same model instance in the same worker reuses the loaded model.
  const second = stageCtx(planCtx('score', { task: 'blimp', condition: '', model: 'tiny-gpt2', revision: '' }, { limit: 4 }), inputs, cache);
  await scoreKind.execute(second.ctx);
  assert.equal(second.records.model_loads, 0);
  assert.equal(second.records.model_loads_in_worker, 1);
  assert.equal(readFileSync(path.join(second.ctx.outDir, 'csv'), 'utf8'), csv);

  // Missing inputs and unloadable models fail with messages that say what is wrong.
  const noConfig = stageCtx(plan, inputs.slice(0, 2), cache);
  await assert.rejects(scoreKind.execute(noConfig.ctx), /needs exactly one input with output "config"/);
  const badModel = stageCtx(plan, [input('fetch-model/x', 'model', dir, 'dir'), ...inputs.slice(1)], new Map());
  await assert.rejects(scoreKind.execute(badModel.ctx), /cannot load model .* \(from .*\): /);
  for (const [, v] of cache) if (v && typeof v === 'object' && 'lm' in v) await (v as { lm: { dispose(): Promise<void> } }).lm.dispose();
});

test('demo-stimuli: one file per task in the paper formats, readable by the tasks', async () => {
  const files: Record<string, string> = { lambada: 'stimuli.jsonl', digit_mat: 'problems.json', crt: 'stimuli.csv', blimp: 'stimuli.csv', dgl: 'stimuli.csv' };
  assert.deepEqual(demoTasks(), Object.keys(files));
  for (const task of demoTasks()) {
    const p = planCtx('demo-stimuli', { task }, {}, undefined);
    assert.deepEqual(demoStimuliKind.outputs(p), [{ name: 'stimuli', type: 'file', materialize: `external_stimuli/${task}/${files[task]}` }]);
    const { ctx } = stageCtx(p, []);
    await demoStimuliKind.execute(ctx);
    const file = path.join(ctx.outDir, 'stimuli');
    assert.equal(readFileSync(file, 'utf8'), demoStimuli(task).content);
    const conditions = task === 'crt' ? ['crt1', 'crt2', 'crt3'] : [undefined];
    for (const condition of conditions) {
      const out = await runTask({ task, condition, stimuliPath: file, lm: new FakeLM(), model: 'm', revision: '', maxNewTokens: 10 });
      assert.ok(out.counters.items! >= 3, `${task} ${condition ?? ''}: ${out.counters.items} items`);
      assert.deepEqual(out.failures, []);
    }
  }
  // Demo digit matrices: 8 distinct choices, the correct one among them, at its index.
  const doc = JSON.parse(demoStimuli('digit_mat').content) as { problem_types: { problems: { grid: number[][][]; answer_choices: number[][]; correct_ind: number }[] }[] };
  for (const t of doc.problem_types) {
    for (const p of t.problems) {
      assert.equal(new Set(p.answer_choices.map((c) => c.join(' '))).size, 8);
      assert.deepEqual(p.answer_choices[p.correct_ind], p.grid[2]![2]);
    }
  }
  assert.throws(() => demoStimuliKind.outputs(planCtx('demo-stimuli', { task: 'nope' }, {}, undefined)), /no demo stimuli for task "nope"/);
});
