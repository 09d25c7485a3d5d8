// Prompt, option and label construction for every task against hand-worked examples (TASKS.md) and
// against the paper's own output files.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanResponse, crtOptions, crtPrompt, CRT_OPTIONS, naiveLabel, type CrtCondition } from '../../src/tasks/crt.js';
import { choiceText, digitMatPrompt, digitMatTrials, parseResponse, scoreResponse } from '../../src/tasks/digit-mat.js';
import { judgments, metaPrompt } from '../../src/tasks/grammaticality.js';
import { lambadaMetaPrompt, splitPassage } from '../../src/tasks/lambada.js';
import { npIntArray } from '../../src/tasks/py-format.js';
import { readCsvFile, readDigitMatProblems } from '../../src/tasks/stimuli.js';
import { paperCsv, paperDir, stimulus } from './helpers.js';

test('digit_mat prompt and choice texts', () => {
  const types = readDigitMatProblems(stimulus('digit_mat'));
  assert.equal(digitMatPrompt(types[0]!.problems[0]!.grid), '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [');
  assert.equal(digitMatPrompt([[[1, -1], [2, 3], [4, 5]], [[0, 0], [1, 1], [2, 2]], [[7, 7], [8, 8], [9, 9]]]), '[1  ] [2 3] [4 5]\n[0 0] [1 1] [2 2]\n[7 7] [8 8] [');
  assert.equal(choiceText([3]), '3]');
  assert.equal(choiceText([6, 4, 1]), '6 4 1]');
  assert.equal(choiceText([]), ']');
});

test('digit_mat response parsing and pred_set notation', () => {
  assert.deepEqual(parseResponse('3] [3]\n[5] ['), { valid: true, digits: [3] });
  assert.deepEqual(parseResponse(' 6 1]\n'), { valid: true, digits: [6, 1] });
  assert.equal(parseResponse('3a]').valid, false);
  assert.deepEqual(scoreResponse('3] [3]', [3], false), { correct: true, predSet: '[3]' });
  assert.deepEqual(scoreResponse('6 9]', [9, 6], false), { correct: false, predSet: '[6, 9]' });
  assert.deepEqual(scoreResponse('6 1]\n[4 9] [4', [6, 4, 1, 9], true), { correct: false, predSet: '[1 6]' });
  assert.deepEqual(scoreResponse('9 6]', [6, 9], true), { correct: true, predSet: '[6 9]' });
  assert.deepEqual(scoreResponse(']', [], true), { correct: true, predSet: '[]' });
  assert.deepEqual(scoreResponse('4x]', [4], false), { correct: false, predSet: '[4]' });
});

test('digit_mat rows: problem index first, then type; 1,216 rows; ids, answers as in the paper', () => {
  const trials = digitMatTrials(readDigitMatProblems(stimulus('digit_mat')));
  assert.equal(trials.length, 1216);
  const { records } = paperCsv('digit_mat/pythia-1b-deduped.csv');
  const [header, ...body] = records as [string[], ...string[][]];
  const col = (name: string) => header.indexOf(name);
  assert.equal(body.length, trials.length);
  trials.forEach((t, i) => {
    const row = body[i]!;
    assert.equal(t.id, row[col('problem_id')]);
    assert.equal(String(t.index), row[col('problem_ind')]);
    assert.equal(t.type.perm_invariant ? 'True' : 'False', row[col('perm_invariant')]);
    assert.equal(npIntArray(t.problem.answer_choices[t.problem.correct_ind]!), row[col('correct_answer')]);
  });
  // The paper's pred_set column re-derived from its generated responses.
  body.forEach((row, i) => {
    const t = trials[i]!;
    const s = scoreResponse(row[col('generated_response')]!, t.problem.answer_choices[t.problem.correct_ind]!, t.type.perm_invariant);
    assert.equal(s.predSet, row[col('generated_response_pred_set')], t.id);
    assert.equal(s.correct ? 'True' : 'False', row[col('generated_response_correct')], t.id);
  });
});

