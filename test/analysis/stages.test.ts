// The stage kinds import → aggregate → plot-data, executed directly with hand-made contexts on a
// small folder laid out like output/.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { ModelSpec, OutputRef, PlanContext, StageContext, StageInput, StageKind } from '../../src/engine/kind.js';
import { parseCsv, toCsv } from '../../src/analysis/csv-io.js';
import aggregate, { sizedModels } from '../../stages/aggregate.js';
import importKind from '../../stages/import.js';
import plotData from '../../stages/plot-data.js';
import { crt2, digitMat, MODELS } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'analysis-stages-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, content: string): void {
  const p = join(root, 'project', rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
}

// A folder like output/: three models' final digit_mat scores, two revisions of beta-2b, crt2.
write('paper/digit_mat/alpha-1b.csv', toCsv(digitMat('alpha-1b', '', [[true, true], [false, true]]).table));
write('paper/digit_mat/alpha-10b.csv', toCsv(digitMat('alpha-10b', '', [[true, true], [true, true]]).table));
write('paper/digit_mat/beta-2b.csv', toCsv(digitMat('beta-2b', '', [[false, true], [false, false]]).table));
write('paper/digit_mat/beta-2b_step100-tokens1B.csv', toCsv(digitMat('beta-2b', 'step100-tokens1B', [[false, false], [false, false]]).table));
write('paper/digit_mat/beta-2b_step1000-tokens10B.csv', toCsv(digitMat('beta-2b', 'step1000-tokens10B', [[false, true], [true, false]]).table));
write('paper/crt/crt2/alpha-1b.csv', toCsv(crt2('alpha-1b', [{ label: 'intuitive', c: -1, i: -2 }]).table));
write('paper/notes/stray.csv', 'a\n1\n');

let counter = 0;
function context(kind: StageKind, vars: Record<string, string>, params: Record<string, unknown>, inputs: StageInput[], models: ModelSpec[] = MODELS): StageContext {
  const outDir = join(root, `out-${++counter}`);
  mkdirSync(outDir);
  const plan: PlanContext = {
    instance: { id: `${kind.name}-${counter}`, kind: kind.name, name: kind.name, vars, params },
    spec: { projectDir: join(root, 'project'), models, tasks: [], vars: {}, offline: true },
    digest: async (p: string) => ({ digest: `digest-of:${readdirSync(p).join(',')}`, type: 'dir' }),
  };
  const warnings: string[] = [];
  const records: Record<string, unknown> = {};
  return {
    ...plan, inputs, planned: {}, outDir, tmpDir: join(root, `tmp-${counter}`), gpus: [], cpus: 1,
    log: () => undefined, warn: (m: string) => warnings.push(m), record: (k: string, v: unknown) => { records[k] = v; },
    signal: new AbortController().signal, processCache: new Map(), cacheDir: (name: string) => join(root, 'caches', name),
    // Test-only handles on what the stage reported.
    ...({ warnings, records } as object),
  } as StageContext;
}

function asInput(ctx: StageContext, kind: StageKind): StageInput {
  const outputs: Record<string, OutputRef> = {};
  for (const o of kind.outputs(ctx)) outputs[o.name] = { digest: 'x', type: o.type, path: join(ctx.outDir, o.name) };
  return { stageId: ctx.instance.id, kind: kind.name, name: kind.name, vars: ctx.instance.vars, outputs, info: {} };
}

