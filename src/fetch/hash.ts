// Streaming digests of files: sha256 (LFS files, stimuli pins) and git's blob sha1 (the hub's
// `blobId` for regular files), so every downloaded file can be checked against the hub's listing.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

async function digestStream(path: string, hash: ReturnType<typeof createHash>): Promise<string> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return digestStream(path, createHash('sha256'));
}

/** git hash-object: sha1 of "blob <size>\0" + content. */
export async function gitBlobSha1File(path: string): Promise<string> {
  const { size } = await stat(path);
  const hash = createHash('sha1');
  hash.update(`blob ${size}\0`);
  return digestStream(path, hash);
}

export function gitBlobSha1(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
