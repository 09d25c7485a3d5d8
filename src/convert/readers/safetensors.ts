// One `.safetensors` file: 8-byte little-endian header length, a JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}), then raw little-endian
// bytes, offsets relative to the end of the header. Every tensor's range is checked against the
// file size when the file is opened, so a truncated download fails at once, naming the tensor.

import { parseJsonText } from '../../util/json-text.js';
import { LIMITS } from './limits.js';
import { openShard, readExact } from './positioned.js';
import { CheckpointError, DTYPE_BYTES, numel, type TensorDtype, type TensorInfo } from './types.js';

export interface TensorSource {
  readonly file: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The tensor's bytes; into `into` (exactly its size) when given, saving a copy. */
  readBytes(name: string, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

const DTYPES = new Set<string>(Object.keys(DTYPE_BYTES));

interface Entry {
  info: TensorInfo;
  begin: number;
  end: number;
}

/** Open `path` (shown as `file` in errors and TensorInfo). */
export async function openSafetensors(path: string, file: string): Promise<TensorSource> {
  const fh = await openShard(path, file);
  try {
    const size = (await fh.stat()).size;
    if (size < 8) throw new CheckpointError('truncated', `${file}: ${size} bytes, too short for a safetensors header`, { file });
    const lenBytes = await readExact(fh, 0, 8);
    const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    // The length is the file's first 8 bytes: never printed (the file may be anything).
    if (headerLen > LIMITS.safetensorsHeaderBytes) {
      throw new CheckpointError('bad-header', `${file}: not a safetensors file (its header length is past the ${LIMITS.safetensorsHeaderBytes}-byte limit)`, { file });
    }
    if (8 + headerLen > size) {
      throw new CheckpointError('truncated', `${file}: its safetensors header reaches past the end of the file; the file is truncated or not safetensors`, { file });
    }
    const text = Buffer.from(await readExact(fh, 8, headerLen)).toString('utf8');
    const parsed = parseJsonText(text, (why) => new CheckpointError('bad-header', `${file}: safetensors header is ${why}`, { file }));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CheckpointError('bad-header', `${file}: safetensors header is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not an object of tensors`, { file });
    }
    const header = parsed as Record<string, unknown>;
    const base = 8 + headerLen;
    const entries = new Map<string, Entry>();
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      entries.set(name, parseEntry(file, name, raw, base, size));
    }
    checkDisjoint(file, entries);
    const tensors = new Map([...entries].map(([n, e]) => [n, e.info]));
    return {
      file,
      tensors,
      async readBytes(name, into) {
        const e = entries.get(name);
        if (!e) throw new CheckpointError('missing-tensor', `${file}: no tensor "${name}"`, { file, tensor: name });
        try {
          return await readExact(fh, e.begin, e.end - e.begin, into);
        } catch (err) {
          throw new CheckpointError('truncated', `${file}: tensor "${name}" could not be read (${(err as Error).message})`, { file, tensor: name });
        }
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Longest tensor name read: names go into messages and records. */
export const MAX_TENSOR_NAME = 1024;

function parseEntry(file: string, name: string, raw: unknown, base: number, size: number): Entry {
  if (name.length > MAX_TENSOR_NAME) {
    throw new CheckpointError('bad-header', `${file}: a tensor name of ${name.length} characters (at most ${MAX_TENSOR_NAME} are read)`, { file });
  }
  const where = { file, tensor: name };
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" has no dtype/shape/data_offsets in the header`, where);
  }
  if (!DTYPES.has(e.dtype)) {
    const shown = e.dtype.length > 16 ? `${JSON.stringify(e.dtype.slice(0, 16))}… (${e.dtype.length} characters)` : e.dtype;
    throw new CheckpointError('unsupported', `${file}: tensor "${name}" has dtype ${shown}; supported: ${[...DTYPES].join(', ')}`, where);
  }
  const dtype = e.dtype as TensorDtype;
  if (e.shape.length > LIMITS.tensorDims) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" has ${e.shape.length} dimensions (at most ${LIMITS.tensorDims} are read)`, where);
  }
  const shape = e.shape.map(Number);
  const [b, en] = e.data_offsets.map(Number) as [number, number];
  if (e.data_offsets.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Number.isSafeInteger(b) || !Number.isSafeInteger(en) || en < b) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" has a malformed shape or data_offsets`, where);
  }
  if (b < 0) throw new CheckpointError('bad-header', `${file}: tensor "${name}" starts at a negative offset`, where);
  const want = numel(shape) * DTYPE_BYTES[dtype];
  if (en - b !== want) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" spans ${en - b} bytes but ${dtype}[${shape.join(', ')}] needs ${want}`, where);
  }
  if (base + en > size) {
    throw new CheckpointError('truncated', `${file}: tensor "${name}" ends at byte ${base + en} but the file has ${size} bytes; the file is truncated (download it again)`, where);
  }
  return { info: { name, dtype, shape, file }, begin: base + b, end: base + en };
}

/** The format requires tensors not to share bytes; a file whose tensors overlap is refused. */
function checkDisjoint(file: string, entries: ReadonlyMap<string, Entry>): void {
  const sorted = [...entries.values()].filter((e) => e.end > e.begin).sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new CheckpointError('bad-header', `${file}: tensors "${prev.info.name}" and "${cur.info.name}" overlap in the file`, { file, tensor: cur.info.name });
    }
  }
}
