// Batched greedy generation (greedy.ts) gives one-at-a-time generation's tokens, token for token:
// on tiny-gpt2 (the fast path, transformers.js's decoder session) against the plain path
// (transformers.js generate, one prompt at a time), and on hf-tiny checkpoints converted by the
// project (the scoring-graph path, a decoder session loaded once on the first generate) against
// Hugging Face transformers' own greedy tokens. Rows that stop early (EOS) leave the batch without
// changing the others.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { decoderGraphFile, loadDecoderSession, loadOrt, type DecoderSession, type OrtTensorLike, type RentedDecoderSession } from '../../src/lm/decoder.js';
import { CACHE_GROWTH, greedyBatch, greedyBatches } from '../../src/lm/greedy.js';
import { loadLanguageModel } from '../../src/lm/index.js';
import { loadRuntime } from '../../src/lm/load.js';
import { sessionOptions } from '../../src/lm/threads.js';
import { loadRefs } from '../convert/arch/helpers.js';
import { digitPrompt, sharedDir, tinyGpt2 } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'lm-greedy-'));
after(() => rmSync(work, { recursive: true, force: true }));

const grid = (a: number, b: number, c: number): number[][][] => [
  [[a], [a], [a]],
  [[b], [b], [b]],
  [[c], [c], [-1]],
];
// Digit matrices of one shape tokenize to equal lengths: real multi-row batches.
const PROMPTS = [
  digitPrompt(grid(6, 1, 3)),
  digitPrompt(grid(2, 5, 7)),
  digitPrompt(grid(9, 9, 4)),
  digitPrompt(grid(1, 8, 2)),
  'Question: A bat and a ball cost $1.10 in total. How much does the ball cost?\nAnswer:',
  'Question: If it takes 5 machines 5 minutes to make 5 widgets, how long would it take 100 machines?\nAnswer:',
  'The package',
  'The packages',
];

test('greedyBatches: exact lengths only unless padded, shortest first, under the limits', () => {
  const rows = [[1, 2, 3], [4], [5, 6, 7], [8, 9, 10], [11]].map((ids, i) => ({ ids, i }));
  const ids = (bs: Array<Array<{ i: number }>>) => bs.map((b) => b.map((r) => r.i));
  assert.deepEqual(ids(greedyBatches(rows, { maxRows: 2, batchTokens: 100 })), [[1, 4], [0, 2], [3]]);
  assert.deepEqual(ids(greedyBatches(rows, { maxRows: 8, batchTokens: 6 })), [[1, 4], [0, 2], [3]]);
  assert.deepEqual(ids(greedyBatches(rows, { maxRows: 8, batchTokens: 100, padded: true })), [[1, 4, 0, 2, 3]]);
  // Padded batches are as large as the row and token limits allow.
  const long = [...rows, { ids: new Array(40).fill(7), i: 5 }];
  assert.deepEqual(ids(greedyBatches(long, { maxRows: 8, batchTokens: 1000, padded: true })), [[1, 4, 0, 2, 3, 5]]);
  assert.deepEqual(ids(greedyBatches(long, { maxRows: 4, batchTokens: 1000, padded: true })), [[1, 4, 0, 2], [3, 5]]);
  assert.deepEqual(ids(greedyBatches(long, { maxRows: 8, batchTokens: 40, padded: true })), [[1, 4, 0, 2, 3], [5]]);
});

test('tiny-gpt2: batched greedy (fast path) = one prompt at a time (plain), in fewer forward calls', async () => {
  const plain = await loadLanguageModel(tinyGpt2, { plain: true });
  const fast = await loadLanguageModel(tinyGpt2, {});
  try {
    const lens = PROMPTS.map((p) => fast.countTokens(p));
    assert.ok(new Set(lens).size < lens.length, `some prompts share a length: ${lens.join(', ')}`);
    const a = await plain.generate(PROMPTS, 12);
    const before = fast.stats.forwardCalls;
    const b = await fast.generate(PROMPTS, 12);
    assert.deepEqual(b, a);
    const calls = fast.stats.forwardCalls - before;
    const alone = a.reduce((n, g) => n + g.newTokenIds.length, 0);
    assert.ok(calls < alone, `batched: ${calls} forward calls, one at a time ${alone}`);
  } finally {
    await plain.dispose();
    await fast.dispose();
  }
});

