// Checkpoint tensor → canonical weight recipes, with shape checks at plan time (before any byte is
// read), so a wrong checkpoint fails naming the file, the tensor and both shapes.

import type { CheckpointReader } from '../readers/types.js';
import { chunksOf, holdTensor, type HeldTensor } from './tensor-bytes.js';

import { FIELD_LIMITS } from './config-limits.js';
import { ConvertError, type WeightSpec } from './spec.js';

/**
 * A stand-in reader for checking a config without its weights (plan time): every tensor "exists"
 * with whatever shape the config implies, and nothing can be read.
 */
export const CONFIG_ONLY: CheckpointReader = {
  dir: '(config only)',
  format: 'safetensors',
  files: [],
  list: () => [],
  has: () => true,
  info: (name) => ({ name, dtype: 'F32', shape: [], file: '' }),
  readF32: () => Promise.reject(new Error('config-only reader: no weights')),
  readBytes: () => Promise.reject(new Error('config-only reader: no weights')),
  close: () => Promise.resolve(),
};

/** Check that `name` exists with `dims`; returns nothing, throws a ConvertError naming the file. */
export function expectTensor(reader: CheckpointReader, name: string, dims: number[]): void {
  if (reader === CONFIG_ONLY) return;
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
    async *chunks(r) {
      const rs = rowSize(parts[0]!.dims);
      // Parts that share a tensor are served from one read, consecutively; the next tensor is read
      // only after the previous one is released.
      let heldName = '';
      let held: HeldTensor | null = null;
      for (const p of parts) {
        if (heldName !== p.tensor) {
          held = null;
          held = await holdTensor(r, p.tensor);
          heldName = p.tensor;
        }
        const first = (p.start ?? 0) * rs;
        let at = first;
        for (const chunk of chunksOf(held!, first, (p.count ?? p.dims[0]!) * rs)) {
          assertFinite(r, p.tensor, chunk, at);
          at += chunk.length;
          yield chunk;
        }
      }
    },
  };
}

/**
 * NaN or ±Inf in a stored weight would make every score NaN (empty cells, exit 0): fail naming
 * the tensor, its file and the first such element. (v - v is NaN exactly for NaN and ±Inf.)
 */
function assertFinite(reader: CheckpointReader, tensor: string, chunk: Float32Array, offset: number): void {
  for (let i = 0; i < chunk.length; i++) {
    const v = chunk[i]!;
    if (v - v === 0) continue;
    const value = Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
    const file = reader.info(tensor).file;
    throw new ConvertError(
      { kind: 'non-finite', tensor, file, index: offset + i, value },
      `${file}: tensor "${tensor}" holds ${value} at element ${offset + i}; the checkpoint is damaged (a model with non-finite weights scores nothing)`,
    );
  }
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
    async *chunks(r) {
      for await (const chunk of base.chunks(r)) yield Float32Array.from(chunk, fn);
    },
  };
}

/** All values of a weight in one array (tests and small weights). */
export async function collect(w: WeightSpec, reader: CheckpointReader): Promise<Float32Array> {
  const out = new Float32Array(w.dims.reduce((a, b) => a * b, 1));
  let at = 0;
  for await (const chunk of w.chunks(reader)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
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
    const max = FIELD_LIMITS[field];
    if (max !== undefined && v > max) this.fail(field, `is ${v}, past the converter's limit of ${max} (config-limits.ts); the config is broken or hostile`);
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
