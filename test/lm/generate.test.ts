// Generation: greedy under tiny-gpt2's generation_config.json, deterministic, equal to step-by-step
// argmax of the plain forward pass, the same alone (plain) and in left-padded batches (fast).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ForwardRunner } from '../../src/lm/forward.js';
import type { LoadedLanguageModel } from '../../src/lm/index.js';
import { loadRuntime, type LoadedRuntime } from '../../src/lm/load.js';
import { allLogitsPlain } from '../../src/lm/plain.js';
import { loadPair, tinyGpt2 } from './helpers.js';

const PROMPTS = [
  'Question: A bat and a ball cost $1.10 in total. How much does the ball cost?\nAnswer:',
  '[6] [6] [6]\n[1] [1] [1]\n[3] [3] [',
  'The package',
  'Every maintainer should read the policy manual before',
];
let plain: LoadedLanguageModel;
let fast: LoadedLanguageModel;
let rt: LoadedRuntime;

before(async () => {
  ({ plain, fast } = await loadPair());
  rt = await loadRuntime(tinyGpt2);
});
after(async () => Promise.all([plain.dispose(), fast.dispose(), rt.model.dispose()]));

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

test('greedy generation equals step-by-step argmax of full forward passes, and stops at EOS', async () => {
  const runner = new ForwardRunner(rt, { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 });
  const n = 8;
  const out = await plain.generate(PROMPTS.slice(0, 3), n);
  for (const [i, g] of out.entries()) {
    const ids = rt.tokenizer.encode(PROMPTS[i]!);
    assert.deepEqual(g.promptIds, ids);
    const expected: number[] = [];
    while (expected.length < n) {
      const rows = await allLogitsPlain(runner, [...ids, ...expected]);
      const next = argmax(rows.at(-1)!);
      expected.push(next);
      if (next === 50256) break;
    }
    assert.deepEqual(g.newTokenIds, expected, `prompt ${i}`);
    const text = rt.tokenizer.decode(expected, { skip_special_tokens: true, clean_up_tokenization_spaces: true });
    assert.equal(g.text, text);
  }
});

test('generation is deterministic and batched (fast) equals one at a time (plain)', async () => {
  const a = await plain.generate(PROMPTS, 10);
  const b = await fast.generate(PROMPTS, 10);
  const c = await fast.generate(PROMPTS, 10);
  assert.deepEqual(b, a);
  assert.deepEqual(c, b);
  for (const g of a) assert.ok(g.newTokenIds.length >= 1 && g.newTokenIds.length <= 10);
  assert.equal(fast.info.generation.doSample, false);
  assert.equal(fast.info.generation.forcedGreedy, false);
});

test('decoding cleans up tokenization spaces and skips special tokens', async () => {
  // " ." → "." under clean_up_tokenization_spaces; <|endoftext|> disappears.
  const ids = [...rt.tokenizer.encode('Hello world .'), 50256];
  assert.equal(rt.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: true }), 'Hello world.');
  const [g] = await plain.generate(['Hello'], 3);
  assert.equal(g!.text, rt.tokenizer.decode(g!.newTokenIds, { skip_special_tokens: true, clean_up_tokenization_spaces: true }));
});

test('generation_config.json that turns sampling on applies, unless greedy is forced', async () => {
  const { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { loadLanguageModel } = await import('../../src/lm/index.js');
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'lm-gen-')), 'sampling-model');
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    symlinkSync(path.join(tinyGpt2, f), path.join(dir, f));
  }
  symlinkSync(path.join(tinyGpt2, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ do_sample: true, temperature: 5.0, top_k: 0, eos_token_id: 50256 }));
  try {
    const sampled = await loadLanguageModel(dir);
    assert.equal(sampled.info.generation.doSample, true);
    assert.equal(sampled.info.generation.forcedGreedy, false);
    assert.equal(sampled.info.generation['temperature'], 5.0);
    // At temperature 5 over 50,257 tokens, repeated sampled generations differ.
    const texts = new Set<string>();
    for (let r = 0; r < 3; r++) texts.add((await sampled.generate(['The package'], 12))[0]!.newTokenIds.join(','));
    assert.ok(texts.size > 1, 'sampling is on');

    const greedy = await loadLanguageModel(dir, { forceGreedy: true });
    assert.equal(greedy.info.generation.doSample, false);
    assert.equal(greedy.info.generation.forcedGreedy, true);
    assert.equal(greedy.info.generation.sampledInConfig, true);
    assert.deepEqual(await greedy.generate(PROMPTS, 6), await plain.generate(PROMPTS, 6));
    await Promise.all([sampled.dispose(), greedy.dispose()]);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
