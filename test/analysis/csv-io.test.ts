import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dedupHeader, formatCell, normaliseBooleans, parseBool, parseCsv, parseNum, toCsv } from '../../src/analysis/csv-io.js';

test('booleans: Python, spreadsheet and lower-case spellings; empty is null; anything else names the place', () => {
  assert.equal(parseBool('True', 'x'), true);
  assert.equal(parseBool('TRUE', 'x'), true);
  assert.equal(parseBool('false', 'x'), false);
  assert.equal(parseBool('FALSE', 'x'), false);
  assert.equal(parseBool('', 'x'), null);
  assert.throws(() => parseBool('yes', 'f.csv row 3 column c'), /f\.csv row 3 column c: expected True or False, found "yes"/);
});

test('numbers: rounded spreadsheet values, exponents, inf and nan', () => {
  assert.equal(parseNum('-1.248201966', 'x'), -1.248201966);
  assert.equal(parseNum('1e-5', 'x'), 1e-5);
  assert.equal(parseNum('-inf', 'x'), -Infinity);
  assert.equal(parseNum('inf', 'x'), Infinity);
  assert.ok(Number.isNaN(parseNum('nan', 'x')));
  assert.equal(parseNum('', 'x'), null);
  assert.throws(() => parseNum('abc', 'here'), /here: expected a number/);
});

test('repeated headers are renamed as pandas read_csv renames them, and reported', () => {
  const t = parseCsv('a,generated_response_naive_label,generated_response_naive_label\n1,x,y\n', 'f.csv');
  assert.deepEqual(t.columns, ['a', 'generated_response_naive_label', 'generated_response_naive_label.1']);
  assert.equal(t.rows[0]!['generated_response_naive_label.1'], 'y');
  assert.deepEqual(t.renamed, ['generated_response_naive_label → generated_response_naive_label.1']);
  // pandas' dedup_names: x, y, x, x → x, y, x.1, x.2; a taken suffix is suffixed again.
  assert.deepEqual(parseCsv('x,y,x,x\n1,2,3,4\n', 'g.csv').columns, ['x', 'y', 'x.1', 'x.2']);
  assert.deepEqual(dedupHeader(['a', 'a', 'a.1']), ['a', 'a.1', 'a.1.1']);
  assert.deepEqual(dedupHeader(['a.1', 'a', 'a']), ['a.1', 'a', 'a.1.1']);
  assert.equal(parseCsv('a,b\n1,2\n', 'h.csv').renamed, undefined);
});

test('a ragged row is an error that names the file and row', () => {
  assert.throws(() => parseCsv('a,b\n1,2\n3\n', 'bad.csv'), /bad\.csv: row 3 has 1 fields but the header has 2/);
});

test('quoted fields with newlines and commas survive a round trip', () => {
  const t = parseCsv('id,text\n1,"3]\n[4] ["\n2,"a, b"\n', 't.csv');
  assert.equal(t.rows[0]!.text, '3]\n[4] [');
  const again = parseCsv(toCsv(t), 'again.csv');
  assert.deepEqual(again.rows, t.rows);
  assert.match(toCsv(t), /"3\]\n\[4\] \["/);
});

test('writing: True/False, inf/-inf, NaN and null empty', () => {
  assert.equal(formatCell(true), 'True');
  assert.equal(formatCell(false), 'False');
  assert.equal(formatCell(Infinity), 'inf');
  assert.equal(formatCell(-Infinity), '-inf');
  assert.equal(formatCell(NaN), '');
  assert.equal(formatCell(null), '');
  assert.equal(formatCell(0.1 + 0.2), '0.30000000000000004');
});

test('spreadsheet booleans are rewritten as Python\'s, other columns untouched', () => {
  const t = parseCsv('b,s,n\nTRUE,TRUE,1\nFALSE,maybe,2\n,x,3\n', 't.csv');
  normaliseBooleans(t);
  assert.deepEqual(t.rows.map((r) => r.b), [true, false, '']);
  assert.deepEqual(t.rows.map((r) => r.s), ['TRUE', 'maybe', 'x']);
  assert.equal(toCsv(t).split('\n')[1], 'True,TRUE,1');
});
