// A linear pass over a data.pkl before it is unpickled: every opcode must be one a torch.save
// state dict can use, every length must fit the bytes left, and the stack, the MARK nesting,
// the memo and the opcode count stay under LIMITS. The pass allocates nothing that grows with
// what the pickle claims, so a DUP flood, a deep nest or a memo flood is refused in O(bytes)
// before pickleparser builds anything. Globals are checked by name here as well: a module
// outside torch / collections / numpy / _codecs (os.system, builtins.eval, subprocess.Popen…)
// is refused; within those, only the readers' registered names do anything (torch-pickle.ts).
// Nothing in the file is ever executed either way.

import { LIMITS } from './limits.js';

export type PickleLimits = Readonly<Record<'pickleOps' | 'pickleStack' | 'pickleMarks' | 'pickleMemo', number>>;

export class PickleRefused extends Error {
  constructor(
    readonly kind: 'opcode' | 'global' | 'name' | 'limit' | 'malformed',
    message: string,
  ) {
    super(message);
    this.name = 'PickleRefused';
  }
}

// Stack effect of the argument-less opcodes the readers accept (MARK-consuming ones apart).
const EFFECT: Readonly<Record<number, number>> = {
  0x2e: 0, // STOP
  0x30: -1, // POP
  0x32: 1, // DUP
  0x4e: 1, // NONE
  0x88: 1, // NEWTRUE
  0x89: 1, // NEWFALSE
  0x29: 1, // EMPTY_TUPLE
  0x5d: 1, // EMPTY_LIST
  0x7d: 1, // EMPTY_DICT
  0x85: 0, // TUPLE1
  0x86: -1, // TUPLE2
  0x87: -2, // TUPLE3
  0x61: -1, // APPEND
  0x73: -2, // SETITEM
  0x51: 0, // BINPERSID
  0x52: -1, // REDUCE
  0x62: -1, // BUILD
  0x94: 0, // MEMOIZE
};
// Opcodes that pop back to the last MARK and push one item (TUPLE, LIST) or none (APPENDS,
// SETITEMS, POP_MARK).
const TO_MARK_PUSH = new Set([0x74, 0x6c]);
const TO_MARK = new Set([0x65, 0x75, 0x31]);
// Fixed-size arguments: opcode → bytes; push 1 unless noted in NO_PUSH.
const FIXED: Readonly<Record<number, number>> = {
  0x80: 1, // PROTO
  0x95: 8, // FRAME
  0x4a: 4, // BININT
  0x4b: 1, // BININT1
  0x4d: 2, // BININT2
  0x47: 8, // BINFLOAT
  0x71: 1, // BINPUT
  0x72: 4, // LONG_BINPUT
  0x68: 1, // BINGET
  0x6a: 4, // LONG_BINGET
};
const NO_PUSH = new Set([0x80, 0x95, 0x71, 0x72]);
// Length-prefixed arguments: opcode → width of the length (little-endian); each pushes 1.
const COUNTED: Readonly<Record<number, number>> = {
  0x8a: 1, // LONG1
  0x8c: 1, // SHORT_BINUNICODE
  0x58: 4, // BINUNICODE
  0x8d: 8, // BINUNICODE8
  0x55: 1, // SHORT_BINSTRING
  0x54: 4, // BINSTRING
  0x43: 1, // SHORT_BINBYTES
  0x42: 4, // BINBYTES
  0x8e: 8, // BINBYTES8
};
const STRINGS = new Set([0x8c, 0x58, 0x8d, 0x55, 0x54]);

const REFUSED_NAMES: Readonly<Record<number, string>> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x50: 'PERSID', 0x64: 'DICT',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x8b: 'LONG4',
};

/** Modules whose globals may appear (as inert placeholders unless the reader registered them). */
const MODULES = /^(torch(\.[A-Za-z0-9_.]+)?|collections|numpy(\.[A-Za-z0-9_.]+)?|_codecs)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that would reach JavaScript object internals through pickleparser's BUILD. */
const GADGETS = new Set(['__proto__', 'constructor', 'prototype', '__setstate__', '__setnewargs_ex__', '__defineGetter__', '__defineSetter__']);

