// Hostile torch.save zips (issue 17, items 4, 6 and 11): broken central directories and local
// headers, duplicate or unsafe entry names, and a deflated data.pkl that would expand past its
// declared size or the limits — each refused naming the file, before anything large is allocated.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { LIMITS } from '../../../src/convert/readers/limits.js';
import { f32Bytes, statePickle, zip64Bytes } from '../readers/torch-fixture.js';
import { refused, temp } from './helpers.js';

const STORAGES = [{ key: '0', dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3]) }];
const TENSORS = [{ name: 'w', storage: '0', offset: 0, size: [3], stride: [1] }];

/** The byte offsets of every central-directory entry header in `zip`. */
function centralEntries(zip: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (zip.readUInt32LE(i) === 0x02014b50) out.push(i);
  return out;
}

function goodZip(): Buffer {
  return Buffer.from(zipSync({
    'archive/data.pkl': [statePickle(STORAGES, TENSORS), { level: 0 }],
    'archive/data/0': [STORAGES[0]!.bytes, { level: 0 }],
  }));
}

test('a broken central directory or local header is a CheckpointError naming the file, never a bare RangeError', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'pytorch_model.bin');
  const good = goodZip();
  const eocd = good.length - 22;
  // 1. The end record claims more entries than the central directory holds.
  const more = Buffer.from(good);
  more.writeUInt16LE(500, eocd + 8);
  more.writeUInt16LE(500, eocd + 10);
  writeFileSync(path, more);
  await refused(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
  // 2. An entry's name length runs past the central directory.
  const longName = Buffer.from(good);
  longName.writeUInt16LE(60000, centralEntries(good)[1]! + 28);
  writeFileSync(path, longName);
  await refused(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
  // 3. A local header offset past the end of the file.
  const farLocal = Buffer.from(good);
  farLocal.writeUInt32LE(good.length + 1000, centralEntries(good)[0]! + 42);
  writeFileSync(path, farLocal);
  await refused(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
  // 4. A zip64 locator pointing past the end of the file.
  const z64 = Buffer.from(zip64Bytes([{ name: 'archive/data.pkl', data: statePickle(STORAGES, TENSORS) }, { name: 'archive/data/0', data: STORAGES[0]!.bytes }]));
  z64.writeBigUInt64LE(BigInt(z64.length * 10), z64.length - 22 - 20 + 8);
  writeFileSync(path, z64);
  await refused(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
  // 5. Cut in the middle of the data.
  writeFileSync(path, good.subarray(0, 40));
  await refused(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
});

test('duplicate entries and entry names with "..", absolute parts or backslashes are refused', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'pytorch_model.bin');
  // Duplicate: the same storage twice (a reader would pick one of two different contents).
  const dup = zip64Bytes([
    { name: 'archive/data.pkl', data: statePickle(STORAGES, TENSORS) },
    { name: 'archive/data/0', data: f32Bytes([1, 2, 3]) },
    { name: 'archive/data/0', data: f32Bytes([9, 9, 9]) },
  ]);
  writeFileSync(path, dup);
  await refused(openCheckpoint(dir), 'bad-header', 'pytorch_model.bin', /"archive\/data\/0".*more than once/);
  for (const bad of ['archive/../x', '/etc/passwd', 'archive\\data\\1', 'archive/da\u0001ta']) {
    writeFileSync(path, zip64Bytes([
      { name: 'archive/data.pkl', data: statePickle(STORAGES, TENSORS) },
      { name: 'archive/data/0', data: STORAGES[0]!.bytes },
      { name: bad, data: new Uint8Array(1) },
    ]));
    await refused(openCheckpoint(dir), 'unsafe-name', 'pytorch_model.bin', /zip entry/);
  }
});

test('a deflated data.pkl is capped by its declared size, a ratio and the limit, before it is inflated', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'pytorch_model.bin');
  const pkl = statePickle(STORAGES, TENSORS);
  // A bomb: 32 MiB of one byte after the pickle deflates ~1000:1.
  const padded = new Uint8Array(pkl.length + 32 * 1024 * 1024);
  padded.set(pkl);
  const bomb = Buffer.from(zipSync({ 'archive/data.pkl': [padded, { level: 9 }], 'archive/data/0': [STORAGES[0]!.bytes, { level: 0 }] }));
  writeFileSync(path, bomb);
  await refused(openCheckpoint(dir), 'too-large', 'pytorch_model.bin', /ratio/);
  // The same bomb declaring a small size: inflating stops at the declared size.
  const liar = Buffer.from(bomb);
  const cd = centralEntries(bomb)[0]!;
  liar.writeUInt32LE(pkl.length, cd + 24);
  writeFileSync(path, liar);
  const before = process.memoryUsage().arrayBuffers;
  await refused(openCheckpoint(dir), 'bad-header', 'pytorch_model.bin', /declared/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  // Declaring more than the limit is refused outright.
  const huge = Buffer.from(bomb);
  huge.writeUInt32LE(LIMITS.pickleBytes + 1, cd + 24);
  writeFileSync(path, huge);
  await refused(openCheckpoint(dir), 'too-large', 'pytorch_model.bin', /data\.pkl/);
  // A genuinely deflated data.pkl (torch never writes one, zip tools may) still reads.
  writeFileSync(path, zipSync({ 'archive/data.pkl': [pkl, { level: 6 }], 'archive/data/0': [STORAGES[0]!.bytes, { level: 0 }] }));
  const r = await openCheckpoint(dir);
  assert.deepEqual([...(await r.readF32('w'))], [1, 2, 3]);
  await r.close();
  assert.ok(readFileSync(path).length > 0);
});
