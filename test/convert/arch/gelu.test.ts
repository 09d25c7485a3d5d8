// The exact GELU as one onnxruntime Gelu operator (com.microsoft, transformer.ts) computes what
// the five operators it replaced did, x·0.5·(1 + erf(x·√½)), bit for bit on the CPU: converted
// models' numbers (scoring, greedy tokens) do not move with it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DT, GraphBuilder } from '../../../src/convert/graph/onnx-builder.js';

function graph(fused: boolean): Uint8Array {
  const g = new GraphBuilder('gelu');
  g.input('x', DT.FLOAT, ['n']);
  if (fused) {
    g.nodes.push({ opType: 'Identity', name: 'y_id', input: [g.msOp('Gelu', ['x'])], output: ['y'], attribute: [] });
  } else {
    const erf = g.op('Erf', [g.op('Mul', ['x', g.float([Math.SQRT1_2])])]);
    g.op('Mul', [g.op('Mul', ['x', g.float([0.5])]), g.op('Add', [erf, g.float([1])])], [], 'y');
  }
  g.output('y', DT.FLOAT, ['n']);
  return g.encode(new Map());
}

test('Gelu (com.microsoft) = x·0.5·(1 + erf(x·√½)) as separate operators, bit for bit', async () => {
  const ort = await import('onnxruntime-node');
  // Every float32 step over [-12, 12] at a fine grid, plus odd lengths' tails (vectorised
  // kernels handle the last few elements apart) and extremes.
  const n = 1_000_003;
  const x = new Float32Array(n + 6);
  for (let i = 0; i < n; i++) x[i] = -12 + (24 * i) / n;
  x.set([0, -0, 1e-30, -1e-30, 3.4e38, -3.4e38], n);
  const out: Float32Array[] = [];
  for (const fused of [false, true]) {
    const s = await ort.InferenceSession.create(graph(fused), { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    try {
      out.push((await s.run({ x: new ort.Tensor('float32', x, [x.length]) }))['y']!.data as Float32Array);
    } finally {
      await s.release();
    }
  }
  const [ref, gelu] = out as [Float32Array, Float32Array];
  let differ = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(ref[i], gelu[i])) differ++;
  assert.equal(differ, 0, `${differ} of ${x.length} values differ`);
  // Both are GELU (not, say, two identical no-ops): GELU(1) = 0.8413447, GELU(-1) = -0.1586553.
  const at = (v: number) => gelu[Math.round(((v + 12) * n) / 24)]!;
  assert.ok(Math.abs(at(1) - 0.8413447) < 1e-4 && Math.abs(at(-1) + 0.1586553) < 1e-4, `${at(1)}, ${at(-1)}`);
});
