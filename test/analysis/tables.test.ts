import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toCsv } from '../../src/analysis/csv-io.js';
import { buildLong, longColumns } from '../../src/analysis/long.js';
import { defaultFinalStep, OLMO_7B_FINAL_STEP, trainingStep } from '../../src/analysis/training-step.js';
import { buildWide, isDglDuplicate } from '../../src/analysis/wide.js';
import { blimp, crt2, dgl, digitMat, lambada } from './fixtures.js';

const dmFiles = () => [
  digitMat('alpha-1b', '', [[true, true], [false, true], [false, false]]),
  digitMat('alpha-10b', '', [[true, true], [true, true], [false, true]]),
  digitMat('beta-2b', '', [[true, true], [true, false], [false, false]]),
  digitMat('beta-2b', 'step100-tokens1B', [[false, true], [false, false], [false, false]]),
  digitMat('beta-2b', 'step1000-tokens10B', [[true, true], [false, true], [false, false]]),
];

test('training step: the number after "step"; the final weights get the given step', () => {
  assert.equal(trainingStep('step31000-tokens137B', 0), 31000);
  assert.equal(trainingStep('step0030-tokens0.06M', 0), 30);
  assert.equal(trainingStep('', OLMO_7B_FINAL_STEP), 557000);
  assert.equal(trainingStep('', 600), 600);
  assert.throws(() => trainingStep('main', 0), /revision "main" has no training step/);
});

test('default final step: one sweep interval past the last revision step', () => {
  assert.equal(defaultFinalStep(['', 'step100-demo', 'step1000-demo', 'step10000-demo']), 19000);
  assert.equal(defaultFinalStep(['step10000-tokens44B', 'step541000-tokens2393B', 'step481000-tokens2128B']), 601000);
  assert.equal(defaultFinalStep(['step0030-tokens0.06M']), 60);
  assert.throws(() => defaultFinalStep(['']), /declare display.final_step/);
});

test('digit_mat size tables: final weights of every model, display metadata, two long rows per wide row', () => {
  const wide = buildWide('digit_mat', dmFiles(), { scope: 'size' });
  assert.equal(wide.rows.length, 3 * 3); // 3 models × 3 problems; revisions left out
  // Models by short name in code-unit order (alpha-10b < alpha-1b < beta-2b), whatever the input order.
  assert.deepEqual(wide.rows.map((r) => r.model), ['Alpha 10B', 'Alpha 10B', 'Alpha 10B', 'Alpha 1B', 'Alpha 1B', 'Alpha 1B', 'Beta 2B', 'Beta 2B', 'Beta 2B']);
  assert.deepEqual(buildWide('digit_mat', dmFiles().reverse(), { scope: 'size' }).rows, wide.rows);
  assert.equal(wide.rows[0]!.model_family, 'Alpha');
  assert.equal(wide.rows[0]!.model_n_params, 10);
  assert.deepEqual(wide.columns.slice(-2), ['model_family', 'model_n_params']);
  const long = buildLong('digit_mat', wide, 'size');
  assert.equal(long.rows.length, 18);
  assert.deepEqual(long.columns, ['model', 'model_family', 'model_n_params', 'problem_type', 'problem_ind', 'problem_id', 'perm_invariant', 'correct_answer', 'response', 'response_sum_logprob', 'response_correct', 'eval_method', 'pretty_eval_method']);
  // Problem 1 of Alpha 1B: generated wrong, forced choice right.
  assert.deepEqual([long.rows[8]!.eval_method, long.rows[8]!.pretty_eval_method, long.rows[8]!.response_correct], ['generated', 'Production', false]);
  assert.deepEqual([long.rows[9]!.eval_method, long.rows[9]!.pretty_eval_method, long.rows[9]!.response_correct, long.rows[9]!.response], ['mc', 'Forced choice', true, '3]']);
});

test('digit_mat training-time tables: every revision of the model with revisions plus its final weights', () => {
  const wide = buildWide('digit_mat', dmFiles(), { scope: 'training_time' });
  assert.equal(wide.rows.length, 3 * 3); // beta-2b: 2 revisions + final, 3 problems each
  // beta-2b declares no final step: one sweep interval (900) past its last checkpoint.
  assert.deepEqual([...new Set(wide.rows.map((r) => r.training_step))], [100, 1000, 1900]);
  assert.deepEqual([...new Set(wide.rows.map((r) => r.revision))], ['step100-tokens1B', 'step1000-tokens10B', '']);
  const custom = buildWide('digit_mat', dmFiles(), { scope: 'training_time', finalStep: 5000 });
  assert.equal(custom.rows.at(-1)!.training_step, 5000);
  // A declared display.final_step wins over the option and the default.
  const declared = dmFiles().map((f) => ({ ...f, model: { ...f.model, finalStep: f.model.name === 'beta-2b' ? 557000 : null } }));
  assert.deepEqual([...new Set(buildWide('digit_mat', declared, { scope: 'training_time', finalStep: 5000 }).rows.map((r) => r.training_step))], [100, 1000, 557000]);
  const long = buildLong('digit_mat', wide, 'training_time');
  assert.equal(long.rows.length, 18);
  assert.deepEqual(longColumns('digit_mat', 'training_time').slice(0, 5), ['model', 'revision', 'model_family', 'training_step', 'model_n_params']);
  assert.equal(long.rows.filter((r) => r.response_correct === true).length, 7); // step100: 1, step1000: 3, final: 3
});

