// NaN or ±Inf in a checkpoint's weights (issue 17, item 10): the conversion fails naming the
// tensor and its file, instead of a model whose every score is NaN (empty cells, exit 0).

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../../src/convert/checkpoint.js';
import { ConvertError, convertCheckpoint } from '../../../src/convert/convert.js';
import { writeSafetensors } from '../../../src/convert/readers/safetensors-write.js';
import { sharedDir } from '../../support/fake-hub.js';
import { temp } from './helpers.js';

const PYTHIA = join(sharedDir(), 'models', 'hf-tiny', 'pythia-tiny');

/** pythia-tiny with `value` written at element `at` of `tensor`. */
async function poisoned(dest: string, tensor: string, at: number, value: number): Promise<void> {
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(PYTHIA)) if (f !== 'model.safetensors') copyFileSync(join(PYTHIA, f), join(dest, f));
  const r = await openCheckpoint(PYTHIA);
  const tensors = [];
  for (const t of r.list()) {
    const data = await r.readBytes(t.name);
    if (t.name === tensor) {
      assert.equal(t.dtype, 'F32');
      new DataView(data.buffer, data.byteOffset, data.byteLength).setFloat32(at * 4, value, true);
    }
    tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data });
  }
  await r.close();
  await writeSafetensors(join(dest, 'model.safetensors'), tensors);
}

test('NaN or Inf in a weight fails the conversion naming the tensor, file and element', async (t) => {
  const root = temp(t);
  const cases: [string, number, number, RegExp][] = [
    ['gpt_neox.layers.1.mlp.dense_4h_to_h.weight', 5, NaN, /NaN/],
    ['gpt_neox.embed_in.weight', 0, Infinity, /\+Inf/],
    ['gpt_neox.layers.0.attention.query_key_value.weight', 7, -Infinity, /-Inf/],
  ];
  for (const [i, [tensor, at, value, kind]] of cases.entries()) {
    const dir = join(root, `m${i}`);
    await poisoned(dir, tensor, at, value);
    for (const dtype of ['fp32', 'fp16'] as const) {
      await assert.rejects(convertCheckpoint(dir, join(dir, `out-${dtype}`), { dtype }), (err: unknown) => {
        assert.ok(err instanceof ConvertError, String(err));
        assert.equal(err.failure.kind, 'non-finite', err.message);
        assert.match(err.message, new RegExp(`model\\.safetensors: tensor "${tensor.replace(/\./g, '\\.')}" holds`));
        assert.match(err.message, kind);
        return true;
      });
    }
  }
});
