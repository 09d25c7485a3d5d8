// The scoring graph split into N consecutive layer ranges, chained on the host, gives the one-graph
// numbers; fp16 graphs load through the project's LM layer, keep float32 outputs, and drift from
// the float64 references by no more than fp16 rounding explains (figures in src/convert/README.md).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { splitLayers } from '../../../src/convert/graph/score-graph.js';
import { loadLanguageModel } from '../../../src/lm/index.js';
import { writeFixture } from './fixtures.js';
import { causalMask, hfTinyDir, loadRefs, ort, runScore, session, tempDir } from './helpers.js';

const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

test('scoring parts: 1, 2 and 4 consecutive layer ranges give the same log-probabilities and logits', async () => {
  const t = await tempDir('parts');
  temps.push(t);
  const cfg = { model_type: 'llama', vocab_size: 61, hidden_size: 32, intermediate_size: 40, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 4, rms_norm_eps: 1e-5, tie_word_embeddings: false, max_position_embeddings: 64 };
  await writeFixture(path.join(t.dir, 'src'), cfg, { seed: 'parts' });
  const report = await convertCheckpoint(path.join(t.dir, 'src'), path.join(t.dir, 'out'), { dtype: 'fp32', scoringParts: 4 });
  const partFiles = report.files.map((f) => f.path).filter((p) => p.includes('.part'));
  assert.deepEqual(partFiles, [0, 1, 2, 3].map((i) => `onnx/score.part${i}of4.onnx`));
  // Parts reference the one data file: no part carries weights of its own.
  for (const p of partFiles) assert.ok(report.files.find((f) => f.path === p)!.bytes < 64 * 1024, `${p} holds no weights`);

  const ids = [[3, 14, 15, 9, 26, 5, 35, 8], [2, 7, 18, 28, 1, 0, 0, 0]];
  const lengths = [8, 5];
  const input = {
    ids,
    positions: ids.map((r) => r.map((_, i) => i)),
    mask: causalMask(lengths, 8),
    scorePositions: [[0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 3, 3, 3]],
    targets: [ids[0]!.slice(1), [7, 18, 28, 1, 1, 1, 1]],
    logitsPositions: [[7], [4]],
  };
  const whole = await runScore(await session(path.join(t.dir, 'out', 'onnx', 'score.onnx')), input);

  const o = await ort();
  const i64 = (rows: number[][]) => new o.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  const mask = new o.Tensor('bool', Uint8Array.from(input.mask.flat(2).map((v) => (v ? 1 : 0))), [2, 8, 8]);
  for (const n of [2, 4]) {
    const r2 = n === 4 ? report : await convertCheckpoint(path.join(t.dir, 'src'), path.join(t.dir, `out${n}`), { dtype: 'fp32', scoringParts: n });
    const dir = n === 4 ? path.join(t.dir, 'out') : path.join(t.dir, `out${n}`);
    assert.ok(r2.files.some((f) => f.path === `onnx/score.part${n - 1}of${n}.onnx`));
    let hidden: InstanceType<typeof o.Tensor> | null = null;
    let last: Record<string, InstanceType<typeof o.Tensor>> = {};
    for (let i = 0; i < n; i++) {
      const s = await session(path.join(dir, 'onnx', `score.part${i}of${n}.onnx`));
      const feeds: Record<string, InstanceType<typeof o.Tensor>> = { position_ids: i64(input.positions), attention_mask: mask };
      if (i === 0) feeds['input_ids'] = i64(ids);
      else feeds['hidden_in'] = hidden!;
      if (i === n - 1) Object.assign(feeds, { score_positions: i64(input.scorePositions), target_ids: i64(input.targets), logits_positions: i64(input.logitsPositions) });
      last = await s.run(feeds);
      hidden = last['hidden'] ?? null;
      await s.release();
    }
    const lp = last['logprobs']!.data as Float32Array;
    const lg = last['logits']!.data as Float32Array;
    lp.forEach((v, k) => assert.ok(Math.abs(v - whole.logprobs[k]!) < 1e-5, `${n} parts: logprob ${k}`));
    lg.forEach((v, k) => assert.ok(Math.abs(v - whole.logits[k]!) < 1e-5, `${n} parts: logit ${k}`));
  }
});

test('layer split is consecutive, covers every layer once, and leaves no part empty', () => {
  const spec = { layers: 10, hidden: 64, heads: 4, kvHeads: 4, headDim: 16, mlp: { gated: true, act: 'silu', inner: 176 }, embedRows: 50000, vocab: 50000, tiedHead: false } as unknown as Parameters<typeof splitLayers>[0];
  for (const n of [1, 2, 3, 4, 10]) {
    const parts = splitLayers(spec, n);
    assert.equal(parts.length, n);
    assert.equal(parts[0]!.from, 0);
    assert.equal(parts[n - 1]!.to, 10);
    parts.forEach((p, i) => {
      assert.ok(p.to > p.from, `part ${i} of ${n} has layers`);
      if (i > 0) assert.equal(p.from, parts[i - 1]!.to);
    });
  }
  // A large embedding and output layer push blocks away from the ends.
  const two = splitLayers(spec, 2);
  assert.equal(two[0]!.to, 5);
  assert.throws(() => splitLayers(spec, 11), /exceeds the model's 10 layers/);
});

test('fp16 graphs: float32 outputs, fp16 weights, drift within fp16 rounding, loadable by the LM layer', async () => {
  const t = await tempDir('fp16');
  temps.push(t);
  const out = path.join(t.dir, 'pythia16');
  const report = await convertCheckpoint(path.join(hfTinyDir, 'pythia-tiny'), out, { dtype: 'fp16' });
  const files = new Map(report.files.map((f) => [f.path, f.bytes]));
  for (const f of ['onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data', 'onnx/score_fp16.onnx']) assert.ok(files.has(f), f);
  // Half the bytes of float32 (norm gains stay float32, a few hundred bytes).
  assert.ok(files.get('onnx/model_fp16.onnx_data')! < 2.1 * report.parameters);
  const cfg = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.deepEqual(cfg['transformers.js_config']!['use_external_data_format'], { 'model_fp16.onnx': 1 });

  const refs = (await loadRefs('pythia-tiny')).slice(0, 20);
  const lm = await loadLanguageModel(out, { dtype: 'fp16', plain: true });
  try {
    const seq = await lm.sequence(refs.map((r) => r.text));
    let worst = 0;
    seq.forEach((s, i) => s.tokenLogprobs.forEach((lp, k) => (worst = Math.max(worst, Math.abs(lp - refs[i]!.logprobs_fp64[k]!)))));
    assert.ok(worst > 0 && worst < 0.05, `fp16 max |logprob - fp64 reference| = ${worst}`);
    const gen = await lm.generate([refs[0]!.text], 10);
    assert.equal(gen[0]!.newTokenIds.length, 10);
  } finally {
    await lm.dispose();
  }
  const sc = await session(path.join(out, 'onnx', 'score_fp16.onnx'));
  const r = refs[1]!;
  const T = r.ids.length;
  const res = await runScore(sc, { ids: [r.ids], positions: [r.ids.map((_, i) => i)], mask: causalMask([T], T), scorePositions: [r.ids.slice(1).map((_, i) => i)], targets: [r.ids.slice(1)], logitsPositions: [[T - 1]] });
  assert.ok(res.logprobs instanceof Float32Array && res.logits instanceof Float32Array);
  res.logprobs.forEach((v, k) => assert.ok(Math.abs(v - r.logprobs_fp64[k]!) < 0.05, `score_fp16 logprob ${k}: ${v} vs ${r.logprobs_fp64[k]}`));
});