test('tiny-gpt2: a row that stops at EOS leaves the batch; the others are unchanged', async () => {
  const rt = await loadRuntime(tinyGpt2);
  const ort = await loadOrt();
  const session = await loadDecoderSession(tinyGpt2, { device: 'cpu', dtype: 'fp32', deviceId: 0, threads: 1 });
  try {
    // Four different texts cut to one token length.
    const texts = [PROMPTS[4]!, PROMPTS[5]!, 'Every maintainer should read the policy manual before the release', PROMPTS[0]!];
    const n = Math.min(...texts.map((t) => rt.tokenizer.encode(t).length));
    const rows = texts.map((t) => ({ ids: rt.tokenizer.encode(t).slice(0, n), maxNew: 10 }));
    const counters = { forwardCalls: 0, forwardTokens: 0, paddedForwardTokens: 0 };
    const none = new Set<number>();
    const free = await greedyBatch(ort, session, rows, none, counters);
    // Make a later token of row 0 (one it has not emitted before) an "EOS": row 0 stops there;
    // row 2 may take only 6 new tokens.
    const k = free[0]!.findIndex((id, j) => j > 0 && !free[0]!.slice(0, j).includes(id));
    assert.ok(k > 0, `row 0 emits a new token after its first: ${free[0]!.join(' ')}`);
    const eos = new Set([free[0]![k]!]);
    rows[2]!.maxNew = 6;
    const batched = await greedyBatch(ort, session, rows, eos, counters);
    for (const [i, r] of rows.entries()) {
      const [alone] = await greedyBatch(ort, session, [r], eos, counters);
      assert.deepEqual(batched[i], alone, `row ${i}`);
    }
    assert.deepEqual(batched[0], free[0]!.slice(0, k + 1));
    assert.ok(batched[2]!.length <= 6);
    assert.ok(batched.some((r) => r.length > k + 1), `a row goes on after row 0 stops: ${JSON.stringify(batched)}`);
  } finally {
    await session.release?.();
    await rt.model.dispose();
  }
});

