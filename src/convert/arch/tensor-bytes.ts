// A checkpoint tensor held as its stored bytes, widened to float32 a slice at a time, so
// converting a 1.5 GB BF16 embedding never holds a 3 GB float32 copy. F32 slices are views when
// the bytes are aligned; BF16 widens by a shift, F16 through a 65536-entry table; other dtypes go
// through the reader's own float32 conversion once.

import type { CheckpointReader } from '../readers/types.js';

/** Values per chunk handed to the writer (16 MiB of float32). */
export const CHUNK = 1 << 22;

let halfTable: Float32Array | null = null;

function table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let x = 0; x < 65536; x++) {
      const e = (x >> 10) & 0x1f;
      const m = x & 0x3ff;
      const s = x & 0x8000 ? -1 : 1;
      halfTable[x] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  return halfTable;
}

export interface HeldTensor {
  readonly length: number;
  /** Values [start, start + count) as float32 (a view where possible: do not keep it). */
  slice(start: number, count: number): Float32Array;
}

export async function holdTensor(reader: CheckpointReader, name: string): Promise<HeldTensor> {
  const dtype = reader.info(name).dtype;
  if (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F16') {
    const all = await reader.readF32(name);
    return { length: all.length, slice: (s, n) => all.subarray(s, s + n) };
  }
  let bytes = await reader.readBytes(name);
  const width = dtype === 'F32' ? 4 : 2;
  if (bytes.byteOffset % width !== 0) bytes = bytes.slice();
  if (dtype === 'F32') {
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return { length: all.length, slice: (s, n) => all.subarray(s, s + n) };
  }
  const h = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const bf16 = dtype === 'BF16';
  return {
    length: h.length,
    slice(s, n) {
      const out = new Float32Array(n);
      if (bf16) {
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) u[i] = h[s + i]! << 16;
      } else {
        const t = table();
        for (let i = 0; i < n; i++) out[i] = t[h[s + i]!]!;
      }
      return out;
    },
  };
}

/** Every value of a held range, in chunks of at most CHUNK values. */
export function* chunksOf(t: HeldTensor, start: number, count: number): Generator<Float32Array> {
  for (let at = 0; at < count; at += CHUNK) yield t.slice(start + at, Math.min(CHUNK, count - at));
}
