// The scoring-graph path on models converted by the project (hf-tiny gpt2 and gpt_neox
// checkpoints): every request type returns the plain path's numbers within 1e-4, with token
// trees, row splitting, padding and several batches; N chained parts give the single graph's
// numbers; generation still uses the decoder graph; and far fewer rows reach the output layer.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { loadLanguageModel, type LoadedLanguageModel } from '../../src/lm/index.js';
import type { ConditionalRequest } from '../../src/lm/types.js';
import { digitPrompt, maxAbsDiff, sharedDir } from './helpers.js';

const TOL = 1e-4;
const work = mkdtempSync(path.join(tmpdir(), 'lm-score-graph-'));
after(() => rmSync(work, { recursive: true, force: true }));

const grid = (a: number, b: number, c: number): number[][][] => [
  [[a], [a], [a]],
  [[b], [b], [b]],
  [[c], [c], [-1]],
];
const meta = (s1: string, s2: string) =>
  `\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: ${s1}\nSentence 2: ${s2}\nAnswer:`;
const crt = 'Question: A bat and a ball cost $1.10 in total. How much does the ball cost?\nAnswer:';

const REQUESTS: ConditionalRequest[] = [
  // digit_mat: the task's prompt, 8 choices, empty separator ("]" merges: a zero-token continuation)
  ...['3]', '6]', ']', '1]', '6 4 1]', '9 9]', '0]', '3 3 3 3]'].map((c) => ({ prefix: digitPrompt(grid(6, 1, 3)), continuation: c, separator: '' })),
  ...['2]', '5]', '7 7]'].map((c) => ({ prefix: digitPrompt(grid(2, 5, 7)), continuation: c, separator: '' })),
  ...['$0.05', '$0.10', '$1.10', '$1,000.00'].map((c) => ({ prefix: crt, continuation: c, separator: ' ' })),
  ...['1', '2'].flatMap((c) => [
    { prefix: meta('Mary had left.', 'Mary had referenced.'), continuation: c, separator: ' ' },
    { prefix: meta('Mary had referenced.', 'Mary had left.'), continuation: c, separator: ' ' },
  ]),
  { prefix: 'He looked at the door and opened the', continuation: 'window', separator: ' ' },
  { prefix: '', continuation: 'Fortune cookies are sweet.', separator: '' },
  { prefix: 'Nothing follows', continuation: '', separator: '' },
];
const SENTENCES = ['Mary had left.', 'Mary had referenced.', "Some person's tutor arrived at every library.", "Some person's tutor nodded every library.", 'H', 'The new executive doubted himself.'];
const NEXT = ['He looked at the door and opened the', 'A completely new text about packages', 'Hi', 'He looked at the door and opened the'];