test('import → aggregate → plot-data, each writing exactly its declared outputs', async () => {
  // import: keyed on the folder's digest; copies the CSVs; warns about a file no model claims.
  const imp = context(importKind, {}, { dir: 'paper' }, []);
  assert.deepEqual(await importKind.plan!(imp), { dir_digest: 'digest-of:crt,digit_mat,notes' });
  await importKind.execute(imp);
  assert.ok(existsSync(join(imp.outDir, 'scores', 'digit_mat', 'beta-2b_step100-tokens1B.csv')));
  assert.ok((imp as unknown as { warnings: string[] }).warnings.some((w) => /notes\/stray\.csv/.test(w)));

  // aggregate digit_mat: beta-2b declares revisions, so the training-time tables are outputs too.
  const agg = context(aggregate, { domain: 'digit_mat' }, {}, [asInput(imp, importKind)]);
  const decl = aggregate.outputs(agg);
  assert.deepEqual(decl.map((o) => o.materialize), [
    'processed_data/digit_mat_wide_size.csv', 'processed_data/digit_mat_long_size.csv', 'processed_data/digit_mat_log_odds_diff.csv',
    'processed_data/digit_mat_wide_training_time.csv', 'processed_data/digit_mat_long_training_time.csv',
    'processed_data/digit_mat_regression_training_time.csv', 'processed_data/digit_mat_regression_training_time.txt',
  ]);
  await aggregate.execute(agg);
  assert.deepEqual(readdirSync(agg.outDir).sort(), decl.map((o) => o.name).sort());
  const rowsOf = (dir: string, name: string): number => parseCsv(readFileSync(join(dir, name), 'utf8'), name).rows.length;
  assert.equal(rowsOf(agg.outDir, 'digit_mat_wide_size'), 3 * 2, '3 models × 2 problems (revisions are not in the size table)');
  assert.equal(rowsOf(agg.outDir, 'digit_mat_long_training_time'), 3 * 2 * 2, 'beta-2b: 3 checkpoints × 2 problems × 2 methods');
  const tt = readFileSync(join(agg.outDir, 'digit_mat_long_training_time'), 'utf8');
  assert.match(tt, /^Beta 2B,,Beta,1900,2,/m, 'no final_step declared: one sweep interval past step 1000');
  assert.match(tt, /^Beta 2B,step100-tokens1B,Beta,100,2,/m);

  // aggregate crt from the same import: only the size tables; an `annotations` input relabels.
  write('labels/crt2/alpha-1b.csv', 'item_id,label\n1,correct\n');
  const labels: StageInput = {
    stageId: 'labels', kind: 'run', name: 'labels', vars: {}, info: {},
    outputs: { annotations: { digest: 'l', type: 'dir', path: join(root, 'project', 'labels') } },
  };
  const aggCrt = context(aggregate, { domain: 'crt' }, { trainingTime: false }, [asInput(imp, importKind), labels]);
  assert.deepEqual(aggregate.outputs(aggCrt).map((o) => o.name), ['crt_wide_size', 'crt_long_size', 'crt_log_odds_diff']);
  await aggregate.execute(aggCrt);
  const crtWide = parseCsv(readFileSync(join(aggCrt.outDir, 'crt_wide_size'), 'utf8'), 'crt_wide_size').rows;
  assert.deepEqual(crtWide.map((r) => [r.generated_response_label, r.generated_response_correct]), [['correct', 'True']], 'the file said "intuitive"');

  // plot-data for digit_mat, from aggregate's outputs.
  const plot = context(plotData, { domain: 'digit_mat' }, { familyOrder: ['Beta', 'Alpha'] }, [asInput(agg, aggregate)]);
  const figs = plotData.outputs(plot);
  assert.equal(figs.length, 9);
  assert.ok(figs.every((o) => o.materialize === `figures/${o.name.replace(/_(svg|json|csv)$/, '.$1')}`));
  await plotData.execute(plot);
  assert.deepEqual(readdirSync(plot.outDir).sort(), figs.map((o) => o.name).sort());
  const svg = readFileSync(join(plot.outDir, 'digit_mat_by_method_svg'), 'utf8');
  assert.match(svg, /^<svg/);
  const series = JSON.parse(readFileSync(join(plot.outDir, 'digit_mat_by_method_json'), 'utf8')) as { rows: Array<{ model_family: string; model: string }> };
  assert.deepEqual([...new Set(series.rows.map((r) => r.model_family))], ['Beta', 'Alpha'], 'family order from the param');
});

test('aggregate: the key follows display metadata; duplicate inputs and a missing domain are errors', async () => {
  const base = context(aggregate, { domain: 'digit_mat' }, {}, []);
  const renamed = context(aggregate, { domain: 'digit_mat' }, {}, [], MODELS.map((m) => ({ ...m, display: { ...m.display, name: `${m.display.name}!` } })));
  assert.notDeepEqual(await aggregate.plan!(base), await aggregate.plan!(renamed));
  assert.equal((await aggregate.plan!(base) as { finalStep?: number }).finalStep, undefined);
  const declared = context(aggregate, { domain: 'digit_mat' }, {}, [], MODELS.map((m) => (m.name === 'beta-2b' ? { ...m, display: { ...m.display, final_step: 557000 } } : m)));
  assert.notDeepEqual(await aggregate.plan!(base), await aggregate.plan!(declared), 'declaring a final step re-keys the aggregate');
  assert.throws(() => aggregate.outputs(context(aggregate, {}, {}, [])), /var "domain" is required/);
  assert.throws(() => aggregate.outputs(context(aggregate, { domain: 'vision' }, {}, [])), /unknown analysis domain "vision"/);

  const p = join(root, 'project', 'paper', 'digit_mat', 'alpha-1b.csv');
  const scoreInput = (id: string): StageInput => ({
    stageId: id, kind: 'score', name: 'score', vars: { model: 'alpha-1b', revision: '', task: 'digit_mat', condition: '' },
    outputs: { csv: { digest: 'd', type: 'file', path: p } }, info: {},
  });
  const dup = context(aggregate, { domain: 'digit_mat' }, { trainingTime: false }, [scoreInput('score-a'), scoreInput('score-b')]);
  await assert.rejects(aggregate.execute(dup), /two inputs give digit_mat scores of alpha-1b/);
  // A single score-stage input works without import.
  const one = context(aggregate, { domain: 'digit_mat' }, { trainingTime: false }, [scoreInput('score-a')]);
  await aggregate.execute(one);
  assert.equal(parseCsv(readFileSync(join(one.outDir, 'digit_mat_long_size'), 'utf8'), 'long').rows.length, 2 * 2);
});

