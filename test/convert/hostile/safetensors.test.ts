// Hostile safetensors files (issue 17, items 6 and 11): a header that is null or not an object,
// a header length past the limit (checked before anything of that size is allocated), tensors
// at negative offsets or overlapping each other, shapes of absurd rank — each refused naming the file.

import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { LIMITS } from '../../../src/convert/readers/limits.js';
import { refused, temp } from './helpers.js';

/** A safetensors file with `header` (any JSON value) and `data` after it. */
function writeRaw(path: string, header: unknown, data: Uint8Array = new Uint8Array(0)): void {
  const head = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  writeFileSync(path, Buffer.concat([len, head, data]));
}

test('a null, array or string safetensors header is refused naming the file', async (t) => {
  const dir = temp(t);
  for (const [header, what] of [[null, /header is null/], [[1, 2], /an array/], ['x', /a string/]] as const) {
    writeRaw(join(dir, 'model.safetensors'), header);
    await refused(openCheckpoint(dir), 'bad-header', 'model.safetensors', what);
  }
});

test('a header length past the limit is refused before it is read, even where the file is that large', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'model.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(LIMITS.safetensorsHeaderBytes + 1));
  writeFileSync(path, len);
  truncateSync(path, LIMITS.safetensorsHeaderBytes + 1024); // sparse: no disk used
  const before = process.memoryUsage().arrayBuffers;
  await refused(openCheckpoint(dir), 'bad-header', 'model.safetensors', /limit/);
  assert.ok(process.memoryUsage().arrayBuffers - before < LIMITS.safetensorsHeaderBytes / 2, 'the header was not read');
});

test('negative, overlapping or out-of-order tensor ranges and absurd ranks are refused', async (t) => {
  const dir = temp(t);
  const data = new Uint8Array(64);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, /"a".*(negative|malformed)/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, /overlap/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, /overlap/],
    [{ a: { dtype: 'F32', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], data_offsets: [0, 4] } }, /dimensions/],
    [{ a: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 2 ** 31], data_offsets: [0, 0] } }, /"a"/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, /"a"/],
  ];
  for (const [header, re] of cases) {
    writeRaw(join(dir, 'model.safetensors'), header, data);
    await refused(openCheckpoint(dir), 'bad-header', 'model.safetensors', re);
  }
  // Tensors sharing nothing, in any order, are fine.
  writeRaw(join(dir, 'model.safetensors'), {
    b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  }, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
  const r = await openCheckpoint(dir);
  assert.deepEqual([...(await r.readF32('b'))], [3, 4]);
  await r.close();
});

test('overlong tensor names and dtype strings are refused without being printed', async (t) => {
  const dir = temp(t);
  const long = 'x'.repeat(100_000);
  writeRaw(join(dir, 'model.safetensors'), { [long]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
  const e1 = await refused(openCheckpoint(dir), 'bad-header', 'model.safetensors', /name of 100000 characters/);
  assert.ok(e1.message.length < 500, e1.message.slice(0, 200));
  writeRaw(join(dir, 'model.safetensors'), { a: { dtype: long, shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
  const e2 = await refused(openCheckpoint(dir), 'unsupported', 'model.safetensors');
  assert.ok(e2.message.length < 500, e2.message.slice(0, 200));
});
