// The central directory of a zip file (zip64 included, as torch.save writes files over 4 GiB),
// read from the end of the file, and each entry's data offset from its local header. Only stored
// (uncompressed) entries can be read by offset; torch.save stores every entry so.

import type { FileHandle } from 'node:fs/promises';
import { LIMITS } from './limits.js';
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

/**
 * The entries of the zip in `fh` (`size` bytes). Every offset and length read from the file is
 * checked against the file and the central directory before it is used; anything that does not
 * fit is a ZipFormatError (never a bare RangeError from a DataView or a short read).
 */
export async function readZipDirectory(fh: FileHandle, size: number, maxEntries = LIMITS.zipEntries): Promise<ZipEntry[]> {
  try {
    return await readDirectory(fh, size, maxEntries);
  } catch (err) {
    if (err instanceof RangeError) throw new ZipFormatError(`malformed zip structure (${err.message})`);
    throw err;
  }
}

async function readDirectory(fh: FileHandle, size: number, maxEntries: number): Promise<ZipEntry[]> {
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
    if (recOffset + 56 > size) throw new ZipFormatError('zip64 end-of-central-directory record lies past the end of the file (truncated)');
    const rec = new DataView((await readExact(fh, recOffset, 56)).buffer);
    if (rec.getUint32(0, true) !== ZIP64_EOCD) throw new ZipFormatError('zip64 end-of-central-directory record missing');
    count = Number(rec.getBigUint64(32, true));
    cdSize = Number(rec.getBigUint64(40, true));
    cdOffset = Number(rec.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > size) throw new ZipFormatError(`central directory ends at byte ${cdOffset + cdSize} past the file's ${size} bytes (truncated)`);
  // Each entry takes at least 46 bytes: a count the directory cannot hold is a broken file.
  if (count * 46 > cdSize) throw new ZipFormatError(`the end record claims ${count} entries, more than the ${cdSize}-byte central directory holds (truncated)`);
  if (count > maxEntries) throw new ZipFormatError(`${count} entries, more than the ${maxEntries} read`);
  const cd = await readExact(fh, cdOffset, cdSize);
  const v = new DataView(cd.buffer);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL) throw new ZipFormatError(`bad central directory entry ${i}`);
    const method = v.getUint16(p + 10, true);
    let compressedSize = v.getUint32(p + 20, true);
    let uncompressed = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw new ZipFormatError(`central directory entry ${i} runs past the directory`);
    const name = Buffer.from(cd.subarray(p + 46, p + 46 + nameLen)).toString('utf8');
    // zip64 extra field (id 1): the 64-bit values, in this order, for those saturated above.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) break;
      if (id === 1) {
        let q = e + 4;
        if (uncompressed === 0xffffffff && q + 8 <= e + 4 + len) { uncompressed = Number(v.getBigUint64(q, true)); q += 8; }
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) { compressedSize = Number(v.getBigUint64(q, true)); q += 8; }
        if (localHeaderOffset === 0xffffffff && q + 8 <= e + 4 + len) { localHeaderOffset = Number(v.getBigUint64(q, true)); q += 8; }
      }
      e += 4 + len;
    }
    if (localHeaderOffset + 30 > size || localHeaderOffset + 30 + compressedSize > size) {
      throw new ZipFormatError(`entry ${JSON.stringify(name)} lies past the end of the file (truncated)`);
    }
    entries.push({ name, method, compressedSize, size: uncompressed, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Byte offset of an entry's data (after its local header, whose extra field may differ). */
export async function entryDataOffset(fh: FileHandle, entry: ZipEntry, size: number): Promise<number> {
  let h: DataView;
  try {
    h = new DataView((await readExact(fh, entry.localHeaderOffset, 30)).buffer);
  } catch (err) {
    if (err instanceof RangeError) throw new ZipFormatError(`local header of ${JSON.stringify(entry.name)} is cut off (${err.message})`);
    throw err;
  }
  if (h.getUint32(0, true) !== LOCAL) throw new ZipFormatError(`bad local header for ${JSON.stringify(entry.name)}`);
  const at = entry.localHeaderOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
  if (at + entry.compressedSize > size) throw new ZipFormatError(`data of ${JSON.stringify(entry.name)} runs past the end of the file (truncated)`);
  return at;
}
