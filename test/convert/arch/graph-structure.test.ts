// The scoring graph's output layer runs on the gathered rows only: the output Gemm reads the final
// norm, which reads a Gather of the residual stream by the score/logits row indices; and neither
// graph file carries weights (all initializers that are weights point into the shared data file).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { hfTinyDir, tempDir } from './helpers.js';

const { onnx } = onnxProto;
const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

test('score.onnx: norm + output layer after the row Gather; weights external and shared', async () => {
  const t = await tempDir('struct');
  temps.push(t);
  await convertCheckpoint(path.join(hfTinyDir, 'pythia-tiny'), t.dir, { dtype: 'fp32' });
  const score = onnx.ModelProto.decode(await readFile(path.join(t.dir, 'onnx', 'score.onnx'))).graph!;
  const producer = new Map<string, import('onnx-proto').onnx.INodeProto>();
  for (const n of score.node!) for (const o of n.output!) producer.set(o, n);
  const head = score.node!.find((n) => n.opType === 'Gemm' && n.input!.includes('head'))!;
  assert.ok(head, 'output Gemm on the head weight');
  const normNode = producer.get(head.input![0]!)!;
  assert.equal(normNode.opType, 'LayerNormalization');
  const gather = producer.get(normNode.input![0]!)!;
  assert.equal(gather.opType, 'Gather');
  assert.equal(producer.get(gather.input![1]!)!.opType, 'Concat', 'row indices: score rows then logits rows');

  const decoder = onnx.ModelProto.decode(await readFile(path.join(t.dir, 'onnx', 'model.onnx'))).graph!;
  for (const g of [score, decoder]) {
    const weights = g.initializer!.filter((i) => !i.name!.startsWith('const_'));
    assert.ok(weights.length > 20);
    for (const w of weights) {
      assert.equal(w.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL, `${w.name} is external`);
      assert.equal(w.externalData!.find((e) => e.key === 'location')!.value, 'model.onnx_data');
    }
  }
  // Same bytes for the same weight in both graphs.
  const where = (g: typeof score, name: string) => JSON.stringify(g.initializer!.find((i) => i.name === name)!.externalData);
  assert.equal(where(score, 'l1.qkv.w'), where(decoder, 'l1.qkv.w'));
});
