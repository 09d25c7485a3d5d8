// The pickle inside a torch.save zip (`<prefix>/data.pkl`), read with pickleparser and only the
// few globals a state dict refers to: `torch._utils._rebuild_tensor_v2` (and its older and
// Parameter forms), the typed storage classes named in persistent ids, and OrderedDict. Any other
// global stays an inert placeholder object, so nothing in the file is ever executed.

import { NameRegistry, Parser } from 'pickleparser';
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

function ints(x: unknown, what: string): number[] {
  if (!Array.isArray(x) || !x.every((d) => typeof d === 'number' || typeof d === 'bigint')) throw new Error(`${what} is not a tuple of ints`);
  return x.map(Number);
}

function rebuild(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  const s = storage as StorageRef;
  if (typeof s !== 'object' || s === null || s.kind !== 'storage') throw new Error('_rebuild_tensor without a storage persistent id');
  return { kind: 'tensor', storage: s, offset: Number(offset), size: ints(size, 'size'), stride: ints(stride, 'stride') };
}

/** Parse a state-dict pickle into {tensor name → TensorRef}. Throws with a reason on anything else. */
export function parseStateDict(pkl: Uint8Array): Map<string, TensorRef> {
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
        if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`unknown persistent id ${JSON.stringify(pid)}`);
        const type = pid[1] as StorageType | { module?: string; name?: string };
        if (typeof type !== 'object' || type === null || !('storageDtype' in type)) {
          throw new Error(`unsupported storage type ${describe(type)}; supported: ${Object.keys(STORAGES).join(', ')}`);
        }
        return { kind: 'storage', key: String(pid[2]), dtype: type.storageDtype, numel: Number(pid[4]) };
      },
    },
  });
  const root = parser.parse<unknown>(pkl);
  const out = new Map<string, TensorRef>();
  collect(root, out);
  return out;
}

function describe(x: unknown): string {
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    for (const k of ['__module__', 'module']) if (typeof o[k] === 'string') return `${o[k]}.${String(o.__name__ ?? o.name ?? '')}`;
  }
  return JSON.stringify(x) ?? String(x);
}

function entries(x: unknown): [string, unknown][] | null {
  if (x instanceof Map) return [...x.entries()].map(([k, v]) => [String(k), v]);
  return null;
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
