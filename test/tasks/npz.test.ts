// The digit-matrix npz reader on archives built here byte by byte (zip via fflate, .npy headers and
// pickles written by hand), plus — when python3 with numpy is on this machine — an archive that
// numpy itself wrote from problems.json, read back and compared.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { parseNpy, parseNpz } from '../../src/tasks/npz.js';
import { parseProblemsNpz, readDigitMatProblems } from '../../src/tasks/stimuli.js';
import { digitMatPrompt } from '../../src/tasks/digit-mat.js';
import { stimulus } from './helpers.js';

// ---- .npy writer -------------------------------------------------------------------------------
function npy(descr: string, shape: number[], body: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

function int64Bytes(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
  return b;
}

// ---- pickle writer (protocol 3 opcodes) -------------------------------------------------------
type Op = number[];
const enc = (s: string) => [...new TextEncoder().encode(s)];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const P = {
  proto: (): Op => [0x80, 3],
  global: (mod: string, name: string): Op => [0x63, ...enc(`${mod}\n${name}\n`)],
  int: (n: number): Op => (n >= 0 && n < 256 ? [0x4b, n] : [0x4a, ...u32(n >>> 0)]),
  str: (s: string): Op => {
    const b = enc(s);
    return [0x58, ...u32(b.length), ...b];
  },
  bytes: (b: Uint8Array): Op => [0x42, ...u32(b.length), ...b],
  mark: (): Op => [0x28],
  tuple: (): Op => [0x74],
  tuple1: (): Op => [0x85],
  tuple3: (): Op => [0x87],
  none: (): Op => [0x4e],
  bool: (v: boolean): Op => [v ? 0x88 : 0x89],
  emptyDict: (): Op => [0x7d],
  setitems: (): Op => [0x75],
  emptyList: (): Op => [0x5d],
  appends: (): Op => [0x65],
  reduce: (): Op => [0x52],
  build: (): Op => [0x62],
  stop: (): Op => [0x2e],
};

function pDtype(kind: string, endian: string): Op {
  return [
    ...P.global('numpy', 'dtype'), ...P.str(kind), ...P.bool(false), ...P.bool(true), ...P.tuple3(), ...P.reduce(),
    ...P.mark(), ...P.int(3), ...P.str(endian), ...P.none(), ...P.none(), ...P.none(), ...P.int(-1), ...P.int(-1), ...P.int(0), ...P.tuple(), ...P.build(),
  ];
}

function pShape(shape: number[]): Op {
  return [...P.mark(), ...shape.flatMap((n) => P.int(n)), ...P.tuple()];
}

/** A pickled ndarray: int64 data as bytes, or object data as a list of already-pickled items. */
function pArray(shape: number[], data: { int64: number[] } | { objects: Op[] }): Op {
  const head = [...P.global('numpy.core.multiarray', '_reconstruct'), ...P.global('numpy', 'ndarray'), ...P.int(0), ...P.tuple1(), ...P.bytes(Uint8Array.from(enc('b'))), ...P.tuple3(), ...P.reduce()];
  const payload = 'int64' in data
    ? [...pDtype('i8', '<'), ...P.bool(false), ...P.bytes(int64Bytes(data.int64))]
    : [...pDtype('O8', '|'), ...P.bool(false), ...P.emptyList(), ...P.mark(), ...data.objects.flat(), ...P.appends()];
  return [...head, ...P.mark(), ...P.int(1), ...pShape(shape), ...payload, ...P.tuple(), ...P.build()];
}

function pList(items: Op[]): Op {
  return [...P.emptyList(), ...(items.length ? [...P.mark(), ...items.flat(), ...P.appends()] : [])];
}

function pDict(entries: [string, Op][]): Op {
  return [...P.emptyDict(), ...P.mark(), ...entries.flatMap(([k, v]) => [...P.str(k), ...v]), ...P.setitems()];
}

test('parseNpy reads numeric arrays (little and big endian, bool, float)', () => {
  const ints = parseNpy(npy('<i8', [2, 3], int64Bytes([1, 2, 3, 4, 5, -1])));
  assert.deepEqual(ints.shape, [2, 3]);
  assert.deepEqual(ints.toNested(), [[1, 2, 3], [4, 5, -1]]);
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat64(0, -14.86661148071289, false);
  assert.deepEqual(parseNpy(npy('>f8', [1], be)).data, [-14.86661148071289]);
  assert.deepEqual(parseNpy(npy('|b1', [3], Uint8Array.from([1, 0, 1]))).data, [true, false, true]);
  assert.throws(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), /not a \.npy file/);
  assert.throws(() => parseNpy(npy('<c16', [1], new Uint8Array(16))), /unsupported dtype <c16/);
});