test('crt: correct-over-intuitive from the logprob columns, production correct from the label, TRUE → True', () => {
  const f = crt2('alpha-1b', [{ label: 'correct', c: -1, i: -2 }, { label: 'intuitive', c: -3, i: -2 }, { label: '', c: -1.5, i: -1.5 }]);
  const wide = buildWide('crt', [f], { scope: 'size' });
  assert.deepEqual(wide.rows.map((r) => r.mc_correct_gt_intuitive), [true, false, false]);
  assert.deepEqual(wide.rows.map((r) => r.generated_response_correct), [true, false, false]);
  assert.deepEqual(wide.rows.map((r) => r.mc_response_correct), [true, false, false]);
  assert.match(toCsv(wide).split('\n')[1]!, /,True,Alpha 1B,,Alpha,1,True,True$/);
  assert.doesNotMatch(toCsv(wide), /TRUE|FALSE/);
  const long = buildLong('crt', wide, 'size');
  assert.equal(long.rows.length, 6);
  assert.equal(long.columns[0], 'condition');
  assert.deepEqual(long.rows.map((r) => [r.eval_method, r.response_label, r.response_correct]), [
    ['generated', 'correct', true], ['mc', 'correct', true],
    ['generated', 'intuitive', false], ['mc', 'intuitive', false],
    ['generated', '', false], ['mc', 'intuitive', false],
  ]);
});

test('lambada: logprob_diff = direct − meta; long has one logprob row per method', () => {
  const wide = buildWide('lambada', [lambada('alpha-1b', '', [[-1, -3], [-2, -2.5]])], { scope: 'size' });
  assert.deepEqual(wide.rows.map((r) => r.logprob_diff), [2, 0.5]);
  const long = buildLong('lambada', wide, 'size');
  assert.deepEqual(long.rows.map((r) => [r.eval_method, r.logprob]), [['direct', -1], ['meta', -3], ['direct', -2], ['meta', -2.5]]);
  assert.deepEqual(long.columns, ['model', 'model_family', 'model_n_params', 'item_id', 'prefix', 'final_word', 'logprob', 'eval_method', 'pretty_eval_method']);
});

test('syntax: blimp and dgl together; dgl "Order of Adjectives" TS 6–TS 10 dropped; four long rows per pair', () => {
  assert.equal(isDglDuplicate({ phenomenon: 'Order of Adjectives', test_item: 'TS 6' }), true);
  assert.equal(isDglDuplicate({ phenomenon: 'Order of Adjectives', test_item: 'TS 10' }), true);
  assert.equal(isDglDuplicate({ phenomenon: 'Order of Adjectives', test_item: 'TS 5' }), false);
  assert.equal(isDglDuplicate({ phenomenon: 'Anaphora', test_item: 'TS 6' }), false);
  const files = [
    blimp('alpha-1b', 3),
    dgl('alpha-1b', [['Anaphora', 'TS 6'], ['Order of Adjectives', 'TS 5'], ['Order of Adjectives', 'TS 6'], ['Order of Adjectives', 'TS 10'], ['Order of Adjectives', 'TS 11']]),
  ];
  const wide = buildWide('syntax', files, { scope: 'size' });
  assert.equal(wide.rows.length, 3 + 3);
  assert.deepEqual(wide.rows.map((r) => r.dataset), ['blimp', 'blimp', 'blimp', 'dgl', 'dgl', 'dgl']);
  assert.deepEqual(wide.rows.slice(3).map((r) => r.test_item), ['TS 6', 'TS 5', 'TS 11']);
  const long = buildLong('syntax', wide, 'size');
  assert.equal(long.rows.length, 6 * 4);
  // direct twice (direct_correct), then meta_good_correct and meta_bad_correct.
  assert.deepEqual(long.rows.slice(0, 4).map((r) => [r.eval_method, r.response_correct]), [['direct', true], ['direct', true], ['meta', true], ['meta', false]]);
  assert.equal(long.rows[0]!.good_sentence, 'Good 0.');
  assert.equal(long.rows[12]!.phenomenon, 'Anaphora');
});