for (const name of ['gpt2-tiny', 'pythia-tiny']) {
  describe(name, () => {
    const folder = path.join(work, name);
    let plain: LoadedLanguageModel;
    let graph: LoadedLanguageModel;
    before(async () => {
      await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', name), folder, { dtype: 'fp32', scoringParts: 2 });
      plain = await loadLanguageModel(folder, { plain: true });
      // Small budgets: several batches, padded rows, and token trees split into rows.
      graph = await loadLanguageModel(folder, { batchTokens: 96, maxBatchRows: 4, rowTokens: 48, maskElements: 96 * 48 });
    });
    after(async () => {
      await plain?.dispose();
      await graph?.dispose();
    });

    test('the scoring graph is the default path of a converted model', () => {
      assert.equal(graph.path, 'graph');
      assert.equal(graph.info.scoringPath, 'graph');
      assert.equal(plain.path, 'plain');
    });

    test('conditional (sum and mean) equals plain; zero-token continuations count; few output rows', async () => {
      for (const reduction of ['sum', 'mean'] as const) {
        const z0 = graph.stats.zeroTokenContinuations;
        const zp = plain.stats.zeroTokenContinuations;
        const p0 = { ...plain.stats };
        const g0 = { ...graph.stats };
        const a = await plain.conditional(REQUESTS, reduction);
        const b = await graph.conditional(REQUESTS, reduction);
        a.forEach((x, i) => {
          const y = b[i]!;
          assert.deepEqual(y.tokenIds, x.tokenIds, `request ${i} ids`);
          assert.deepEqual(y.prefixIds, x.prefixIds);
          assert.ok(maxAbsDiff(x.tokenLogprobs, y.tokenLogprobs) <= TOL, `request ${i} token logprobs`);
          assert.ok(Math.abs(x.logprob - y.logprob) <= TOL, `request ${i}: ${x.logprob} vs ${y.logprob}`);
        });
        assert.equal(b.at(-1)!.logprob, 0);
        // The empty continuation (and, where the tokenizer merges "[" + "]", digit_mat's "]").
        assert.equal(graph.stats.zeroTokenContinuations - z0, plain.stats.zeroTokenContinuations - zp);
        assert.ok(graph.stats.zeroTokenContinuations - z0 >= 1);
        const fedPlain = plain.stats.forwardTokens - p0.forwardTokens;
        const fedGraph = graph.stats.forwardTokens - g0.forwardTokens;
        assert.ok(fedGraph * 2 < fedPlain, `graph fed ${fedGraph} vs plain ${fedPlain}`);
        const rowsPlain = plain.stats.outputRows - p0.outputRows;
        const rowsGraph = graph.stats.outputRows - g0.outputRows;
        assert.ok(rowsGraph * 4 < rowsPlain, `output rows ${rowsGraph} vs ${rowsPlain}`);
        assert.ok(graph.stats.forwardCalls - g0.forwardCalls > 1, 'several batches');
      }
    });

    test('sequence equals plain (sentences beginning alike share a row)', async () => {
      const a = await plain.sequence(SENTENCES);
      const b = await graph.sequence(SENTENCES);
      a.forEach((x, i) => {
        assert.deepEqual(b[i]!.inputIds, x.inputIds);
        assert.ok(maxAbsDiff(x.tokenLogprobs, b[i]!.tokenLogprobs) <= TOL, `sentence ${i}`);
      });
      assert.equal(b[4]!.inputIds.length, 1);
      assert.equal(b[4]!.logprob, 0, 'a one-token text has nothing to score');
    });

    test('nextTokenLogits equals plain, fresh and reused from the conditional pass', async () => {
      const a = await plain.nextTokenLogits(NEXT);
      const fresh = await graph.nextTokenLogits(NEXT);
      a.forEach((r, i) => {
        assert.equal(fresh[i]!.length, graph.info.vocabSize);
        assert.ok(maxAbsDiff(r, fresh[i]!) <= TOL, `text ${i}`);
      });
      const lambada = ['The maintainer uploaded a new version of the', 'She opened the box and found a'];
      await graph.conditional(lambada.map((p) => ({ prefix: p, continuation: 'package', separator: ' ' })), 'sum');
      const before = graph.stats.forwardCalls;
      const reused = await graph.nextTokenLogits(lambada);
      assert.equal(graph.stats.forwardCalls, before, 'served from the conditional pass');
      (await plain.nextTokenLogits(lambada)).forEach((r, i) => assert.ok(maxAbsDiff(r, reused[i]!) <= TOL, `reused ${i}`));
    });

    test('rows sized by cost (prefix repeated in several rows) give plain numbers; pairCost 0 keeps one row per tree', async () => {
      const long = SENTENCES.filter((s) => s.length > 10).flatMap((s) => [s, `${s} ${s}`]);
      const reqs = long.map((c) => ({ prefix: crt, continuation: c, separator: ' ' }));
      const fill = await loadLanguageModel(folder, { pairCost: 0 });
      const byCost = await loadLanguageModel(folder, { pairCost: 0.05 });
      try {
        const a = await plain.conditional(reqs, 'sum');
        const [f, c] = [await fill.conditional(reqs, 'sum'), await byCost.conditional(reqs, 'sum')];
        a.forEach((x, i) => {
          assert.ok(maxAbsDiff(x.tokenLogprobs, f[i]!.tokenLogprobs) <= TOL, `request ${i}, one row`);
          assert.ok(maxAbsDiff(x.tokenLogprobs, c[i]!.tokenLogprobs) <= TOL, `request ${i}, rows by cost`);
        });
        // The crt prompt is fed once per row: once when filling, more often when split by cost.
        assert.ok(byCost.stats.forwardTokens > fill.stats.forwardTokens, `${byCost.stats.forwardTokens} vs ${fill.stats.forwardTokens} tokens`);
        for (const bad of [-1, NaN, Infinity]) await assert.rejects(loadLanguageModel(folder, { pairCost: bad }), /pairCost must be a finite number >= 0/);
      } finally {
        await fill.dispose();
        await byCost.dispose();
      }
    });

    test('two chained parts give the single graph numbers', async () => {
      const split = await loadLanguageModel(folder, { parts: 2, batchTokens: 64 });
      try {
        assert.equal(split.info.parts, 2);
        const a = await graph.conditional(REQUESTS, 'sum');
        const b = await split.conditional(REQUESTS, 'sum');
        a.forEach((x, i) => assert.ok(maxAbsDiff(x.tokenLogprobs, b[i]!.tokenLogprobs) <= 1e-5, `request ${i}`));
        const la = await graph.nextTokenLogits(NEXT.slice(1, 2));
        const lb = await split.nextTokenLogits(NEXT.slice(1, 2));
        assert.ok(maxAbsDiff(la[0]!, lb[0]!) <= 1e-5);
      } finally {
        await split.dispose();
      }
    });

    test('generation keeps the decoder graph: same text as plain', async () => {
      const prompts = ['[6] [6] [6]\n[1] [1] [', 'Hello'];
      assert.deepEqual(await graph.generate(prompts, 5), await plain.generate(prompts, 5));
    });
  });
}

