// Test fixtures in torch.save's zip format, written without Python: a protocol-2 pickle of a dict
// of `torch._utils._rebuild_tensor_v2(persistent storage id, offset, size, stride, False,
// OrderedDict())` calls — the opcodes torch emits — plus one stored zip entry per storage.

import { writeFileSync } from 'node:fs';
import { zipSync, type Zippable } from 'fflate';

export type StorageDtype = 'F32' | 'F16' | 'BF16' | 'I64';

const STORAGE_CLASS: Record<StorageDtype, string> = {
  F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', I64: 'LongStorage',
};
const BYTES: Record<StorageDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

export interface FixtureStorage {
  key: string;
  dtype: StorageDtype;
  bytes: Uint8Array;
}

export interface FixtureTensor {
  name: string;
  storage: string; // key
  offset: number;
  size: number[];
  stride: number[];
}

class PickleWriter {
  private parts: number[] = [];
  op(...bytes: number[]): this { this.parts.push(...bytes); return this; }
  unicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.op(0x58, b.length & 255, (b.length >> 8) & 255, (b.length >> 16) & 255, b.length >>> 24);
    this.parts.push(...b);
    return this;
  }
  global(module: string, name: string): this {
    this.op(0x63);
    this.parts.push(...Buffer.from(`${module}\n${name}\n`, 'latin1'));
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 255, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, ...b);
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29);
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

export function statePickle(storages: readonly FixtureStorage[], tensors: readonly FixtureTensor[]): Uint8Array {
  const p = new PickleWriter().op(0x80, 2).op(0x7d).op(0x28); // PROTO 2, EMPTY_DICT, MARK
  for (const t of tensors) {
    const s = storages.find((x) => x.key === t.storage)!;
    p.unicode(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).unicode('storage').global('torch', STORAGE_CLASS[s.dtype]).unicode(s.key).unicode('cpu')
      .int(s.bytes.length / BYTES[s.dtype]).op(0x74).op(0x51); // TUPLE, BINPERSID
    p.int(t.offset).tuple(t.size).tuple(t.stride).op(0x89); // NEWFALSE
    p.global('collections', 'OrderedDict').op(0x29).op(0x52); // EMPTY_TUPLE, REDUCE
    p.op(0x74).op(0x52); // TUPLE (args), REDUCE
  }
  return p.op(0x75).op(0x2e).bytes(); // SETITEMS, STOP
}

/** Write `path` as torch.save would (archive folder named `prefix`, every entry stored). */
export function writeTorchZip(
  path: string,
  storages: readonly FixtureStorage[],
  tensors: readonly FixtureTensor[],
  prefix = 'archive',
  omit: readonly string[] = [], // storage keys left out of the archive (broken fixtures)
): void {
  const files: Zippable = {
    [`${prefix}/data.pkl`]: [statePickle(storages, tensors), { level: 0 }],
    [`${prefix}/byteorder`]: [Buffer.from('little'), { level: 0 }],
  };
  for (const s of storages) if (!omit.includes(s.key)) files[`${prefix}/data/${s.key}`] = [s.bytes, { level: 0 }];
  files[`${prefix}/version`] = [Buffer.from('3\n'), { level: 0 }];
  writeFileSync(path, zipSync(files));
}

/** Contiguous tensors, one storage each: the common case. */
export function writeTorchStateDict(path: string, tensors: readonly { name: string; shape: number[]; data: Float32Array }[]): void {
  const storages: FixtureStorage[] = [];
  const refs: FixtureTensor[] = [];
  tensors.forEach((t, i) => {
    storages.push({ key: String(i), dtype: 'F32', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
    refs.push({ name: t.name, storage: String(i), offset: 0, size: t.shape, stride: rowMajorStrides(t.shape) });
  });
  writeTorchZip(path, storages, refs);
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { out[i] = s; s *= shape[i]!; }
  return out;
}

export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** float32 values whose upper 16 bits are the bf16 encoding (values must be exactly bf16). */
export function bf16Bytes(values: readonly number[]): Uint8Array {
  const u = new Uint32Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(values.length * 2);
  u.forEach((bits, i) => { out[2 * i] = (bits >>> 16) & 255; out[2 * i + 1] = bits >>> 24; });
  return out;
}

/** IEEE half encoding of values exactly representable in half precision (normal or zero). */
export function f16Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    let h = 0;
    if (v !== 0) {
      const sign = v < 0 ? 0x8000 : 0;
      const a = Math.abs(v);
      const e = Math.floor(Math.log2(a));
      const frac = Math.round((a / 2 ** e - 1) * 1024);
      h = sign | ((e + 15) << 10) | frac;
    }
    out[2 * i] = h & 255;
    out[2 * i + 1] = h >> 8;
  });
  return out;
}

/**
 * A zip in the zip64 layout (as torch.save writes archives over 4 GiB): sizes and offsets
 * saturated in the headers and given in zip64 extra fields, a zip64 end record and locator.
 * Entries are stored; CRCs are left 0 (the readers do not check them).
 */
export function zip64Bytes(entries: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Buffer[] = [];
  let offset = 0;
  const central: Buffer[] = [];
  const push = (b: Buffer): void => { parts.push(b); offset += b.length; };
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30 + name.length + 20);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(20, 28);
    name.copy(local, 30);
    local.writeUInt16LE(1, 30 + name.length);
    local.writeUInt16LE(16, 32 + name.length);
    local.writeBigUInt64LE(BigInt(e.data.length), 34 + name.length);
    local.writeBigUInt64LE(BigInt(e.data.length), 42 + name.length);
    const at = offset;
    push(local);
    push(Buffer.from(e.data));
    const cd = Buffer.alloc(46 + name.length + 28);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt32LE(0xffffffff, 20);
    cd.writeUInt32LE(0xffffffff, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(28, 30);
    cd.writeUInt32LE(0xffffffff, 42);
    name.copy(cd, 46);
    const x = 46 + name.length;
    cd.writeUInt16LE(1, x);
    cd.writeUInt16LE(24, x + 2);
    cd.writeBigUInt64LE(BigInt(e.data.length), x + 4);
    cd.writeBigUInt64LE(BigInt(e.data.length), x + 12);
    cd.writeBigUInt64LE(BigInt(at), x + 20);
    central.push(cd);
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart;
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(entries.length), 24);
  z64.writeBigUInt64LE(BigInt(entries.length), 32);
  z64.writeBigUInt64LE(BigInt(cdSize), 40);
  z64.writeBigUInt64LE(BigInt(cdStart), 48);
  const z64At = offset;
  push(z64);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(z64At), 8);
  loc.writeUInt32LE(1, 16);
  push(loc);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  push(eocd);
  return Buffer.concat(parts);
}
