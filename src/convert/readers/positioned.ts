// Positioned reads from an open file, in chunks (one fs read is limited to 2 GiB), so a tensor is
// read into its own buffer and the file is never loaded whole.

import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointError } from './types.js';

const CHUNK = 256 * 1024 * 1024;

/** Read exactly `length` bytes at `position` into `into` (or a new buffer). */
export async function readExact(fh: FileHandle, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  const out = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const want = Math.min(CHUNK, length - done);
    const { bytesRead } = await fh.read(out, done, want, position + done);
    if (bytesRead === 0) throw new RangeError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return out;
}

/** Open a checkpoint file for positioned reads; a missing one is a CheckpointError naming `file`. */
export async function openShard(path: string, file: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new CheckpointError('missing-shard', `${file}: cannot open (${(err as Error).message})`, { file });
  }
}
