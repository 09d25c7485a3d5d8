// The converter against an independent ONNX writer: the tiny GPT-2 built as its own ONNX export
// (src/tinymodel/onnx-graph.ts) and built as a Hugging Face checkpoint that convert-model converts
// (src/convert, with the scoring graph) must score every task the same, through the pipeline.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreStagesYaml } from '../support/score-stages.js';
import { parse } from 'csv-parse/sync';
import { Rig } from '../engine/rig.js';

const PIPELINE = `version: 1
models:
  - id: demo/export
    display: { name: export, family: T }
    build: { seed: 5, nEmbd: 32, nLayer: 2, nHead: 4 }
  - id: demo/converted
    display: { name: converted, family: T }
    build: { seed: 5, nEmbd: 32, nLayer: 2, nHead: 4, format: checkpoint }
tasks:
  blimp: {}
  lambada: {}
  crt: { conditions: [crt1] }
${scoreStagesYaml({ model: 'build-model', convert: true, stimuli: 'demo-stimuli', conditions: true, params: '{ limit: 4 }' })}`;

test('tiny GPT-2: its own ONNX export and its converted checkpoint give the same scores on every task', { timeout: 300_000 }, async () => {
  const rig = new Rig(PIPELINE);
  const run = await rig.cliAsync(['run', '--json']);
  assert.equal(run.code, 0, run.stderr + run.stdout.slice(-3000));
  // (From the run's own log events: a second CLI call could see another build of src/convert.)
  const logs = (id: string): string => Rig.events(run).filter((e) => e['type'] === 'stage-log' && e['id'] === id).map((e) => String(e['line'])).join('\n');
  assert.match(logs('convert-model/converted'), /converted gpt2 \(F32 → fp32\): 28 tensors/);
  assert.match(logs('convert-model/export'), /already a transformers\.js ONNX export: passed through unchanged/);
  for (const out of ['blimp', 'lambada', 'crt/crt1']) {
    const a = parse(rig.read(`output/${out}/export.csv`), { columns: true }) as Record<string, string>[];
    const b = parse(rig.read(`output/${out}/converted.csv`), { columns: true }) as Record<string, string>[];
    assert.equal(a.length, 4, out);
    assert.equal(b.length, a.length, out);
    let compared = 0;
    for (const [i, row] of a.entries()) {
      for (const [col, va] of Object.entries(row)) {
        const vb = b[i]![col]!;
        if (col === 'model') continue;
        const close = (x: number, y: number): boolean =>
          // Rank statistics over the top 100 next words can swap near-tied logits at fp32 noise.
          Math.abs(x - y) <= (/^spearman/.test(col) ? 0.02 : 1e-4 * Math.max(1, Math.abs(x)));
        const na = Number(va);
        if (va !== '' && Number.isFinite(na) && !/^(True|False)$/.test(va)) {
          assert.ok(close(na, Number(vb)), `${out} row ${i} ${col}: ${va} vs ${vb}`);
          compared++;
        } else if (/^\[-?\d/.test(va)) {
          const xa = JSON.parse(va) as number[];
          const xb = JSON.parse(vb) as number[];
          assert.equal(xb.length, xa.length, `${out} row ${i} ${col}`);
          xa.forEach((x, k) => assert.ok(close(x, xb[k]!), `${out} row ${i} ${col}[${k}]: ${x} vs ${xb[k]}`));
          compared += xa.length;
        } else {
          assert.equal(vb, va, `${out} row ${i} ${col}`);
        }
      }
    }
    assert.ok(compared >= 4, `${out}: ${compared} numbers compared`);
  }
});