/** Throw PickleRefused unless `pkl` passes; see the file comment. */
export function scanPickle(pkl: Uint8Array, limits: PickleLimits = LIMITS): void {
  const n = pkl.length;
  let p = 0;
  let ops = 0;
  let depth = 0;
  let total = 0; // items on the stack, every MARK level together
  const marks: number[] = [];
  const memo = new Set<number>();
  const need = (k: number, what: string): void => {
    if (p + k > n) throw new PickleRefused('malformed', `${what} at byte ${p} runs past the end of the pickle`);
  };
  const uint = (at: number, width: number): number => {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + pkl[at + i]!;
    return v;
  };
  const line = (): string => {
    const end = pkl.indexOf(0x0a, p);
    if (end < 0 || end - p > 256) throw new PickleRefused('malformed', `a GLOBAL name at byte ${p} is unterminated or too long`);
    const s = Buffer.from(pkl.subarray(p, end)).toString('latin1');
    p = end + 1;
    return s;
  };
  const push = (k: number): void => {
    depth += k;
    total += k;
    if (depth < 0) throw new PickleRefused('malformed', `stack underflow at byte ${p}`);
    if (total > limits.pickleStack) throw new PickleRefused('limit', `the unpickler's stack would pass ${limits.pickleStack} items`);
  };
  const popMark = (): void => {
    const prev = marks.pop();
    if (prev === undefined) throw new PickleRefused('malformed', `an opcode at byte ${p} needs a MARK that is not there`);
    total -= depth;
    depth = prev;
  };
  while (p < n) {
    if (++ops > limits.pickleOps) throw new PickleRefused('limit', `more than ${limits.pickleOps} opcodes`);
    const op = pkl[p++]!;
    const effect = EFFECT[op];
    if (effect !== undefined) {
      push(effect);
      if (op === 0x2e) return; // STOP
      continue;
    }
    if (op === 0x28) { // MARK
      if (marks.length >= limits.pickleMarks) throw new PickleRefused('limit', `MARKs nested deeper than ${limits.pickleMarks}`);
      marks.push(depth);
      depth = 0;
      continue;
    }
    if (TO_MARK_PUSH.has(op)) { popMark(); push(1); continue; }
    if (TO_MARK.has(op)) { popMark(); continue; }
    const fixed = FIXED[op];
    if (fixed !== undefined) {
      need(fixed, 'an argument');
      if (op === 0x71 || op === 0x72) {
        memo.add(uint(p, fixed));
        if (memo.size > limits.pickleMemo) throw new PickleRefused('limit', `more than ${limits.pickleMemo} memo entries`);
      }
      if (op === 0x80 && pkl[p]! > 5) throw new PickleRefused('malformed', `unknown pickle protocol ${pkl[p]}`);
      p += fixed;
      if (!NO_PUSH.has(op)) push(1);
      continue;
    }
    const width = COUNTED[op];
    if (width !== undefined) {
      need(width, 'a length');
      const len = uint(p, width);
      p += width;
      need(len, 'a string or number');
      if (STRINGS.has(op) && len <= 32) {
        const s = Buffer.from(pkl.subarray(p, p + len)).toString(op === 0x55 || op === 0x54 ? 'latin1' : 'utf8');
        if (GADGETS.has(s)) throw new PickleRefused('name', `the pickle holds the key ${JSON.stringify(s)}, which no state dict uses`);
      }
      p += len;
      push(1);
      continue;
    }
    if (op === 0x63) { // GLOBAL module\nname\n
      const module = line();
      const name = line();
      if (!MODULES.test(module) || !NAME.test(name) || GADGETS.has(name)) {
        throw new PickleRefused('global', `it refers to ${JSON.stringify(`${module}.${name}`)}, which a torch state dict never does`);
      }
      push(1);
      continue;
    }
    const refused = REFUSED_NAMES[op];
    throw new PickleRefused('opcode', refused
      ? `opcode ${refused} at byte ${p - 1} is not one a torch state dict uses`
      : `unknown opcode 0x${op.toString(16)} at byte ${p - 1}`);
  }
  throw new PickleRefused('malformed', 'the pickle has no STOP');
}
