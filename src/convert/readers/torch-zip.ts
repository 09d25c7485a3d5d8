// `pytorch_model.bin` as torch.save writes it since PyTorch 1.6: a zip with `<prefix>/data.pkl`
// (the state dict, tensors as persistent ids into storages) and `<prefix>/data/<key>` (each
// storage's raw bytes, stored uncompressed). Tensors are rebuilt from storage, offset, size and
// stride; a strided (non-contiguous) tensor is gathered into row-major order. The legacy
// pre-1.6 (non-zip) format is refused with what to do.

import type { FileHandle } from 'node:fs/promises';
import { inflateSync } from 'fflate';
import { openShard, readExact } from './positioned.js';
import type { TensorSource } from './safetensors.js';
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
        if (t.contiguous) return readExact(fh, t.start, t.span, into);
        const rows = gather(await readExact(fh, t.start, t.span), t.ref, DTYPE_BYTES[t.info.dtype]);
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

async function locate(fh: FileHandle, file: string): Promise<Map<string, Located>> {
  const size = (await fh.stat()).size;
  const head = await readExact(fh, 0, Math.min(4, size));
  if (!(head[0] === 0x50 && head[1] === 0x4b)) {
    throw new CheckpointError('unsupported', `${file}: not a zip archive; the legacy (pre-1.6) torch.save format is not read — re-save it with torch.save, or use safetensors`, { file });
  }
  let dir: ZipEntry[];
  try {
    dir = await readZipDirectory(fh, size);
  } catch (err) {
    if (err instanceof ZipFormatError) throw new CheckpointError('truncated', `${file}: ${err.message}; download it again`, { file });
    throw err;
  }
  const pklEntry = dir.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pklEntry) throw new CheckpointError('bad-header', `${file}: a zip without data.pkl is not a torch.save checkpoint`, { file });
  const prefix = pklEntry.name.slice(0, pklEntry.name.length - 'data.pkl'.length);
  const byName = new Map(dir.map((e) => [e.name, e]));

  const order = byName.get(`${prefix}byteorder`);
  if (order && order.method === 0) {
    const text = Buffer.from(await readExact(fh, await entryDataOffset(fh, order), order.size)).toString('utf8');
    if (text.trim() !== 'little') throw new CheckpointError('unsupported', `${file}: saved with byteorder "${text}"; only little-endian is read`, { file });
  }

  let pkl = await readExact(fh, await entryDataOffset(fh, pklEntry), pklEntry.compressedSize);
  if (pklEntry.method === 8) pkl = inflateSync(pkl);
  else if (pklEntry.method !== 0) throw new CheckpointError('unsupported', `${file}: data.pkl uses zip method ${pklEntry.method}`, { file });
  let refs: Map<string, TensorRef>;
  try {
    refs = parseStateDict(pkl);
  } catch (err) {
    throw new CheckpointError('bad-header', `${file}: cannot read its data.pkl: ${(err as Error).message}`, { file });
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
      start = await entryDataOffset(fh, entry);
      dataStart.set(entryName, start);
    }
    if (start + entry.size > size) throw new CheckpointError('truncated', `${file}: storage of "${name}" ends past the end of the file; download it again`, where);
    const n = numel(ref.size);
    const contiguous = isContiguous(ref.size, ref.stride);
    if (ref.stride.some((s) => s < 0)) throw new CheckpointError('unsupported', `${file}: tensor "${name}" has negative strides`, where);
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
