// Hostile data.pkl files (issue 17, items 6 and 12): nothing in a pickle ever runs — os.system,
// builtins.eval/exec, subprocess, INST/OBJ/NEWOBJ/STACK_GLOBAL, __proto__ gadgets are refused
// naming the file, nothing is created, no prototype is touched — and floods of DUP, MARK, memo
// entries or opcodes are refused before the unpickler allocates them.

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { scanPickle } from '../../../src/convert/readers/pickle-scan.js';
import { f32Bytes, statePickle } from '../readers/torch-fixture.js';
import { refused, temp } from './helpers.js';

const STORAGES = [{ key: '0', dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3]) }];
const TENSORS = [{ name: 'w', storage: '0', offset: 0, size: [3], stride: [1] }];

const str = (s: string): number[] => { const b = Buffer.from(s); return [0x58, ...u32(b.length), ...b]; };
const u32 = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
const line = (s: string): number[] => [...Buffer.from(`${s}\n`, 'latin1')];
const global = (m: string, n: string): number[] => [0x63, ...line(m), ...line(n)];

function zipWith(dir: string, pkl: number[] | Uint8Array): void {
  writeFileSync(join(dir, 'pytorch_model.bin'), zipSync({
    'archive/data.pkl': [Uint8Array.from(pkl), { level: 0 }],
    'archive/data/0': [STORAGES[0]!.bytes, { level: 0 }],
  }));
}

test('pickle payloads are refused naming the file; none of them runs', async (t) => {
  const dir = temp(t);
  const marker = join(dir, 'pwned');
  const cmd = str(`touch ${marker}`);
  const payloads: [string, number[], RegExp][] = [
    ['os.system via GLOBAL+REDUCE', [0x80, 2, ...global('os', 'system'), 0x28, ...cmd, 0x74, 0x52, 0x2e], /"os\.system"/],
    ['posix.system', [0x80, 2, ...global('posix', 'system'), ...cmd, 0x85, 0x52, 0x2e], /"posix\.system"/],
    ['builtins.eval', [0x80, 2, ...global('builtins', 'eval'), ...str('1+1'), 0x85, 0x52, 0x2e], /"builtins\.eval"/],
    ['builtins.exec', [0x80, 2, ...global('builtins', 'exec'), ...str('import os'), 0x85, 0x52, 0x2e], /"builtins\.exec"/],
    ['__builtin__.eval (protocol 0 spelling)', [0x80, 2, ...global('__builtin__', 'eval'), ...str('1'), 0x85, 0x52, 0x2e], /__builtin__/],
    ['subprocess.Popen', [0x80, 2, ...global('subprocess', 'Popen'), ...cmd, 0x85, 0x52, 0x2e], /"subprocess\.Popen"/],
    ['INST', [0x80, 2, 0x28, ...cmd, 0x69, ...line('os'), ...line('system'), 0x2e], /INST/],
    ['OBJ', [0x80, 2, 0x28, ...global('torch', 'FloatStorage'), ...cmd, 0x6f, 0x2e], /OBJ/],
    ['NEWOBJ', [0x80, 2, ...global('torch', 'FloatStorage'), 0x29, 0x81, 0x2e], /NEWOBJ/],
    ['STACK_GLOBAL', [0x80, 4, ...str('os'), ...str('system'), 0x93, ...cmd, 0x85, 0x52, 0x2e], /STACK_GLOBAL/],
    ['a torch global with a dunder name', [0x80, 2, ...global('torch', '__proto__'), 0x2e], /__proto__/],
    ['__proto__ key through BUILD', [0x80, 2, 0x7d, 0x7d, ...str('__proto__'), 0x7d, ...str('polluted'), 0x88, 0x73, 0x73, 0x62, 0x2e], /__proto__/],
    ['DICT opcode (sets object properties)', [0x80, 2, 0x28, ...str('a'), 0x88, 0x64, 0x2e], /DICT/],
  ];
  for (const [what, pkl, re] of payloads) {
    zipWith(dir, pkl);
    await t.test(what, async () => {
      await refused(openCheckpoint(dir), 'bad-header', 'pytorch_model.bin', re);
    });
  }
  assert.equal(existsSync(marker), false, 'a command ran');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was polluted');
});

test('a DUP flood, deep MARKs, a memo flood and too many opcodes are refused before unpickling', async (t) => {
  const dir = temp(t);
  // 0.2 MiB of DUP under an open list: the unpickler would push 200k references, then spread them.
  const dups = [0x80, 2, 0x5d, 0x28, ...new Array<number>(200_000).fill(0x32), 0x65, 0x2e];
  zipWith(dir, dups);
  await refused(openCheckpoint(dir), 'too-large', 'pytorch_model.bin', /stack/);
  zipWith(dir, [0x80, 2, ...new Array<number>(5000).fill(0x28), 0x4e, 0x2e]);
  await refused(openCheckpoint(dir), 'too-large', 'pytorch_model.bin', /MARK/);
  // The same limits apply to the scanner used alone, with small limits for the memo and opcodes.
  const small = { pickleOps: 100, pickleStack: 1000, pickleMarks: 10, pickleMemo: 5 };
  const memo = [0x80, 2, 0x4e];
  for (let i = 0; i < 10; i++) memo.push(0x71, i);
  assert.throws(() => scanPickle(Uint8Array.from([...memo, 0x2e]), small), /memo/);
  assert.throws(() => scanPickle(Uint8Array.from([0x80, 2, ...new Array<number>(200).fill(0x4e), 0x2e]), small), /opcodes/);
  // Malformed: a length past the end, an underflow, no STOP.
  assert.throws(() => scanPickle(Uint8Array.from([0x80, 2, 0x58, 255, 255, 255, 127])), /past the end/);
  assert.throws(() => scanPickle(Uint8Array.from([0x80, 2, 0x30, 0x2e])), /underflow/);
  assert.throws(() => scanPickle(Uint8Array.from([0x80, 2, 0x4e])), /no STOP/);
  // The fixtures' state dict passes.
  scanPickle(statePickle(STORAGES, TENSORS));
});

test('persistent ids that are deep shared structures are described briefly, not expanded', async (t) => {
  const dir = temp(t);
  // x = [None]; then 40 times x = (x, x): a DAG whose JSON would be 2^40 long.
  const pkl = [0x80, 2, 0x4e, 0x85];
  for (let i = 0; i < 40; i++) pkl.push(0x32, 0x86); // DUP, TUPLE2
  pkl.push(0x51, 0x2e); // BINPERSID, STOP
  zipWith(dir, pkl);
  const start = Date.now();
  await refused(openCheckpoint(dir), 'bad-header', 'pytorch_model.bin', /persistent id/);
  assert.ok(Date.now() - start < 10_000);
});