test('a missing scoring graph or part split fails naming the file and what exists', async () => {
  const folder = path.join(work, 'gpt2-tiny');
  await assert.rejects(loadLanguageModel(folder, { parts: 3 }), /score\.part0of3\.onnx is missing .*split into 3 parts; the folder has 2-part splits/);
  await assert.rejects(loadLanguageModel(path.join(sharedDir, 'models', 'tiny-gpt2'), { scoringGraph: true }), /onnx\/score\.onnx is missing/);
});

test('fp16 graphs: log-probabilities within fp16 rounding of fp32 (float32 log-softmax), same token ids', async () => {
  const src = path.join(sharedDir, 'models', 'hf-tiny', 'pythia-tiny');
  const f16 = path.join(work, 'pythia-tiny-fp16');
  await convertCheckpoint(src, f16, { dtype: 'fp16' });
  const half = await loadLanguageModel(f16, { dtype: 'fp16' });
  const full = await loadLanguageModel(path.join(work, 'pythia-tiny'), {});
  try {
    assert.equal(half.path, 'graph');
    const a = await full.sequence(SENTENCES);
    const b = await half.sequence(SENTENCES);
    let worst = 0;
    a.forEach((x, i) => {
      assert.deepEqual(b[i]!.tokenIds, x.tokenIds);
      worst = Math.max(worst, maxAbsDiff(x.tokenLogprobs, b[i]!.tokenLogprobs));
    });
    assert.ok(worst > 0 && worst < 0.05, `fp16 drift ${worst}`);
  } finally {
    await half.dispose();
    await full.dispose();
  }
});

test('the graph path holds no decoder session until it generates, then generates as plain does', async () => {
  const folder = path.join(work, 'gpt2-tiny');
  const lm = await loadLanguageModel(folder, {});
  const plain = await loadLanguageModel(folder, { plain: true });
  try {
    assert.equal(lm.path, 'graph');
    assert.equal(lm.decoderLoaded, false);
    assert.deepEqual(lm.info.generation, plain.info.generation, 'settings recorded before the release');
    await lm.sequence(['Mary had left.']);
    assert.equal(lm.decoderLoaded, false, 'scoring needs no decoder');
    const prompts = ['Hello', '[6] [6] [6]\n[1] [1] ['];
    assert.deepEqual(await lm.generate(prompts, 4), await plain.generate(prompts, 4));
    assert.equal(lm.decoderLoaded, true);
    // Scoring and generating again, as digit_mat's stage interleaves them: no second decoder load.
    assert.ok(Number.isFinite((await lm.sequence(['Mary had left.']))[0]!.logprob));
    assert.deepEqual(await lm.generate(prompts.slice(1), 4), await plain.generate(prompts.slice(1), 4));
    assert.equal(lm.decoderLoads, 1);
  } finally {
    await lm.dispose();
    await plain.dispose();
  }
});

test('CPU weight prepacking starts off and is bought after PREPACK_AFTER_RUNS calls, with the same numbers', async () => {
  const { ScoreGraph, PREPACK_AFTER_RUNS } = await import('../../src/lm/score-graph.js');
  const { scoreItemsTree } = await import('../../src/lm/tree.js');
  const folder = path.join(work, 'prepack-pythia');
  await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', 'pythia-tiny'), folder, { dtype: 'fp32' });
  const g = await ScoreGraph.load(folder, { device: 'cpu', dtype: 'fp32', threads: 1 });
  try {
    // One row per batch, so every item is one call of the graph.
    const limits = { batchTokens: 64, maskElements: 64 * 64, maxRows: 1, rowTokens: 64 };
    const items = [{ ids: [5, 17, 300, 42, 9], start: 1 }];
    const stats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 };
    const first = await scoreItemsTree(g, items, limits, 0, stats);
    assert.equal(g.isPrepacked, false, 'a short run never pays for prepacking');
    for (let i = 1; i < PREPACK_AFTER_RUNS; i++) await scoreItemsTree(g, items, limits, 0, stats);
    assert.equal(g.isPrepacked, false);
    const later = await scoreItemsTree(g, items, limits, 0, stats);
    assert.equal(g.isPrepacked, true, `prepacked from call ${PREPACK_AFTER_RUNS + 1} on`);
    assert.equal(stats.forwardCalls, PREPACK_AFTER_RUNS + 1);
    assert.ok(maxAbsDiff(first[0]!.tokenLogprobs, later[0]!.tokenLogprobs) < 1e-5, 'the prepacked session gives the same log-probabilities');
  } finally {
    await g.dispose();
  }
});