test('crt prompt, options (money, $ present, _alt), cleaning and naive labels', () => {
  assert.equal(crtPrompt('Why?'), 'Question: Why?\nAnswer:');
  const row = { correct: '$0.20', intuitive: '$0.40', total_cost: '1.40', more: '1', t: '' };
  assert.deepEqual(crtOptions('crt1', row), ['$0.20', '$0.40', '$1.40', '$1.00', '$0.20', '$0.40', '$1.40', '$1']);
  assert.deepEqual(crtOptions('crt1', { correct: '$20.0', intuitive: '$40.0', total_cost: '1000', more: '100' }).slice(2, 8), ['$1,000.00', '$100.00', '$20', '$40', '$1,000', '$100']);
  assert.deepEqual(crtOptions('crt3', { correct: '5 days', intuitive: '3 days', t: '6 days' }), ['5 days', '3 days', '6 days']);

  assert.equal(cleanResponse(' The camera costs $1.40.\nQuestion: more.'), 'The camera costs $1.');
  assert.equal(cleanResponse(' It depends\nMore text. Here'), 'It depends.'); // period only after the first line
  assert.equal(cleanResponse(' no period at all\nsecond'), 'no period at all');
  assert.equal(cleanResponse(' $10. The rest'), '$10.00');
  assert.equal(cleanResponse('4.5 hours\nThe area doubles.'), '$4.00');
  assert.equal(cleanResponse(' 12\n\nQuestion'), '$12.00');
  assert.equal(cleanResponse('\n\nA: the answer.'), '.');

  const o1 = crtOptions('crt1', { correct: '$20.0', intuitive: '$40.0', total_cost: '140', more: '100' });
  assert.equal(naiveLabel('crt1', 'The fridge costs $100 more than the pear.', o1), 'more_alt');
  assert.equal(naiveLabel('crt1', 'It costs $20.00.', o1), 'correct');
  assert.equal(naiveLabel('crt1', 'It costs $20 or $40.', o1), 'intuitive_alt');
  assert.equal(naiveLabel('crt1', 'It costs 20 dollars.', o1), null);
  assert.equal(naiveLabel('crt2', 'It takes 7 hours.', ['7 hours', '4 hours']), 'correct');
  assert.equal(naiveLabel('crt2', 'Either 7 hours or 4 hours.', ['7 hours', '4 hours']), 'intuitive');
  assert.equal(naiveLabel('crt3', 'It takes 6 days.', ['5 days', '3 days', '6 days']), 't');
  assert.equal(naiveLabel('crt3', 'Nobody knows.', ['5 days', '3 days', '6 days']), null);
});

// Two naive-label cells of the paper's files were edited by hand in its annotation spreadsheet.
const HAND_EDITED = new Set(['crt1/pythia-1.4b-deduped.csv:34', 'crt3/Llama-2-7b-hf.csv:23']);

test("crt options, cleaning and naive labels reproduce every paper file's columns", () => {
  const stimuli = readCsvFile(stimulus('crt')).rows;
  let checked = 0;
  for (const condition of ['crt1', 'crt2', 'crt3'] as CrtCondition[]) {
    const names = CRT_OPTIONS[condition];
    for (const file of readdirSync(path.join(paperDir, 'crt', condition))) {
      const { records } = paperCsv(`crt/${condition}/${file}`);
      const [header, ...body] = records as [string[], ...string[][]];
      const get = (row: string[], name: string) => row[header.indexOf(name)]!;
      for (const row of body) {
        const id = get(row, 'item_id');
        const s = stimuli.find((r) => r.condition === condition && r.item_id === id)!;
        const options = crtOptions(condition, s);
        assert.deepEqual(options, names.map((n) => get(row, n)), `${file} item ${id} options`);
        assert.equal(cleanResponse(get(row, 'generated_response_raw')), get(row, 'generated_response'), `${file} item ${id} cleaning`);
        if (!HAND_EDITED.has(`${condition}/${file}:${id}`)) {
          assert.equal(naiveLabel(condition, get(row, 'generated_response'), options) ?? '', get(row, 'generated_response_naive_label'), `${file} item ${id} label`);
        }
        checked++;
      }
    }
  }
  assert.equal(checked, 3 * 13 * 50);
});

test('grammaticality: metalinguistic prompt has its leading newline; judgments', () => {
  assert.equal(
    metaPrompt('A.', 'B.'),
    '\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: A.\nSentence 2: B.\nAnswer:',
  );
  const j = judgments({ good: -10, bad: -12, g1: -1, g2: -2, b1: -1.5, b2: -2.5 });
  assert.deepEqual(j, {
    direct_correct: true, meta_1_correct: true, meta_2_correct: false, meta_good_correct: true, meta_bad_correct: false,
    meta_correct: false, meta_correct_lenient: true,
  });
});

test('grammaticality judgments reproduce the paper columns from its logprobs', () => {
  for (const file of ['blimp/pythia-1b-deduped.csv', 'dgl/OLMo-7B.csv']) {
    const { records } = paperCsv(file);
    const [header, ...body] = records as [string[], ...string[][]];
    const num = (row: string[], n: string) => Number(row[header.indexOf(n)]);
    for (const row of body) {
      const j = judgments({
        good: num(row, 'direct_sum_logprob_good_sentence'), bad: num(row, 'direct_sum_logprob_bad_sentence'),
        g1: num(row, 'meta_sum_logprob_good_first_1'), g2: num(row, 'meta_sum_logprob_good_first_2'),
        b1: num(row, 'meta_sum_logprob_bad_first_1'), b2: num(row, 'meta_sum_logprob_bad_first_2'),
      });
      for (const [k, v] of Object.entries(j)) assert.equal(v ? 'True' : 'False', row[header.indexOf(k)], `${file} ${k}`);
    }
  }
});

test('lambada passage split and meta prompt', () => {
  assert.deepEqual(splitPassage('I look at  him, Harlin'), { prefix: 'I look at  him,', finalWord: 'Harlin' });
  assert.equal(lambadaMetaPrompt('a b'), 'What word is most likely to come next in the following text?\nText: a b\nPrediction:');
  const { records } = paperCsv('lambada/pythia-1b-deduped.csv');
  const [header, ...body] = records as [string[], ...string[][]];
  const first = body[0]!;
  const text = `${first[header.indexOf('prefix')]} ${first[header.indexOf('final_word')]}`;
  assert.deepEqual(splitPassage(text), { prefix: first[header.indexOf('prefix')], finalWord: first[header.indexOf('final_word')] });
});