for (const name of ['gpt2-tiny', 'pythia-tiny', 'llama-tiny']) {
  test(`${name} converted: batched greedy on the scoring-graph path = transformers' greedy tokens, decoder loaded once`, async () => {
    const folder = path.join(work, name);
    await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', name), folder, { dtype: 'fp32' });
    const refs = await loadRefs(name);
    const lm = await loadLanguageModel(folder, {});
    try {
      assert.equal(lm.path, 'graph');
      assert.equal(lm.decoderLoaded, false);
      const gen = await lm.generate(refs.map((r) => r.text), 10);
      gen.forEach((g, i) => {
        assert.deepEqual(g.promptIds, refs[i]!.ids, `prompt ids of text ${i}`);
        assert.deepEqual(g.newTokenIds, refs[i]!.greedy_10, `greedy tokens of text ${i}`);
      });
      // 60 texts × 10 tokens one at a time would be 600 forward calls; a converted graph on the
      // CPU in fp32 batches left-padded prompts of neighbouring lengths (onnx/decoder.json).
      assert.ok(existsSync(path.join(folder, 'onnx', 'decoder.json')));
      assert.ok(lm.stats.forwardCalls < 200, `${lm.stats.forwardCalls} forward calls`);
      assert.equal(lm.decoderLoaded, true);
    } finally {
      await lm.dispose();
    }
    // Rows of different lengths in one batch, one stopping early at an "EOS": each = the row alone,
    // on the step graph (caller-kept cache; the generate() above ran on it) and on the
    // transformers.js decoder graph (left-padded, cache grown in the graph), with the same tokens.
    const ort = await loadOrt();
    const step = await loadDecoderSession(folder, { device: 'cpu', dtype: 'fp32', deviceId: 0, threads: 2 });
    const grown = (await ort.InferenceSession.create(decoderGraphFile(folder, 'fp32'), sessionOptions({ threads: 2 }))) as DecoderSession;
    try {
      assert.ok(step.inputNames.includes('cache.0.key'), 'the step graph is what generation loads');
      // 8 rows: the finished row is an eighth of the batch, so the step graph's cache is compacted;
      // 12 rows: it stays in place, ignored.
      for (const n of [8, 12]) {
        const rows = refs.slice(0, n).map((r) => ({ ids: r.ids, maxNew: 10 }));
        assert.ok(new Set(rows.map((r) => r.ids.length)).size > 4, 'rows of different lengths');
        const eos = new Set([refs[0]!.greedy_10[3]!]);
        let first: number[][] | null = null;
        for (const session of [step, grown]) {
          const counters = { forwardCalls: 0, forwardTokens: 0, paddedForwardTokens: 0 };
          const batched = await greedyBatch(ort, session, rows, eos, counters);
          // Decoding steps are shared: far fewer calls than 8 rows × 10 tokens.
          assert.ok(counters.forwardCalls < 25, `${counters.forwardCalls} forward calls`);
          for (const [i, r] of rows.entries()) assert.deepEqual(batched[i], (await greedyBatch(ort, session, [r], eos, counters))[0], `row ${i}`);
          assert.ok(batched[0]!.length <= 4);
          assert.ok(batched.some((r) => r.length === 10), 'other rows go on');
          if (first) assert.deepEqual(batched, first, 'step graph = decoder graph');
          first = batched;
        }
      }
      // Past CACHE_GROWTH new tokens the step graph's cache is copied into a wider buffer: the
      // same tokens as the decoder graph (no capacity) and as each row alone.
      {
        const rows = refs.slice(0, 6).map((r) => ({ ids: r.ids, maxNew: CACHE_GROWTH + 12 }));
        const counters = { forwardCalls: 0, forwardTokens: 0, paddedForwardTokens: 0 };
        const [onStep, onGrown] = [await greedyBatch(ort, step, rows, new Set(), counters), await greedyBatch(ort, grown, rows, new Set(), counters)];
        assert.ok(onStep.every((r) => r.length === CACHE_GROWTH + 12));
        assert.deepEqual(onStep, onGrown, 'step graph across cache growth = decoder graph');
        for (const [i, r] of rows.entries()) assert.deepEqual((await greedyBatch(ort, step, [r], new Set(), counters))[0], onStep[i], `row ${i} alone`);
      }
      // greedy.ts prefills on an empty cache (capacity 0): bit-identical to a prefill that sees
      // the whole cache capacity, its slots unwritten (masked), as before that change.
      for (const r of refs.slice(0, 4)) {
        const L = r.ids.length;
        const at = 5;
        const C = at + L + 3;
        const run = async (cap: number, past: number) => {
          const am = new BigInt64Array(cap + L);
          am.fill(1n, cap);
          const feeds: Record<string, OrtTensorLike> = {
            input_ids: new ort.Tensor('int64', BigInt64Array.from(r.ids, BigInt), [1, L]),
            position_ids: new ort.Tensor('int64', BigInt64Array.from(r.ids, (_, j) => BigInt(j)), [1, L]),
            past_length: new ort.Tensor('int64', BigInt64Array.from([BigInt(past)]), []),
            attention_mask: new ort.Tensor('int64', am, [1, cap + L]),
          };
          for (const m of step.inputMetadata) {
            if (!m.name.startsWith('cache.')) continue;
            const [, h, , d] = m.shape as number[];
            feeds[m.name] = new ort.Tensor('float32', new Float32Array(h! * cap * d!), [1, h!, cap, d!]);
          }
          return step.run(feeds);
        };
        const [empty, full] = [await run(0, 0), await run(C, at)];
        for (const out of step.outputNames) assert.deepEqual(empty[out]!.data, full[out]!.data, `${out} of text ${r.text.slice(0, 20)}`);
      }
    } finally {
      await step.release?.();
      await grown.release?.();
    }
  });
}

test('the decoder session starts without weight prepacking and buys it after PREPACK_AFTER_RUNS calls, with the same tokens', async () => {
  const { PREPACK_AFTER_RUNS } = await import('../../src/lm/prepack.js');
  const folder = path.join(work, 'prepack-pythia');
  await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', 'pythia-tiny'), folder, { dtype: 'fp32' });
  const refs = await loadRefs('pythia-tiny');
  const ort = await loadOrt();
  const session = (await loadDecoderSession(folder, { device: 'cpu', dtype: 'fp32', deviceId: 0, threads: 1 })) as RentedDecoderSession;
  try {
    const counters = { forwardCalls: 0, forwardTokens: 0, paddedForwardTokens: 0 };
    const row = (i: number) => [{ ids: refs[i]!.ids, maxNew: 10 }];
    const first = await greedyBatch(ort, session, row(0), new Set(), counters);
    assert.equal(counters.forwardCalls, 10);
    assert.equal(session.isPrepacked, false, 'a short generation never pays for prepacking');
    let i = 1;
    while (counters.forwardCalls < PREPACK_AFTER_RUNS + 1) {
      assert.deepEqual((await greedyBatch(ort, session, row(i), new Set(), counters))[0], refs[i]!.greedy_10, `text ${i} before or across the switch`);
      i++;
    }
    assert.equal(session.isPrepacked, true, `prepacked from call ${PREPACK_AFTER_RUNS + 1} on`);
    assert.deepEqual(first[0], refs[0]!.greedy_10);
    assert.deepEqual((await greedyBatch(ort, session, row(0), new Set(), counters))[0], first[0], 'the prepacked session gives the same tokens');
  } finally {
    await session.release?.();
  }
});
