// Python's whitespace, checked code point by code point against a table Python itself produced:
// `[c for c in range(sys.maxunicode + 1) if chr(c).isspace()]` (CPython 3.11). The table is written
// out here so the test needs no Python.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanResponse } from '../../src/tasks/crt.js';
import { moneyText, parsePyFloat } from '../../src/tasks/money.js';
import { asciiDigits, pyFloatStrip, pyIsSpace, pySplit, pyStrip } from '../../src/tasks/py-text.js';

const PYTHON_ISSPACE = [
  0x0009, 0x000a, 0x000b, 0x000c, 0x000d, 0x001c, 0x001d, 0x001e, 0x001f, 0x0020, 0x0085, 0x00a0, 0x1680, 0x2000,
  0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];
// float() fails on these four although str.isspace() is true for them (CPython strips C's isspace only).
const FLOAT_REJECTS = [0x1c, 0x1d, 0x1e, 0x1f];
// JavaScript's trim() removes U+FEFF; Python keeps it. U+180E and U+200B are near misses in neither set.
const NOT_SPACE = [0x0000, 0x0008, 0x000e, 0x001b, 0x0021, 0x007f, 0x0084, 0x0086, 0x00a1, 0x180e, 0x200b, 0x200c, 0x2027, 0x202a, 0x2060, 0xfeff];

test('isspace: exactly the code points Python lists, over the whole Unicode range', () => {
  const expected = new Set(PYTHON_ISSPACE);
  const found: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not characters
    if (pyIsSpace(String.fromCodePoint(cp))) found.push(cp);
  }
  assert.deepEqual(found, [...expected]);
  assert.equal(pyIsSpace('  '), false); // one character only
});

test('strip removes every Python whitespace at both ends and nothing else', () => {
  for (const cp of PYTHON_ISSPACE) {
    const w = String.fromCodePoint(cp);
    assert.equal(pyStrip(`${w}${w}a${w}b${w}`), `a${w}b`, `U+${cp.toString(16)}`);
  }
  for (const cp of NOT_SPACE) {
    const c = String.fromCodePoint(cp);
    assert.equal(pyStrip(` ${c}a${c} `), `${c}a${c}`, `U+${cp.toString(16)} kept`);
  }
  assert.equal(pyStrip(PYTHON_ISSPACE.map((c) => String.fromCodePoint(c)).join('')), '');
});

test('split() separates on runs of every Python whitespace, never on the others', () => {
  for (const cp of PYTHON_ISSPACE) {
    const w = String.fromCodePoint(cp);
    assert.deepEqual(pySplit(`${w}a${w}${w}b${w}`), ['a', 'b'], `U+${cp.toString(16)}`);
  }
  for (const cp of NOT_SPACE) {
    const c = String.fromCodePoint(cp);
    assert.deepEqual(pySplit(`a${c}b c`), [`a${c}b`, 'c'], `U+${cp.toString(16)}`);
  }
  assert.deepEqual(pySplit(''), []);
});

test("float() skips Python's whitespace less \\x1c-\\x1f, and reads Unicode decimal digits", () => {
  for (const cp of PYTHON_ISSPACE) {
    const w = String.fromCodePoint(cp);
    const expected = FLOAT_REJECTS.includes(cp) ? null : 12.5;
    assert.equal(parsePyFloat(`${w}12.5${w}`), expected, `U+${cp.toString(16)}`);
    assert.equal(pyFloatStrip(`${w}x${w}`), FLOAT_REJECTS.includes(cp) ? `${w}x${w}` : 'x');
  }
  for (const cp of NOT_SPACE) assert.equal(parsePyFloat(`${String.fromCodePoint(cp)}1`), null, `U+${cp.toString(16)}`);
  assert.equal(parsePyFloat('\u0663\u0660'), 30); // Arabic-Indic digits, as float('٣٠')
  assert.equal(parsePyFloat('\u{1d7d8}.\u{1d7da}'), 0.2); // double-struck 0 and 2: the 2nd of five adjacent runs
  assert.equal(asciiDigits('a\u0969'), 'a3');
});

test('crt cleaning strips as Python does (values from the paper code run in CPython)', () => {
  // A generation ending in \x1e: JavaScript's trim() kept it, so it was no number and no money.
  assert.equal(cleanResponse(' 12\x1e'), '$12.00');
  assert.equal(cleanResponse('\x1c$5\x1f'), '$5.00');
  assert.equal(cleanResponse('\u2028 40 \u3000'), '$40.00');
  assert.equal(cleanResponse(' 7\x85'), '$7.00');
  assert.equal(cleanResponse('\ufeff7'), '\ufeff7'); // Python keeps U+FEFF, so it is no number
  assert.equal(cleanResponse('\u0663\u0660'), '$30.00');
  assert.equal(cleanResponse(' $ 5'), '$5.00');
  // The stimuli: only a `$` at the very start is dropped (`num.startswith("$")`).
  assert.throws(() => moneyText(' $5'), /not a number/);
  assert.equal(moneyText('$5'), '$5.00');
});