test('aggregate: leaveOut keeps declared models\' scores out of the tables (the paper scored gpt2 on crt1 only)', async () => {
  const imp = context(importKind, {}, { dir: 'paper' }, []);
  await importKind.execute(imp);
  const agg = context(aggregate, { domain: 'digit_mat' }, { trainingTime: false, leaveOut: ['alpha-1b'] }, [asInput(imp, importKind)]);
  await aggregate.execute(agg);
  const wide = parseCsv(readFileSync(join(agg.outDir, 'digit_mat_wide_size'), 'utf8'), 'wide').rows;
  assert.deepEqual([...new Set(wide.map((r) => r.model))], ['Alpha 10B', 'Beta 2B']);
  assert.ok(!(agg as unknown as { warnings: string[] }).warnings.some((w) => w.includes('alpha-1b')), 'a left-out model is not reported missing');
  assert.deepEqual((await aggregate.plan!(agg) as { leaveOut?: string[] }).leaveOut, ['alpha-1b']);
  assert.throws(() => aggregate.outputs(context(aggregate, { domain: 'digit_mat' }, { leaveOut: ['gpt2'] }, [])), /param "leaveOut" names "gpt2", which is not a declared model/);
});

test('aggregate: a model with no size in its name is sized by the parameter count its score stage recorded; display metadata wins', () => {
  const models: ModelSpec[] = [
    { id: 'me/tiny', name: 'tiny', revisions: [''], display: { name: 'tiny', family: 'tiny', params_b: null } },
    { id: 'org/alpha-1b', name: 'alpha-1b', revisions: [''], display: { name: 'Alpha 1B', family: 'Alpha', params_b: 1 } },
  ];
  const score = (model: string, n: number): StageInput => ({
    stageId: `score/crt/crt2/${model}`, kind: 'score', name: 'score', vars: { model, task: 'crt' }, outputs: {}, info: { model_parameters: n },
  });
  const ctx = context(aggregate, { domain: 'crt' }, {}, [score('tiny', 2_500_000), score('alpha-1b', 7_000_000)], models);
  const sized = sizedModels(ctx);
  assert.equal(sized[0]!.display.params_b, 0.0025, 'from the recorded count (billions)');
  assert.equal(sized[1]!.display.params_b, 1, 'the declared size, not the count');
  const none = context(aggregate, { domain: 'crt' }, {}, [], models);
  assert.equal(sizedModels(none)[0]!.display.params_b, null, 'nothing recorded: still unsized');
});

test('aggregate warnings name the user\'s file (the imported original, the working-tree copy), never the store copy', async () => {
  // A crt2 file without generated_response_label: aggregate warns about it.
  const full = crt2('alpha-1b', [{ label: 'correct', c: -1, i: -2 }]).table;
  const cols = full.columns.filter((c) => c !== 'generated_response_label');
  write('paper-unlabelled/crt/crt2/alpha-1b.csv', toCsv({ columns: cols, rows: full.rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]!]))) }));
  const imp = context(importKind, {}, { dir: 'paper-unlabelled' }, []);
  await importKind.execute(imp);
  const records = (imp as unknown as { records: Record<string, unknown> }).records;
  assert.equal(records['source_dir'], join(root, 'project', 'paper-unlabelled'));
  const agg = context(aggregate, { domain: 'crt' }, { trainingTime: false }, [{ ...asInput(imp, importKind), info: records }]);
  await aggregate.execute(agg);
  const warnings = (agg as unknown as { warnings: string[] }).warnings.filter((w) => /generated_response_label/.test(w));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /^paper-unlabelled\/crt\/crt2\/alpha-1b\.csv: no generated_response_label column/);
  assert.ok(!warnings[0]!.includes(imp.outDir), 'not the store copy');
});
