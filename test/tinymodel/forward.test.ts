// The written ONNX graph computes GPT-2: its logits (through transformers.js) equal an independent
// plain-TypeScript forward pass on the stored weights; feeding past_key_values gives the same
// logits as the full sequence; greedy generate() is deterministic, equals step-by-step argmax,
// and gives the same continuation in a left-padded batch as alone.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildInTemp, loadWithTransformers, argmax, type Built } from './fixture.js';
import { readOnnxWeights, referenceLogits, type RefModel } from './reference-forward.js';

const V = 50257;
const SIZES = { nLayer: 2, nHead: 2, nEmbd: 32 };
let built: Built;
let loaded: Awaited<ReturnType<typeof loadWithTransformers>>;
let Tensor: typeof import('@huggingface/transformers').Tensor;

before(async () => {
  built = await buildInTemp({ seed: 11, ...SIZES });
  loaded = await loadWithTransformers(built);
  ({ Tensor } = await import('@huggingface/transformers'));
});
after(async () => built.cleanup());

const i64 = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);

test('logits equal a plain TypeScript reference forward (right-padded batch of two)', async () => {
  const a = loaded.tokenizer.encode('The quick brown fox jumps over the lazy dog.');
  const b = loaded.tokenizer.encode('Mary had left.');
  const S = a.length;
  const ids = [a, [...b, ...Array(S - b.length).fill(50256)]];
  const mask = [a.map(() => 1), b.map(() => 1).concat(Array(S - b.length).fill(0))];
  // transformers.js makes position_ids as cumsum(mask) - 1, with 1 at padding.
  const positions = mask.map((row) => { let c = 0; return row.map((m) => (m ? c++ : 1)); });
  const out = await loaded.model({ input_ids: i64(ids), attention_mask: i64(mask) });
  const logits = out.logits as InstanceType<typeof Tensor>;
  assert.deepEqual(logits.dims, [2, S, V]);
  const ref: RefModel = { ...SIZES, vocab: V, eps: 1e-5, w: await readOnnxWeights(join(built.dir, 'onnx', 'model.onnx')) };
  const expected = referenceLogits(ref, ids, mask, positions);
  const data = logits.data as Float32Array;
  let maxDiff = 0;
  let spread = 0;
  for (let bi = 0; bi < 2; bi++) {
    for (let s = 0; s < S; s++) {
      const e = expected[bi]![s]!;
      let lo = Infinity, hi = -Infinity;
      for (let v = 0; v < V; v++) {
        const got = data[(bi * S + s) * V + v]!;
        maxDiff = Math.max(maxDiff, Math.abs(got - e[v]!));
        lo = Math.min(lo, got); hi = Math.max(hi, got);
      }
      spread = Math.max(spread, hi - lo);
    }
  }
  assert.ok(maxDiff < 1e-4, `max |onnx - reference| = ${maxDiff}`);
  // Not degenerate: logits at a position differ clearly across the vocabulary.
  assert.ok(spread > 1, `logit spread ${spread}`);
});

test('other sizes (3 layers, 4 heads, n_embd 48) also match the reference forward', async () => {
  const sizes = { nLayer: 3, nHead: 4, nEmbd: 48 };
  const other = await buildInTemp({ seed: 12, ...sizes, nPositions: 64 });
  try {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(join(other.dir, 'onnx', 'model.onnx'));
    const ids = [[464, 3797, 3332, 319, 262], [24119, 550, 1364, 50256, 50256]];
    const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
    const positions = [[0, 1, 2, 3, 4], [0, 1, 2, 1, 1]];
    const t64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [2, 5]);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { input_ids: t64(ids), attention_mask: t64(mask), position_ids: t64(positions) };
    for (const name of session.inputNames) {
      if (name.startsWith('past_key_values')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [2, 4, 0, 12]);
    }
    const got = (await session.run(feeds))['logits']!.data as Float32Array;
    await session.release();
    const ref: RefModel = { ...sizes, vocab: V, eps: 1e-5, w: await readOnnxWeights(join(other.dir, 'onnx', 'model.onnx')) };
    const expected = referenceLogits(ref, ids, mask, positions);
    let maxDiff = 0;
    for (let b = 0; b < 2; b++) for (let s = 0; s < 5; s++) for (let v = 0; v < V; v++) {
      maxDiff = Math.max(maxDiff, Math.abs(got[(b * 5 + s) * V + v]! - expected[b]![s]![v]!));
    }
    assert.ok(maxDiff < 1e-4, `max |onnx - reference| = ${maxDiff}`);
  } finally {
    await other.cleanup();
  }
});