test('parseProblemsNpz reads a hand-built all_problems.npz (Webb et al. layout)', () => {
  // Type 1: fixed-width int64 arrays. prob [1,3,3,1], answer_choices [1,8,1], correct_ind [1].
  const grid = [6, 6, 6, 1, 1, 1, 3, 3, 3];
  const rowConstant = pDict([
    ['prob', pArray([1, 3, 3, 1], { int64: grid })],
    ['answer_choices', pArray([1, 8, 1], { int64: [9, 7, 0, 3, 2, 6, 1, 5] })],
    ['correct_ind', pArray([1], { int64: [3] })],
    ['perm_invariant', P.bool(false)],
  ]);
  // Type 2: ragged cells as object arrays of lists; numpy scalars for correct_ind and perm_invariant.
  const list = (xs: number[]) => pList(xs.map((x) => P.int(x)));
  const cells = [[6], [1], [6, 1], [4], [9], [4, 9], [6, 4], [1, 9], [6, 4, 1, 9]];
  const choices = [[1], [6, 4, 1], [6, 4], [4, 1, 9], [4, 9], [], [6, 9], [6, 4, 1, 9]];
  const setUnion = pDict([
    ['prob', pArray([1, 3, 3], { objects: cells.map(list) })],
    ['answer_choices', pArray([1, 8], { objects: choices.map(list) })],
    ['correct_ind', pList([scalarOp('i8', int64Bytes([7]))])],
    ['perm_invariant', scalarOp('b1', Uint8Array.from([1]))],
  ]);
  const pickle = Uint8Array.from([...P.proto(), ...pArray([], { objects: [pDict([['row_constant', rowConstant], ['c3_set_union', setUnion]])] }), ...P.stop()]);
  const archive = zipSync({ 'all_problems.npy': npy('|O', [], pickle), 'other.npy': npy('<i8', [1], int64Bytes([42])) });

  const arrays = parseNpz(archive);
  assert.deepEqual([...arrays.keys()].sort(), ['all_problems', 'other']);
  assert.deepEqual(arrays.get('other')!.data, [42]);

  const types = parseProblemsNpz(archive);
  assert.deepEqual(types.map((t) => [t.name, t.perm_invariant, t.problems.length]), [['row_constant', false, 1], ['c3_set_union', true, 1]]);
  assert.equal(digitMatPrompt(types[0]!.problems[0]!.grid), '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [');
  assert.deepEqual(types[0]!.problems[0]!.answer_choices, [[9], [7], [0], [3], [2], [6], [1], [5]]);
  assert.equal(types[0]!.problems[0]!.correct_ind, 3);
  assert.deepEqual(types[1]!.problems[0]!.grid[2], [[6, 4], [1, 9], [6, 4, 1, 9]]);
  assert.deepEqual(types[1]!.problems[0]!.answer_choices[5], []);
  assert.equal(types[1]!.problems[0]!.correct_ind, 7);
  assert.throws(() => parseProblemsNpz(zipSync({ 'x.npy': npy('<i8', [1], int64Bytes([1])) })), /no array "all_problems"/);
});

function scalarOp(kind: string, raw: Uint8Array): Op {
  return [...P.global('numpy.core.multiarray', 'scalar'), ...P.mark(), ...pDtype(kind, kind === 'b1' ? '|' : '<'), ...P.bytes(raw), ...P.tuple(), ...P.reduce()];
}

function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore', timeout: 20000 });
    return true;
  } catch {
    return false;
  }
}

// Without numpy the test is reported as skipped, with the reason and the fix, never as a pass.
const NO_NUMPY = hasNumpy() ? false : 'python3 with numpy is not available (apt-get install -y python3-numpy): only the hand-built archives were checked';

test('an npz written by numpy reads back equal to problems.json', { skip: NO_NUMPY }, () => {
  const json = readDigitMatProblems(stimulus('digit_mat'));
  const dir = mkdtempSync(path.join(tmpdir(), 'npz-'));
  const out = path.join(dir, 'all_problems.npz');
  // Webb et al.'s layout: fixed-width types as int arrays, ragged ones as object arrays.
  const script = `
import json, sys, numpy as np
d = json.load(open(sys.argv[1]))
def arr(x, depth):
    # x: nested lists whose leaves at depth are digit lists; int array when uniform, else object array.
    flat = x
    for _ in range(depth - 1):
        flat = [c for row in flat for c in row]
    leaves = [c for row in flat for c in row]
    if len(set(len(c) for c in leaves)) == 1:
        return np.array(x, dtype=np.int64)
    a = np.empty((len(x),) + ((3, 3) if depth == 2 else (8,)), dtype=object)
    for idx in np.ndindex(a.shape):
        v = x
        for i in idx: v = v[i]
        a[idx] = list(v)
    return a
allp = {}
for t in d['problem_types'][:3] + d['problem_types'][22:24]:
    ps = t['problems'][:5]
    allp[t['name']] = {'prob': arr([p['grid'] for p in ps], 2), 'answer_choices': arr([p['answer_choices'] for p in ps], 1),
                       'correct_ind': np.array([p['correct_ind'] for p in ps]), 'perm_invariant': np.bool_(t['perm_invariant'])}
np.savez(sys.argv[2], all_problems=allp)
`;
  execFileSync('python3', ['-c', script, stimulus('digit_mat'), out], { timeout: 60000 });
  const types = parseProblemsNpz(new Uint8Array(readFileSync(out)));
  const expected = [...json.slice(0, 3), ...json.slice(22, 24)].map((tp) => ({ ...tp, problems: tp.problems.slice(0, 5) }));
  assert.deepEqual(types, expected);
  // The reader picks the format by content too (stored artifacts have no extension).
  assert.deepEqual(readDigitMatProblems(out), expected);
});

test('the paper\'s all_problems.npz (commit 726e068, pinned by sha256) reads exactly as problems.json', () => {
  const npzPath = path.join(path.dirname(stimulus('digit_mat')), 'all_problems.npz');
  const bytes = readFileSync(npzPath);
  assert.equal(bytes.length, 1_250_079);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), '8ccef408112108fd5994d4cc131a498c68f1cc474be185376616ad3ee37f3362');
  const fromNpz = parseProblemsNpz(new Uint8Array(bytes), npzPath);
  const fromJson = readDigitMatProblems(stimulus('digit_mat'));
  assert.equal(fromNpz.length, 32);
  assert.equal(fromNpz.reduce((n, t) => n + t.problems.length, 0), 3016);
  assert.deepEqual(fromNpz, fromJson);
});
