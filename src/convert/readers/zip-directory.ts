// The central directory of a zip file (zip64 included, as torch.save writes files over 4 GiB),
// read from the end of the file, and each entry's data offset from its local header. Only stored
// (uncompressed) entries can be read by offset; torch.save stores every entry so.

import type { FileHandle } from 'node:fs/promises';
import { readExact } from './positioned.js';

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflate
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipFormatError extends Error {}

export async function readZipDirectory(fh: FileHandle, size: number): Promise<ZipEntry[]> {
  const tailLen = Math.min(size, 65557);
  const tail = await readExact(fh, size - tailLen, tailLen);
  const tv = new DataView(tail.buffer);
  let at = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD) { at = i; break; }
  }
  if (at < 0) throw new ZipFormatError('no end-of-central-directory record (not a zip, or truncated)');
  let count = tv.getUint16(at + 10, true);
  let cdSize = tv.getUint32(at + 12, true);
  let cdOffset = tv.getUint32(at + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = at - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR) throw new ZipFormatError('zip64 locator missing');
    const recOffset = Number(tv.getBigUint64(loc + 8, true));
    const rec = new DataView((await readExact(fh, recOffset, 56)).buffer);
    if (rec.getUint32(0, true) !== ZIP64_EOCD) throw new ZipFormatError('zip64 end-of-central-directory record missing');
    count = Number(rec.getBigUint64(32, true));
    cdSize = Number(rec.getBigUint64(40, true));
    cdOffset = Number(rec.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > size) throw new ZipFormatError(`central directory ends at byte ${cdOffset + cdSize} past the file's ${size} bytes (truncated)`);
  const cd = await readExact(fh, cdOffset, cdSize);
  const v = new DataView(cd.buffer);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (v.getUint32(p, true) !== CENTRAL) throw new ZipFormatError(`bad central directory entry ${i}`);
    const method = v.getUint16(p + 10, true);
    let compressedSize = v.getUint32(p + 20, true);
    let uncompressed = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    const name = Buffer.from(cd.subarray(p + 46, p + 46 + nameLen)).toString('utf8');
    // zip64 extra field (id 1): the 64-bit values, in this order, for those saturated above.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        if (uncompressed === 0xffffffff) { uncompressed = Number(v.getBigUint64(q, true)); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(v.getBigUint64(q, true)); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = Number(v.getBigUint64(q, true)); q += 8; }
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size: uncompressed, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Byte offset of an entry's data (after its local header, whose extra field may differ). */
export async function entryDataOffset(fh: FileHandle, entry: ZipEntry): Promise<number> {
  const h = new DataView((await readExact(fh, entry.localHeaderOffset, 30)).buffer);
  if (h.getUint32(0, true) !== LOCAL) throw new ZipFormatError(`bad local header for ${entry.name}`);
  return entry.localHeaderOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
}
