// `pytorch_model.bin` as torch.save writes it since PyTorch 1.6: a zip with `<prefix>/data.pkl`
// (the state dict, tensors as persistent ids into storages) and `<prefix>/data/<key>` (each
// storage's raw bytes, stored uncompressed). Tensors are rebuilt from storage, offset, size and
// stride; a strided (non-contiguous) tensor is gathered into row-major order. The legacy
// pre-1.6 (non-zip) format is refused with what to do.

import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { assertSafeRelativeName } from '../../util/safe-path.js';
import { LIMITS } from './limits.js';
import { openShard, readExact } from './positioned.js';
import type { TensorSource } from './safetensors.js';
import { PickleRefused } from './pickle-scan.js';
import { parseStateDict, type TensorRef } from './torch-pickle.js';
import { CheckpointError, DTYPE_BYTES, numel, type TensorInfo } from './types.js';
import { entryDataOffset, readZipDirectory, ZipFormatError, type ZipEntry } from './zip-directory.js';

interface Located {
  ref: TensorRef;
  info: TensorInfo;
  /** Absolute file offset of the tensor's first element, and bytes from there to its last. */
  start: number;
  span: number;
  contiguous: boolean;
}

export async function openTorchZip(path: string, file: string): Promise<TensorSource> {
  const fh = await openShard(path, file);
  try {
    const tensors = await locate(fh, file);
    return {
      file,
      tensors: new Map([...tensors].map(([n, t]) => [n, t.info])),
      async readBytes(name, into) {
        const t = tensors.get(name);
        if (!t) throw new CheckpointError('missing-tensor', `${file}: no tensor "${name}"`, { file, tensor: name });
        let raw: Uint8Array;
        try {
          raw = await readExact(fh, t.start, t.span, t.contiguous ? into : undefined);
        } catch (err) {
          throw new CheckpointError('truncated', `${file}: tensor "${name}" could not be read (${(err as Error).message})`, { file, tensor: name });
        }
        if (t.contiguous) return raw;
        const rows = gather(raw, t.ref, DTYPE_BYTES[t.info.dtype]);
        if (!into) return rows;
        into.set(rows);
        return into;
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Zip structure errors and short reads become CheckpointErrors naming the file. */
async function locate(fh: FileHandle, file: string): Promise<Map<string, Located>> {
  try {
    return await locateTensors(fh, file);
  } catch (err) {
    if (err instanceof ZipFormatError || err instanceof RangeError) {
      throw new CheckpointError('truncated', `${file}: ${err.message}; the file is truncated or not a torch.save zip (download it again)`, { file });
    }
    throw err;
  }
}

/** Names are checked (no "..", absolute part, backslash or control character) and unique. */
function checkEntryNames(file: string, dir: readonly ZipEntry[]): void {
  const seen = new Set<string>();
  for (const e of dir) {
    try {
      assertSafeRelativeName(e.name, 'zip entry');
    } catch (err) {
      throw new CheckpointError('unsafe-name', `${file}: ${(err as Error).message}`, { file });
    }
    if (seen.has(e.name)) throw new CheckpointError('bad-header', `${file}: zip entry ${JSON.stringify(e.name)} is in the archive more than once`, { file });
    seen.add(e.name);
  }
}

/** data.pkl's bytes: its declared size bounded, a deflated one inflated to at most that size. */
async function readPickle(fh: FileHandle, file: string, entry: ZipEntry, size: number): Promise<Uint8Array> {
  if (entry.size > LIMITS.pickleBytes) {
    throw new CheckpointError('too-large', `${file}: data.pkl declares ${entry.size} bytes, more than the ${LIMITS.pickleBytes} read`, { file });
  }
  const raw = await readExact(fh, await entryDataOffset(fh, entry, size), entry.compressedSize);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new CheckpointError('bad-header', `${file}: stored data.pkl has two different sizes in the zip`, { file });
    return raw;
  }
  if (entry.method !== 8) throw new CheckpointError('unsupported', `${file}: data.pkl uses zip method ${entry.method}`, { file });
  // A small slack for tiny pickles; past it, a ratio no state dict reaches is a zip bomb.
  if (entry.size > Math.max(64 * 1024, entry.compressedSize * LIMITS.deflateRatio)) {
    throw new CheckpointError('too-large', `${file}: data.pkl would inflate ${entry.compressedSize} bytes to ${entry.size} (ratio past ${LIMITS.deflateRatio}); refused as a zip bomb`, { file });
  }
  let out: Buffer;
  try {
    // Never more than the declared size: a body that inflates further is cut off and refused.
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past its declared ${entry.size} bytes` : 'is not valid deflate data';
    throw new CheckpointError('bad-header', `${file}: data.pkl ${why}`, { file });
  }
  if (out.length !== entry.size) throw new CheckpointError('bad-header', `${file}: data.pkl inflates to ${out.length} bytes, not its declared ${entry.size}`, { file });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

async function locateTensors(fh: FileHandle, file: string): Promise<Map<string, Located>> {
  const size = (await fh.stat()).size;
  const head = await readExact(fh, 0, Math.min(4, size));
  if (!(head[0] === 0x50 && head[1] === 0x4b)) {
    throw new CheckpointError('unsupported', `${file}: not a zip archive; the legacy (pre-1.6) torch.save format is not read — re-save it with torch.save, or use safetensors`, { file });
  }
  const dir = await readZipDirectory(fh, size);
  checkEntryNames(file, dir);
  const pklEntry = dir.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pklEntry) throw new CheckpointError('bad-header', `${file}: a zip without data.pkl is not a torch.save checkpoint`, { file });
  const prefix = pklEntry.name.slice(0, pklEntry.name.length - 'data.pkl'.length);
  const byName = new Map(dir.map((e) => [e.name, e]));

  const order = byName.get(`${prefix}byteorder`);
  if (order && order.method === 0) {
    const text = order.size > 16 ? '' : Buffer.from(await readExact(fh, await entryDataOffset(fh, order, size), order.size)).toString('utf8');
    if (text.trim() !== 'little') throw new CheckpointError('unsupported', `${file}: its byteorder entry is not "little"; only little-endian is read`, { file });
  }

  const pkl = await readPickle(fh, file, pklEntry, size);
  let refs: Map<string, TensorRef>;
  try {
    refs = parseStateDict(pkl);
  } catch (err) {
    const reason = err instanceof PickleRefused && err.kind === 'limit' ? 'too-large' : 'bad-header';
    throw new CheckpointError(reason, `${file}: cannot read its data.pkl: ${(err as Error).message} (nothing in it was run)`, { file });
  }
  if (refs.size === 0) throw new CheckpointError('bad-header', `${file}: data.pkl holds no tensors`, { file });

  const dataStart = new Map<string, number>();
  const out = new Map<string, Located>();
  for (const [name, ref] of refs) {
    const where = { file, tensor: name };
    const esize = DTYPE_BYTES[ref.storage.dtype];
    const entryName = `${prefix}data/${ref.storage.key}`;
    const entry = byName.get(entryName);
    if (!entry) throw new CheckpointError('truncated', `${file}: tensor "${name}" refers to storage ${entryName}, which is not in the archive`, where);
    if (entry.method !== 0) throw new CheckpointError('unsupported', `${file}: storage ${entryName} of "${name}" is compressed; torch.save stores storages uncompressed — re-save it`, where);
    let start = dataStart.get(entryName);
    if (start === undefined) {
      start = await entryDataOffset(fh, entry, size);
      dataStart.set(entryName, start);
    }
    if (start + entry.size > size) throw new CheckpointError('truncated', `${file}: storage of "${name}" ends past the end of the file; download it again`, where);
    if (ref.storage.numel * esize !== entry.size) {
      throw new CheckpointError('bad-header', `${file}: tensor "${name}": storage ${entryName} says ${ref.storage.numel} elements but holds ${entry.size} bytes`, where);
    }
    checkView(file, name, ref);
    const n = numel(ref.size);
    const contiguous = isContiguous(ref.size, ref.stride);
    const spanElems = n === 0 ? 0 : 1 + ref.size.reduce((acc, d, i) => acc + (d - 1) * ref.stride[i]!, 0);
    if ((ref.offset + spanElems) * esize > entry.size) {
      throw new CheckpointError('truncated', `${file}: tensor "${name}" (offset ${ref.offset}, size [${ref.size.join(', ')}], stride [${ref.stride.join(', ')}]) reaches past its storage's ${entry.size} bytes`, where);
    }
    out.set(name, {
      ref,
      info: { name, dtype: ref.storage.dtype, shape: ref.size, file },
      start: start + ref.offset * esize,
      span: spanElems * esize,
      contiguous,
    });
  }
  return out;
}

/**
 * A view a state dict can hold: one stride per dimension, no stride 0 on a dimension longer than
 * 1 (an expanded view would stand in for a full tensor from a few stored values), and no more
 * elements than its storage (only overlapping strides could do that: an amplification).
 */
function checkView(file: string, name: string, ref: TensorRef): void {
  const where = { file, tensor: name };
  const shape = `size [${ref.size.join(', ')}], stride [${ref.stride.join(', ')}]`;
  if (ref.stride.length !== ref.size.length) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" has ${ref.size.length} dimensions but ${ref.stride.length} strides (${shape})`, where);
  }
  if (ref.size.some((d, i) => d > 1 && ref.stride[i] === 0)) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" is a stride 0 (expanded) view (${shape}); a checkpoint stores every value`, where);
  }
  // Products can pass 2^53 for absurd sizes: compare with a float bound first.
  const n = ref.size.reduce((a, d) => a * d, 1);
  if (n > ref.storage.numel) {
    throw new CheckpointError('bad-header', `${file}: tensor "${name}" has more elements (${shape}) than its storage's ${ref.storage.numel}`, where);
  }
}

function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i]! !== 1 && stride[i]! !== expect) return false;
    expect *= size[i]!;
  }
  return true;
}

/** Copy a strided view (bytes from its first element) into row-major order. */
function gather(raw: Uint8Array, ref: TensorRef, esize: number): Uint8Array {
  const { size, stride } = ref;
  const n = numel(size);
  const out = new Uint8Array(n * esize);
  const idx = new Array<number>(size.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = 0;
    for (let d = 0; d < size.length; d++) src += idx[d]! * stride[d]!;
    out.set(raw.subarray(src * esize, src * esize + esize), k * esize);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d]! < size[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