test('past_key_values: two-step incremental logits equal full-sequence logits', async () => {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(join(built.dir, 'onnx', 'model.onnx'));
  const t64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  const H = SIZES.nHead, D = SIZES.nEmbd / SIZES.nHead;
  const empty = () => new ort.Tensor('float32', new Float32Array(0), [2, H, 0, D]);
  // Left-padded batch: the second row starts with two padding tokens.
  const ids = [[464, 2068, 7586, 21831, 18045, 625, 262], [50256, 50256, 24119, 550, 1364, 13, 383]];
  const mask = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]];
  const pos = mask.map((row) => { let c = 0; return row.map((m) => (m ? c++ : 1)); });
  const feeds = (from: number, to: number, past: Record<string, InstanceType<typeof ort.Tensor>> | null) => {
    const f: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: t64(ids.map((r) => r.slice(from, to))),
      attention_mask: t64(mask.map((r) => r.slice(0, to))),
      position_ids: t64(pos.map((r) => r.slice(from, to))),
    };
    for (let l = 0; l < SIZES.nLayer; l++) {
      for (const kv of ['key', 'value']) f[`past_key_values.${l}.${kv}`] = past ? past[`present.${l}.${kv}`]! : empty();
    }
    return f;
  };
  const full = await session.run(feeds(0, 7, null));
  const step1 = await session.run(feeds(0, 4, null));
  const step2 = await session.run(feeds(4, 7, step1));
  assert.deepEqual(step2['present.0.key']!.dims, [2, H, 7, D]);
  const fullL = full['logits']!.data as Float32Array;
  const parts = [step1['logits']!.data as Float32Array, step2['logits']!.data as Float32Array];
  let maxDiff = 0;
  let compared = 0;
  for (let b = 0; b < 2; b++) {
    for (let s = 0; s < 7; s++) {
      if (mask[b]![s] === 0) continue; // padding queries see nothing; their logits are unused
      const [part, off, len] = s < 4 ? [parts[0]!, s, 4] : [parts[1]!, s - 4, 3];
      for (let v = 0; v < V; v++) {
        maxDiff = Math.max(maxDiff, Math.abs(part[(b * len + off) * V + v]! - fullL[(b * 7 + s) * V + v]!));
      }
      compared++;
    }
  }
  assert.equal(compared, 12);
  assert.ok(maxDiff < 1e-4, `max |incremental - full| = ${maxDiff}`);
  await session.release();
});

test('greedy generate: deterministic, equals step-by-step argmax, varied tokens', async () => {
  const prompt = loaded.tokenizer.encode('The cat sat on the');
  const gen = async (rows: number[][], masks: number[][]) => {
    const out = await loaded.model.generate({ input_ids: i64(rows), attention_mask: i64(masks), max_new_tokens: 10, do_sample: false }) as InstanceType<typeof Tensor>;
    const all = Array.from(out.data as BigInt64Array, Number);
    const width = out.dims[1]!;
    return rows.map((_, b) => all.slice(b * width + rows[0]!.length, (b + 1) * width));
  };
  const [first] = await gen([prompt], [prompt.map(() => 1)]);
  const [second] = await gen([prompt], [prompt.map(() => 1)]);
  assert.equal(first!.length, 10);
  assert.deepEqual(second, first);
  // Step by step without a cache: append the argmax of the last position's logits.
  const seq = [...prompt];
  for (let k = 0; k < 10; k++) {
    const out = await loaded.model({ input_ids: i64([seq]), attention_mask: i64([seq.map(() => 1)]) });
    const data = (out.logits as InstanceType<typeof Tensor>).data as Float32Array;
    seq.push(argmax(data, (seq.length - 1) * V, seq.length * V));
  }
  assert.deepEqual(first, seq.slice(prompt.length));
  assert.ok(new Set(first).size >= 4, `greedy continuation is too repetitive: ${first}`);
  // The same prompt in a left-padded batch beside a longer one continues identically.
  const other = loaded.tokenizer.encode('Colorless green ideas sleep furiously, said the');
  const pad = other.length - prompt.length;
  assert.ok(pad > 0);
  const batch = await gen([other, [...Array(pad).fill(50256), ...prompt]], [other.map(() => 1), [...Array(pad).fill(0), ...prompt.map(() => 1)]]);
  assert.deepEqual(batch[1], first);
});
