// Little-endian tensor bytes of any supported dtype → float32. F16 goes through a 65536-entry
// table (exact: every half is a float32); BF16 is the upper half of a float32.

import type { TensorDtype } from './types.js';

let halfTable: Float32Array | undefined;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

/** Convert `bytes` (a whole number of elements of `dtype`) to a new Float32Array. */
export function bytesToF32(bytes: Uint8Array, dtype: TensorDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F16': {
      const t = table();
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
      return out;
    }
    case 'BF16': {
      const n = bytes.byteLength / 2;
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >>> 0;
      return new Float32Array(bits.buffer);
    }
    case 'F64': {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'I64': {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      return out;
    }
    case 'I32': {
      const n = bytes.byteLength / 4;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'I16': {
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    }
    case 'I8': {
      const out = new Float32Array(bytes.byteLength);
      for (let i = 0; i < bytes.byteLength; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL': {
      const out = new Float32Array(bytes.byteLength);
      for (let i = 0; i < bytes.byteLength; i++) out[i] = bytes[i]!;
      return out;
    }
  }
}
