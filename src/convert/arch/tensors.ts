// Checkpoint tensor → canonical weight recipes, with shape checks at plan time (before any byte is
// read), so a wrong checkpoint fails naming the file, the tensor and both shapes.

import type { CheckpointReader } from '../readers/types.js';

let halfTable: Float32Array | null = null;

/**
 * A tensor as float32, fast for the dtypes checkpoints use (F32 as a view, BF16 by a shift, F16 by
 * a 65536-entry table); anything else through the reader's own conversion.
 */
export async function readF32(reader: CheckpointReader, name: string): Promise<Float32Array> {
  const dtype = reader.info(name).dtype;
  if (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F16') return reader.readF32(name);
  let bytes = await reader.readBytes(name);
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const h = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Float32Array(h.length);
  if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < h.length; i++) u[i] = h[i]! << 16;
  } else {
    if (!halfTable) {
      halfTable = new Float32Array(65536);
      for (let x = 0; x < 65536; x++) {
        const e = (x >> 10) & 0x1f;
        const m = x & 0x3ff;
        const s = x & 0x8000 ? -1 : 1;
        halfTable[x] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
      }
    }
    for (let i = 0; i < h.length; i++) out[i] = halfTable[h[i]!]!;
  }
  return out;
}
import { ConvertError, type WeightSpec } from './spec.js';

/** Check that `name` exists with `dims`; returns nothing, throws a ConvertError naming the file. */
export function expectTensor(reader: CheckpointReader, name: string, dims: number[]): void {
  if (!reader.has(name)) {
    const file = reader.files[0] ?? reader.dir;
    throw new ConvertError(
      { kind: 'missing-tensor', tensor: name, file },
      `checkpoint ${reader.dir} (${reader.files.join(', ')}) has no tensor "${name}", which the config needs`,
    );
  }
  const info = reader.info(name);
  if (info.shape.length !== dims.length || info.shape.some((d, i) => d !== dims[i])) {
    throw new ConvertError(
      { kind: 'shape-mismatch', tensor: name, file: info.file, expected: dims, actual: info.shape },
      `${info.file}: tensor "${name}" has shape [${info.shape.join(', ')}] but config.json implies [${dims.join(', ')}]`,
    );
  }
}

/** Row ranges of checkpoint tensors, stacked in order (dim 0). All parts share their other dims. */
export interface RowPart {
  tensor: string;
  /** Shape the tensor must have. */
  dims: number[];
  start?: number;
  count?: number;
}

/**
 * A canonical weight made by stacking row ranges of checkpoint tensors: fused q|k|v from three
 * projections, per-head interleaved rows regrouped, halves swapped. One source tensor is read at a
 * time and released once copied.
 */
export function stackRows(reader: CheckpointReader, name: string, parts: RowPart[], opts: { keepFp32?: boolean } = {}): WeightSpec {
  for (const p of parts) expectTensor(reader, p.tensor, p.dims);
  const rowSize = (d: number[]): number => d.slice(1).reduce((a, b) => a * b, 1);
  const inner = parts[0]!.dims.slice(1);
  const rows = parts.reduce((n, p) => n + (p.count ?? p.dims[0]!), 0);
  const sources = [...new Set(parts.map((p) => p.tensor))];
  return {
    name,
    dims: [rows, ...inner],
    sources,
    keepFp32: opts.keepFp32,
    async produce(r) {
      const rs = rowSize(parts[0]!.dims);
      const only = parts[0]!;
      if (parts.length === 1 && (only.start ?? 0) === 0 && (only.count ?? only.dims[0]!) === only.dims[0]) {
        // The whole tensor as it is: no second copy (the largest tensors are embeddings).
        const data = await readF32(r, only.tensor);
        return data.length === rows * rs ? data : data.slice(0, rows * rs);
      }
      const out = new Float32Array(rows * rs);
      let at = 0;
      // Parts that share a tensor are read once, consecutively.
      let cachedName = '';
      let cached: Float32Array = new Float32Array(0);
      for (const p of parts) {
        if (cachedName !== p.tensor) {
          cached = await readF32(r, p.tensor);
          cachedName = p.tensor;
        }
        const start = (p.start ?? 0) * rs;
        const n = (p.count ?? p.dims[0]!) * rs;
        out.set(cached.subarray(start, start + n), at);
        at += n;
      }
      return out;
    },
  };
}

/** A checkpoint tensor as it is. */
export function direct(reader: CheckpointReader, name: string, tensor: string, dims: number[], opts: { keepFp32?: boolean } = {}): WeightSpec {
  return stackRows(reader, name, [{ tensor, dims }], opts);
}

/** A checkpoint tensor with each value mapped (Gemma's RMSNorm gain 1 + w, in float32 as HF does). */
export function mapped(reader: CheckpointReader, name: string, tensor: string, dims: number[], fn: (x: number) => number): WeightSpec {
  const base = direct(reader, name, tensor, dims, { keepFp32: true });
  return {
    ...base,
    async produce(r) {
      const data = await base.produce(r);
      for (let i = 0; i < data.length; i++) data[i] = fn(data[i]!);
      return data;
    },
  };
}

/** Read config fields with types checked; missing required fields fail naming the field. */
export class ConfigView {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly architecture: string,
  ) {}

  private fail(field: string, detail: string): never {
    throw new ConvertError(
      { kind: 'unsupported-config', architecture: this.architecture, field, detail },
      `config.json (${this.architecture}): ${field} ${detail}`,
    );
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  int(field: string, fallback?: number): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }

  num(field: string, fallback?: number): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(field: string, fallback?: boolean): boolean {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  str(field: string, fallback?: string): string {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A field whose value must be one of `allowed` (or absent/null where null is listed). */
  oneOf<T>(field: string, allowed: readonly T[], fallback?: T): T {
    const v = (this.raw[field] ?? fallback) as T;
    if (!allowed.includes(v)) this.fail(field, `is ${JSON.stringify(v)}; the converter supports ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return v;
  }

  reject(field: string, detail: string): never {
    this.fail(field, detail);
  }
}
