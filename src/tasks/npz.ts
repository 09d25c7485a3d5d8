// Reading numpy `.npz` archives (a zip of `.npy` files) without Python: fflate unzips, the `.npy`
// header is parsed here, numeric arrays are decoded from their bytes, and object arrays (which
// numpy stores as a pickle of the array) go through pickleparser with the few numpy names a pickled
// array refers to registered. Enough for the digit-matrix problems (`all_problems.npz`: a 0-d
// object array holding a dict of dicts of arrays), not a general numpy.

import { unzipSync } from 'fflate';
import { NameRegistry, Parser } from 'pickleparser';

/** A decoded numpy array: flat data in C order (numbers, booleans, bigints or Python objects). */
export class NdArray {
  constructor(
    public descr: string,
    public shape: number[],
    public data: unknown[],
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The array as nested JavaScript arrays (a 0-d array gives its single element). */
  toNested(): unknown {
    const build = (dim: number, offset: number): [unknown, number] => {
      if (dim === this.shape.length) return [this.data[offset], offset + 1];
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) {
        const [v, next] = build(dim + 1, offset);
        out.push(v);
        offset = next;
      }
      return [out, offset];
    };
    return build(0, 0)[0];
  }
}

const NUMERIC: Record<string, { size: number; read(v: DataView, o: number, le: boolean): unknown }> = {
  b1: { size: 1, read: (v, o) => v.getUint8(o) !== 0 },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  i8: { size: 8, read: (v, o, le) => safeBig(v.getBigInt64(o, le)) },
  u8: { size: 8, read: (v, o, le) => safeBig(v.getBigUint64(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
};

/** int64 values as numbers when exact (digits, indices), else kept as bigint. */
function safeBig(x: bigint): number | bigint {
  return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
}

/** Decode raw C-order bytes of a numeric dtype such as `<i8`, `|b1`, `>f4`. */
export function decodeNumeric(descr: string, bytes: Uint8Array, count: number): unknown[] {
  const kind = descr.replace(/^[<>|=]/, '');
  const spec = NUMERIC[kind];
  if (!spec) throw new Error(`npy: unsupported dtype ${descr} (supported: bool, int, uint, float32/64, object)`);
  const le = !descr.startsWith('>');
  if (bytes.length < count * spec.size) throw new Error(`npy: ${bytes.length} bytes is too short for ${count} × ${descr}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = spec.read(view, i * spec.size, le);
  return out;
}

// numpy dtype object as pickled: dtype('i8', False, True) then BUILD (3, '<', ...).
class PickledDtype {
  endian = '|';
  constructor(public kind: string) {}
  __setstate__(state: unknown[]): void {
    if (typeof state[1] === 'string') this.endian = state[1];
  }
  get descr(): string {
    if (this.kind === 'O' || this.kind.startsWith('O')) return '|O';
    const kind = /^[a-zA-Z]\d+$/.test(this.kind) ? this.kind : KIND_ALIASES[this.kind] ?? this.kind;
    return `${this.endian === '>' ? '>' : '<'}${kind}`;
  }
}
const KIND_ALIASES: Record<string, string> = { '?': 'b1', b: 'i1', B: 'u1', h: 'i2', H: 'u2', i: 'i4', I: 'u4', l: 'i8', q: 'i8', L: 'u8', Q: 'u8', f: 'f4', d: 'f8' };

// ndarray as pickled: _reconstruct(ndarray, (0,), b'b') then BUILD (version, shape, dtype, fortran, data).
class PickledArray extends NdArray {
  constructor() {
    super('|O', [0], []);
  }
  __setstate__(state: unknown[]): void {
    const [, shape, dtype, fortran, raw] = state as [number, number[], PickledDtype, boolean, unknown];
    if (fortran && shape.length > 1) throw new Error('npy: Fortran-ordered pickled arrays are not supported');
    this.shape = shape.map(Number);
    this.descr = dtype.descr;
    if (Array.isArray(raw)) this.data = raw;
    else if (raw instanceof Uint8Array) this.data = decodeNumeric(this.descr, raw, this.size);
    else throw new Error('npy: unexpected pickled array data');
  }
}

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function numpyRegistry(): NameRegistry {
  const registry = new NameRegistry();
  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    registry.register(mod, '_reconstruct', () => new PickledArray());
    // A numpy scalar (np.int64(3), np.bool_(True)): dtype and its raw bytes.
    registry.register(mod, 'scalar', (dtype: PickledDtype, raw: Uint8Array | string) => {
      const bytes = typeof raw === 'string' ? latin1Bytes(raw) : raw;
      return decodeNumeric(dtype.descr, bytes, 1)[0];
    });
  }
  registry.register('numpy', 'dtype', (kind: string) => new PickledDtype(kind));
  registry.register('numpy', 'ndarray', function ndarray() {});
  // Python 2 pickles write bytes as _codecs.encode(text, 'latin1').
  registry.register('_codecs', 'encode', (text: string) => latin1Bytes(text));
  return registry;
}

/** Unpickle Python data that may contain numpy arrays and scalars (dicts become Maps, in order). */
export function unpickle(bytes: Uint8Array): unknown {
  const parser = new Parser({ nameResolver: numpyRegistry(), unpicklingTypeOfDictionary: 'Map' });
  return parser.parse(bytes);
}

function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) throw new Error(`npy: unreadable header ${JSON.stringify(text)}`);
  return {
    descr,
    fortran: fortran === 'True',
    shape: shape.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number),
  };
}

/** Parse one `.npy` file (format versions 1–3). */
export function parseNpy(bytes: Uint8Array, name = 'array.npy'): NdArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (!magic.every((b, i) => bytes[i] === b)) throw new Error(`${name}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen)));
  const body = bytes.subarray(start + headerLen);
  if (header.descr === '|O' || header.descr === 'O') {
    const arr = unpickle(body);
    if (!(arr instanceof NdArray)) throw new Error(`${name}: the object array's pickle did not hold an ndarray`);
    return arr;
  }
  if (header.fortran && header.shape.length > 1) throw new Error(`${name}: Fortran-ordered arrays are not supported`);
  const count = header.shape.reduce((a, b) => a * b, 1);
  return new NdArray(header.descr, header.shape, decodeNumeric(header.descr, body, count));
}

/** Parse an `.npz` archive: array name (without `.npy`) → array. */
export function parseNpz(bytes: Uint8Array, name = 'archive.npz'): Map<string, NdArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${name}: not a readable zip archive (${(e as Error).message})`);
  }
  const out = new Map<string, NdArray>();
  for (const [file, data] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    out.set(file.slice(0, -4), parseNpy(data, `${name}:${file}`));
  }
  return out;
}
