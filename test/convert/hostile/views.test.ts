// Hostile tensor views in a torch zip (issue 17, item 6): a negative offset, a stride-0 view
// standing in for a full tensor, a view with more elements than its storage, strides that do
// not match the size, a storage whose declared size disagrees with its entry — refused naming the
// file and tensor, before the gather that would have allocated the full tensor.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { f32Bytes, writeTorchZip, type FixtureTensor } from '../readers/torch-fixture.js';
import { refused, temp } from './helpers.js';

const STORAGE = { key: '0', dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3, 4]) };

test('bad views are refused naming the file and tensor', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'pytorch_model.bin');
  const cases: [FixtureTensor, RegExp][] = [
    [{ name: 'neg', storage: '0', offset: -1, size: [2], stride: [1] }, /"neg"|offset/],
    [{ name: 'bcast', storage: '0', offset: 0, size: [100000, 100000], stride: [0, 0] }, /"bcast".*stride 0/],
    [{ name: 'alias', storage: '0', offset: 0, size: [3, 2], stride: [1, 1] }, /"alias".*more elements/],
    [{ name: 'ranks', storage: '0', offset: 0, size: [2, 2], stride: [1] }, /"ranks".*stride/],
  ];
  for (const [tensor, re] of cases) {
    writeTorchZip(path, [STORAGE], [tensor]);
    const e = await refused(openCheckpoint(dir), 'bad-header', 'pytorch_model.bin', re);
    assert.equal(e.tensor ?? tensor.name, tensor.name);
  }
  // A storage id whose element count disagrees with its entry's bytes.
  writeTorchZip(path, [{ ...STORAGE, bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]).subarray(0, 16) }], [{ name: 'ok', storage: '0', offset: 0, size: [4], stride: [1] }]);
  const r = await openCheckpoint(dir);
  assert.deepEqual([...(await r.readF32('ok'))], [1, 2, 3, 4]);
  await r.close();
  // A size-1 dimension with stride 0 (as torch writes unsqueezed views) is fine.
  writeTorchZip(path, [STORAGE], [{ name: 'u', storage: '0', offset: 0, size: [1, 4], stride: [0, 1] }]);
  const r2 = await openCheckpoint(dir);
  assert.deepEqual([...(await r2.readF32('u'))], [1, 2, 3, 4]);
  await r2.close();
});
