// The pickle inside a torch.save zip (`<prefix>/data.pkl`), read with pickleparser and only the
// few globals a state dict refers to: `torch._utils._rebuild_tensor_v2` (and its older and
// Parameter forms), the typed storage classes named in persistent ids, and OrderedDict. Any other
// global stays an inert placeholder object, so nothing in the file is ever executed.

import { NameRegistry, Parser } from 'pickleparser';
import { scanPickle } from './pickle-scan.js';
import type { TensorDtype } from './types.js';

export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: TensorDtype;
  /** Elements (of dtype) the storage holds. */
  numel: number;
}

export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

const STORAGES: Readonly<Record<string, TensorDtype>> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

interface StorageType { storageDtype: TensorDtype; storageName: string }

function isTensorRef(x: unknown): x is TensorRef {
  return typeof x === 'object' && x !== null && (x as TensorRef).kind === 'tensor';
}

/** A non-negative safe integer from a pickle int (number or bigint), else an error naming `what`. */
function nat(x: unknown, what: string): number {
  const n = typeof x === 'bigint' ? Number(x) : x;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error(`${what} is not a non-negative integer`);
  return n;
}

function ints(x: unknown, what: string): number[] {
  if (!Array.isArray(x) || x.length > 8) throw new Error(`${what} is not a tuple of at most 8 ints`);
  return x.map((d) => nat(d, what));
}

function rebuild(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  const s = storage as StorageRef;
  if (typeof s !== 'object' || s === null || s.kind !== 'storage') throw new Error('_rebuild_tensor without a storage persistent id');
  return { kind: 'tensor', storage: s, offset: nat(offset, 'storage offset'), size: ints(size, 'size'), stride: ints(stride, 'stride') };
}

/** Parse a state-dict pickle into {tensor name → TensorRef}. Throws with a reason on anything else. */
export function parseStateDict(pkl: Uint8Array): Map<string, TensorRef> {
  scanPickle(pkl); // refuses what a state dict never holds, and floods, before anything is built
  const names = new NameRegistry();
  names.register('torch._utils', '_rebuild_tensor_v2', rebuild);
  names.register('torch._utils', '_rebuild_tensor', rebuild);
  names.register('torch._utils', '_rebuild_parameter', (data: unknown) => data);
  names.register('torch._utils', '_rebuild_parameter_with_state', (data: unknown) => data);
  names.register('collections', 'OrderedDict', () => new Map());
  for (const [storageName, storageDtype] of Object.entries(STORAGES)) {
    const marker: StorageType = { storageDtype, storageName };
    names.register('torch', storageName, marker as unknown as () => unknown);
  }
  const parser = new Parser({
    nameResolver: names,
    unpicklingTypeOfDictionary: 'Map',
    persistentResolver: {
      resolve(pid: unknown): StorageRef {
        // ('storage', storage type, key, location, numel)
        if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw new Error(`unknown persistent id ${describe(pid)}`);
        const type = pid[1] as StorageType | { module?: string; name?: string };
        if (typeof type !== 'object' || type === null || !Object.hasOwn(type, 'storageDtype')) {
          throw new Error(`unsupported storage type ${describe(type)}; supported: ${Object.keys(STORAGES).join(', ')}`);
        }
        // The key names a zip entry (data/<key>): torch writes decimal numbers.
        const key = pid[2];
        if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new Error(`storage key ${describe(key)} is not a plain name`);
        return { kind: 'storage', key, dtype: (type as StorageType).storageDtype, numel: nat(pid[4], 'storage size') };
      },
    },
  });
  const root = parser.parse<unknown>(pkl);
  const out = new Map<string, TensorRef>();
  collect(root, out);
  return out;
}

/** A short description of a pickled value, never expanded (shared structures can be exponential). */
function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return `a tuple of ${x.length}`;
  if (typeof x === 'object' || typeof x === 'function') {
    const o = x as Record<string, unknown>;
    if (typeof o['__module__'] === 'string' && typeof o['__name__'] === 'string') return `${o['__module__'].slice(0, 60)}.${o['__name__'].slice(0, 60)}`;
    return x instanceof Map ? 'a dict' : 'an object';
  }
  return typeof x;
}

function entries(x: unknown): [string, unknown][] | null {
  if (!(x instanceof Map)) return null;
  const out: [string, unknown][] = [];
  for (const [k, v] of x) {
    // Keys of a state dict are strings; String() of a shared nested tuple could be exponential.
    if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') continue;
    const name = String(k);
    // Names go into messages and records.
    if (name.length > 1024) throw new Error(`a key of ${name.length} characters (at most 1024 are read)`);
    out.push([name, v]);
  }
  return out;
}

/** Tensors at the top level; a wrapper dict ({state_dict: …} / {model: …}) is looked through. */
function collect(root: unknown, out: Map<string, TensorRef>): void {
  const top = entries(root);
  if (!top) throw new Error('the pickle is not a dict of tensors');
  for (const [k, v] of top) if (isTensorRef(v)) out.set(k, v);
  if (out.size > 0) return;
  for (const key of ['state_dict', 'model']) {
    const inner = entries(top.find(([k]) => k === key)?.[1]);
    if (inner) {
      for (const [k, v] of inner) if (isTensorRef(v)) out.set(k, v);
      if (out.size > 0) return;
    }
  }
}
