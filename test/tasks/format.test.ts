// Python-compatible cell formatting and CSV writing, checked against hand-worked values and by
// re-emitting whole paper CSVs from their parsed values.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvLine, toCsv } from '../../src/tasks/csv-write.js';
import { formatFixed2, moneyAlt, moneyText, parsePyFloat, responseAsMoney } from '../../src/tasks/money.js';
import { boolCell, floatCell, npIntArray, pyFloat, pyFloatList, pyIntList, pyStr, pyStrList, type Cell } from '../../src/tasks/py-format.js';
import { paperCsv } from './helpers.js';

test('pyFloat lays out shortest digits as Python repr does', () => {
  assert.equal(pyFloat(-14.86661148071289), '-14.86661148071289');
  assert.equal(pyFloat(9.576059528626502e-5), '9.576059528626502e-05');
  assert.equal(pyFloat(0.0001), '0.0001');
  assert.equal(pyFloat(0.00001), '1e-05');
  assert.equal(pyFloat(1e16), '1e+16');
  assert.equal(pyFloat(1e15), '1000000000000000.0');
  assert.equal(pyFloat(123), '123.0');
  assert.equal(pyFloat(0), '0.0');
  assert.equal(pyFloat(-0), '-0.0');
  assert.equal(pyFloat(1.5e300), '1.5e+300');
  assert.equal(pyFloat(NaN), 'nan');
  assert.equal(pyFloat(-Infinity), '-inf');
  assert.equal(floatCell(NaN), null);
});

test('lists, booleans and numpy arrays in Python notation', () => {
  assert.equal(pyFloatList([-1.5, 0, 2e-7]), '[-1.5, 0.0, 2e-07]');
  assert.equal(pyIntList([6, 9]), '[6, 9]');
  assert.equal(pyIntList([]), '[]');
  assert.equal(pyStrList(['correct', 'intuitive']), "['correct', 'intuitive']");
  assert.equal(pyStr("it's"), '"it\'s"');
  assert.equal(pyStr('a\nb\\'), "'a\\nb\\\\'");
  assert.equal(npIntArray([6, 4, 1]), '[6 4 1]');
  assert.equal(npIntArray([]), '[]');
  assert.equal(npIntArray([1, 10]), '[ 1 10]');
  assert.equal(boolCell(true), 'True');
  assert.equal(boolCell(false), 'False');
});

test('CSV quoting follows pandas (QUOTE_MINIMAL, doubled quotes, \\n line ends)', () => {
  assert.equal(csvLine(['a', 'b,c', 'say "hi"', 'x\ny', null, '']), 'a,"b,c","say ""hi""","x\ny",,');
  assert.equal(csvLine([null]), '""');
  assert.equal(toCsv(['a', 'b'], [{ a: '1' }, { a: null, b: 'True' }]), 'a,b\n1,\n,True\n');
});

test('Python float() acceptance', () => {
  assert.equal(parsePyFloat(' 12 '), 12);
  assert.equal(parsePyFloat('1_000'), 1000);
  assert.equal(parsePyFloat('5.'), 5);
  assert.equal(parsePyFloat('.5'), 0.5);
  assert.equal(parsePyFloat('1e98'), 1e98);
  assert.equal(parsePyFloat('-Infinity'), -Infinity);
  assert.ok(Number.isNaN(parsePyFloat('nan')));
  for (const bad of ['', '.', '1,000', '0x10', '1__0', '_1', '1e', '$5', '12 days', 'infinite']) assert.equal(parsePyFloat(bad), null, bad);
});

test("money text is Python's '${:,.2f}'.format(float(x))", () => {
  assert.equal(moneyText('20.0'), '$20.00');
  assert.equal(moneyText('$20.0'), '$20.00'); // a $ already present
  assert.equal(moneyText('1000'), '$1,000.00');
  assert.equal(moneyText('1.40'), '$1.40');
  assert.equal(moneyText('$0.150'), '$0.15');
  assert.equal(moneyAlt('$20.00'), '$20');
  assert.equal(moneyAlt('$0.20'), '$0.20');
  assert.equal(moneyAlt('$1,000.00'), '$1,000');
  // Exact decimal expansion, half-even on the exact binary value.
  assert.equal(formatFixed2(0.125), '0.12');
  assert.equal(formatFixed2(0.375), '0.38');
  assert.equal(formatFixed2(2.675), '2.67');
  assert.equal(formatFixed2(-1234.5), '-1,234.50');
  assert.equal(formatFixed2(1234567.891), '1,234,567.89');
  // '{:,.2f}'.format(1e98) as Python prints it, grouped.
  assert.equal(
    formatFixed2(1e98),
    '99,999,999,999,999,999,769,037,024,514,370,800,696,612,547,992,403,838,920,556,863,966,097,586,548,129,676,477,911,932,478,685,184.00',
  );
  assert.equal(formatFixed2(1e21), '1,000,000,000,000,000,000,000.00');
  assert.equal(responseAsMoney('$4.'), '$4.00');
  // The double nearest 1e98 lies just below it, so Python prints 98 integer digits (not 99).
  assert.equal(responseAsMoney('1' + '0'.repeat(98)), `$${formatFixed2(1e98)}`);
  assert.equal(formatFixed2(1e98).replace(/,/g, '').length, 98 + 3);
  assert.equal(responseAsMoney('inf'), '$inf');
  assert.equal(responseAsMoney('-inf'), '$-inf');
  assert.equal(responseAsMoney('NaN'), '$nan');
  assert.equal(responseAsMoney('$ 12'), '$12.00');
  assert.equal(responseAsMoney('It is $5.'), 'It is $5.');
});

// Column kinds of the paper's files; every other column is text.
const FLOATS = new Set([
  'direct_logprob', 'meta_logprob', 'kl_divergence', 'spearman_r_all', 'spearman_p_all', 'spearman_r_top100', 'spearman_p_top100',
  'generated_response_sum_logprob', 'mc_response_sum_logprob', 'direct_sum_logprob_good_sentence', 'direct_sum_logprob_bad_sentence',
  'meta_sum_logprob_good_first_1', 'meta_sum_logprob_good_first_2', 'meta_sum_logprob_bad_first_1', 'meta_sum_logprob_bad_first_2',
]);
const FLOAT_LISTS = new Set(['mc_answer_logprobs']);

function reformat(column: string, text: string): Cell {
  if (text === '') return null;
  if (FLOATS.has(column)) return floatCell(Number(text));
  if (FLOAT_LISTS.has(column)) return pyFloatList(text.slice(1, -1).split(', ').map(Number));
  if (text === 'True' || text === 'False') return boolCell(text === 'True');
  return text;
}

for (const file of ['lambada/pythia-1b-deduped.csv', 'digit_mat/OLMo-7B_step10000-tokens44B.csv', 'blimp/gemma-2b.csv', 'dgl/Llama-2-7b-hf.csv']) {
  test(`re-emitting ${file} from its parsed values reproduces the file byte for byte`, () => {
    const { text, records } = paperCsv(file);
    const [header, ...body] = records as [string[], ...string[][]];
    const rows = body.map((cells) => Object.fromEntries(header.map((h, i) => [h, reformat(h, cells[i]!)])));
    const out = toCsv(header, rows);
    if (out !== text) {
      const a = out.split('\n');
      const b = text.split('\n');
      const i = a.findIndex((line, k) => line !== b[k]);
      assert.fail(`first difference at line ${i + 1}:\n ours:  ${a[i]}\n paper: ${b[i]}`);
    }
  });
}
