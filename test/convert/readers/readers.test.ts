// Checkpoint readers on the hub-layout checkpoints in ../shared/models/hf-tiny and on fixtures
// written here: sharded safetensors, F16/BF16 storage, torch.save zips with offsets, shared and
// strided storages, sharded .bin, and broken files that must fail naming the file and tensor.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { unzipSync } from 'fflate';
import { CheckpointError, openCheckpoint } from '../../../src/convert/checkpoint.js';
import { writeSafetensors } from '../../../src/convert/readers/safetensors-write.js';
import { sharedDir } from '../../support/fake-hub.js';
import { bf16Bytes, f16Bytes, f32Bytes, rowMajorStrides, statePickle, writeTorchStateDict, writeTorchZip, zip64Bytes } from './torch-fixture.js';

const HF_TINY = join(sharedDir(), 'models', 'hf-tiny');

function temp(t: { after(fn: () => Promise<void>): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function rejectsWith(p: Promise<unknown>, reason: string, file: string, tensor?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CheckpointError, `expected a CheckpointError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.equal(err.file, file, err.message);
    assert.ok(err.message.includes(file), err.message);
    if (tensor !== undefined) {
      assert.equal(err.tensor, tensor, err.message);
      assert.ok(err.message.includes(tensor), err.message);
    }
    return true;
  });
}

test('hf-tiny safetensors checkpoints list shapes the configs imply and read every tensor', async () => {
  for (const name of ['gpt2-tiny', 'pythia-tiny', 'olmo-tiny', 'hf_olmo-tiny']) {
    const dir = join(HF_TINY, name);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
    const r = await openCheckpoint(dir);
    try {
      assert.equal(r.format, 'safetensors');
      assert.deepEqual(r.files, ['model.safetensors']);
      const hidden = config.hidden_size ?? config.n_embd ?? config.d_model;
      const embedName = r.list().map((t) => t.name).find((n) => /(wte|embed_in|embed_tokens)\.weight$/.test(n));
      assert.ok(embedName, `${name}: no embedding tensor`);
      assert.equal(r.info(embedName).shape[1], hidden, `${name}: embedding width`);
      for (const t of r.list()) {
        const x = await r.readF32(t.name);
        assert.equal(x.length, t.shape.reduce((a, b) => a * b, 1), `${name}/${t.name}`);
        assert.ok(x.every(Number.isFinite), `${name}/${t.name} finite`);
      }
    } finally {
      await r.close();
    }
  }
});

test('llama-tiny pytorch_model.bin: every tensor equals its storage bytes as an independent unzip sees them', async () => {
  const dir = join(HF_TINY, 'llama-tiny');
  const r = await openCheckpoint(dir);
  try {
    assert.equal(r.format, 'torch');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
    assert.equal(r.list().filter((t) => /layers\.\d+\.self_attn\.q_proj\.weight$/.test(t.name)).length, config.num_hidden_layers);
    assert.deepEqual(r.info('model.embed_tokens.weight').shape, [config.vocab_size, config.hidden_size]);
    const zip = unzipSync(readFileSync(join(dir, 'pytorch_model.bin')));
    const storages = Object.entries(zip).filter(([k]) => k.includes('/data/')).map(([, v]) => Buffer.from(v));
    for (const t of r.list()) {
      const bytes = Buffer.from(await r.readBytes(t.name));
      // Every tensor here is a whole contiguous storage: its bytes are exactly one data/N entry.
      assert.ok(storages.some((s) => s.equals(bytes)), `${t.name}: bytes match no storage`);
      const f = await r.readF32(t.name);
      assert.equal(f[0], bytes.readFloatLE(0));
    }
  } finally {
    await r.close();
  }
});

test('safetensors F32/F16/BF16 read back as float32; sharded through the index', async (t) => {
  const dir = temp(t);
  const vals = [1, -2, 0.5, 0.25, 3, -0.125];
  await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
    { name: 'a', dtype: 'F32', shape: [2, 3], data: f32Bytes(vals) },
    { name: 'b', dtype: 'F16', shape: [3, 2], data: f16Bytes(vals) },
  ]);
  await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [
    { name: 'c', dtype: 'BF16', shape: [6], data: bf16Bytes(vals) },
  ]);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({
    metadata: { total_size: 48 },
    weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' },
  }));
  const r = await openCheckpoint(dir);
  try {
    assert.deepEqual(r.files, ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    assert.deepEqual(r.list().map((x) => [x.name, x.dtype, x.shape, x.file]), [
      ['a', 'F32', [2, 3], 'model-00001-of-00002.safetensors'],
      ['b', 'F16', [3, 2], 'model-00001-of-00002.safetensors'],
      ['c', 'BF16', [6], 'model-00002-of-00002.safetensors'],
    ]);
    for (const n of ['a', 'b', 'c']) assert.deepEqual([...(await r.readF32(n))], vals, n);
    assert.deepEqual([...(await r.readBytes('b'))], [...f16Bytes(vals)]);
    assert.equal(r.has('d'), false);
    await rejectsWith(r.readF32('d'), 'missing-tensor', 'model.safetensors.index.json', 'd');
  } finally {
    await r.close();
  }
});

test('a truncated safetensors file fails at open naming the file and the first tensor cut off', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'model.safetensors');
  await writeSafetensors(path, [
    { name: 'whole', dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) },
    { name: 'cut', dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) },
  ]);
  const size = readFileSync(path).length;
  truncateSync(path, size - 3);
  await rejectsWith(openCheckpoint(dir), 'truncated', 'model.safetensors', 'cut');
  truncateSync(path, 5);
  await rejectsWith(openCheckpoint(dir), 'truncated', 'model.safetensors');
});

test('a missing shard fails naming the shard and a tensor it should hold', async (t) => {
  const dir = temp(t);
  await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1], data: f32Bytes([1]) }]);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({
    weight_map: { a: 'model-00001-of-00002.safetensors', 'layers.1.w': 'model-00002-of-00002.safetensors' },
  }));
  await rejectsWith(openCheckpoint(dir), 'missing-shard', 'model-00002-of-00002.safetensors', 'layers.1.w');
  // An index that puts a tensor in a shard not holding it.
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({
    weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors' },
  }));
  await rejectsWith(openCheckpoint(dir), 'missing-tensor', 'model-00001-of-00002.safetensors', 'b');
});

test('no weights: the error lists the files the readers look for', async (t) => {
  const dir = temp(t);
  writeFileSync(join(dir, 'config.json'), '{}');
  await assert.rejects(openCheckpoint(dir), /model\.safetensors.*pytorch_model\.bin/);
});

test('torch zip: storage offsets, shared storages, strided views and half/bfloat16 storages', async (t) => {
  const dir = temp(t);
  const m = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]; // a 3x4 matrix in one storage
  writeTorchZip(join(dir, 'pytorch_model.bin'), [
    { key: '0', dtype: 'F32', bytes: f32Bytes(m) },
    { key: '1', dtype: 'F16', bytes: f16Bytes([0.5, -1.5, 2, 4]) },
    { key: '2', dtype: 'BF16', bytes: bf16Bytes([1, -0.25, 8]) },
  ], [
    { name: 'full', storage: '0', offset: 0, size: [3, 4], stride: [4, 1] },
    { name: 'row1', storage: '0', offset: 4, size: [4], stride: [1] },
    { name: 'transposed', storage: '0', offset: 0, size: [4, 3], stride: [1, 4] },
    { name: 'column2', storage: '0', offset: 2, size: [3, 1], stride: [4, 1] },
    { name: 'half', storage: '1', offset: 1, size: [3], stride: [1] },
    { name: 'bf', storage: '2', offset: 0, size: [3], stride: [1] },
  ], 'pytorch_model');
  const r = await openCheckpoint(dir);
  try {
    assert.deepEqual([...(await r.readF32('full'))], m);
    assert.deepEqual([...(await r.readF32('row1'))], [4, 5, 6, 7]);
    assert.deepEqual([...(await r.readF32('transposed'))], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(r.info('transposed').shape, [4, 3]);
    assert.deepEqual([...(await r.readF32('column2'))], [2, 6, 10]);
    assert.deepEqual([...(await r.readF32('half'))], [-1.5, 2, 4]);
    assert.equal(r.info('half').dtype, 'F16');
    assert.deepEqual([...(await r.readF32('bf'))], [1, -0.25, 8]);
  } finally {
    await r.close();
  }
});

test('torch zip: a view past its storage, or a missing storage entry, names file and tensor', async (t) => {
  const dir = temp(t);
  writeTorchZip(join(dir, 'pytorch_model.bin'), [{ key: '0', dtype: 'F32', bytes: f32Bytes([1, 2, 3]) }], [
    { name: 'too.long', storage: '0', offset: 1, size: [3], stride: [1] },
  ]);
  await rejectsWith(openCheckpoint(dir), 'truncated', 'pytorch_model.bin', 'too.long');
  writeTorchZip(join(dir, 'pytorch_model.bin'), [
    { key: '0', dtype: 'F32', bytes: f32Bytes([1, 2, 3]) },
    { key: '1', dtype: 'F32', bytes: f32Bytes([4]) },
  ], [
    { name: 'fine', storage: '0', offset: 0, size: [3], stride: [1] },
    { name: 'orphan', storage: '1', offset: 0, size: [1], stride: [1] },
  ], 'archive', ['1']);
  await rejectsWith(openCheckpoint(dir), 'truncated', 'pytorch_model.bin', 'orphan');
  // a truncated zip loses its central directory
  const path = join(dir, 'pytorch_model.bin');
  truncateSync(path, readFileSync(path).length - 30);
  await rejectsWith(openCheckpoint(dir), 'truncated', 'pytorch_model.bin');
});

test('sharded pytorch_model.bin through its index; the legacy non-zip format is refused clearly', async (t) => {
  const dir = temp(t);
  const w1 = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const w2 = Float32Array.from([-1, -2]);
  writeTorchStateDict(join(dir, 'pytorch_model-00001-of-00002.bin'), [{ name: 'l0.w', shape: [2, 3], data: w1 }]);
  writeTorchStateDict(join(dir, 'pytorch_model-00002-of-00002.bin'), [{ name: 'l1.b', shape: [2], data: w2 }]);
  writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({
    weight_map: { 'l0.w': 'pytorch_model-00001-of-00002.bin', 'l1.b': 'pytorch_model-00002-of-00002.bin' },
  }));
  const r = await openCheckpoint(dir);
  try {
    assert.equal(r.format, 'torch');
    assert.deepEqual([...(await r.readF32('l0.w'))], [...w1]);
    assert.deepEqual([...(await r.readF32('l1.b'))], [...w2]);
    assert.equal(r.info('l1.b').file, 'pytorch_model-00002-of-00002.bin');
    assert.deepEqual(rowMajorStrides([2, 3]), [3, 1]);
  } finally {
    await r.close();
  }
  const legacy = join(dir, 'legacy');
  mkdirSync(legacy);
  writeFileSync(join(legacy, 'pytorch_model.bin'), Buffer.from([0x80, 0x02, 0x8a, 0x0a]));
  await rejectsWith(openCheckpoint(legacy), 'unsupported', 'pytorch_model.bin');
});

test('safetensors win over .bin when a folder holds both', async (t) => {
  const dir = temp(t);
  copyFileSync(join(HF_TINY, 'pythia-tiny', 'model.safetensors'), join(dir, 'model.safetensors'));
  copyFileSync(join(HF_TINY, 'llama-tiny', 'pytorch_model.bin'), join(dir, 'pytorch_model.bin'));
  const r = await openCheckpoint(dir);
  assert.equal(r.format, 'safetensors');
  await r.close();
});

test('torch zip in the zip64 layout (archives over 4 GiB): sizes and offsets from the zip64 extra fields', async (t) => {
  const dir = temp(t);
  const storages = [
    { key: '0', dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3, 4, 5, 6]) },
    { key: '1', dtype: 'BF16' as const, bytes: bf16Bytes([0.5, -4]) },
  ];
  const tensors = [
    { name: 'w', storage: '0', offset: 0, size: [2, 3], stride: [3, 1] },
    { name: 'wt', storage: '0', offset: 0, size: [3, 2], stride: [1, 3] },
    { name: 'b', storage: '1', offset: 0, size: [2], stride: [1] },
  ];
  writeFileSync(join(dir, 'pytorch_model.bin'), zip64Bytes([
    { name: 'pytorch_model/data.pkl', data: statePickle(storages, tensors) },
    { name: 'pytorch_model/byteorder', data: Buffer.from('little') },
    ...storages.map((s) => ({ name: `pytorch_model/data/${s.key}`, data: s.bytes })),
  ]));
  const r = await openCheckpoint(dir);
  try {
    assert.deepEqual([...(await r.readF32('w'))], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...(await r.readF32('wt'))], [1, 4, 2, 5, 3, 6]);
    assert.deepEqual([...(await r.readF32('b'))], [0.5, -4]);
  } finally {
    await r.close();
  }
});
