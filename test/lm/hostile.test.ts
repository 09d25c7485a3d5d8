// What a model folder says must not turn into wrong numbers or unnamed errors (issue 17, items 10
// and 11): a tokenizer.json that is not JSON is named (its content never echoed), a tokenizer
// whose ids pass the embedding rows is refused at load naming the id, and a score the model
// computes as NaN is a ModelFault (the score stage fails), not an empty cell.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ModelFault } from '../../src/lm/errors.js';
import { loadLanguageModel } from '../../src/lm/index.js';
import { loadRuntime } from '../../src/lm/load.js';
import { scoreItemsTree } from '../../src/lm/tree.js';
import { tinyGpt2 } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lm-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** tiny-gpt2 with its own tokenizer.json text. */
function withTokenizer(name: string, text: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json']) symlinkSync(path.join(tinyGpt2, f), path.join(dir, f));
  symlinkSync(path.join(tinyGpt2, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  writeFileSync(path.join(dir, 'tokenizer.json'), text);
  return dir;
}

test('a tokenizer.json that is not JSON fails the load naming the file, without its content', async () => {
  const dir = withTokenizer('notjson', '{"model": SECRET-hunter2 ');
  await assert.rejects(loadLanguageModel(dir), (err: Error) => {
    assert.match(err.message, /tokenizer\.json/);
    assert.match(err.message, new RegExp(dir.replace(/[/.]/g, '\\$&')));
    assert.doesNotMatch(err.message, /SECRET|hunter2/);
    return true;
  });
});

test('a tokenizer with ids past the embedding rows fails the load naming the id and the rows', async () => {
  const tok = JSON.parse(readFileSync(path.join(tinyGpt2, 'tokenizer.json'), 'utf8')) as { added_tokens: object[] };
  tok.added_tokens.push({ id: 60000, content: '<extra>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const dir = withTokenizer('bigvocab', JSON.stringify(tok));
  await assert.rejects(loadLanguageModel(dir), /token id 60000.*50257 (embedding )?rows/);
});

test('a NaN the scoring graph computes is a ModelFault naming the item and token', async () => {
  const runner = {
    async run(batch: { B: number; K: number }) {
      return { logprobs: new Float32Array(batch.B * batch.K).fill(NaN), logits: new Float32Array(0), vocab: 0 };
    },
  };
  const stats = { forwardTokens: 0, forwardCalls: 0, zeroTokenContinuations: 0, paddedForwardTokens: 0, outputRows: 0 };
  const limits = { batchTokens: 64, maskElements: 1 << 16, maxRows: 4, rowTokens: 64 };
  await assert.rejects(
    scoreItemsTree(runner as never, [{ ids: [1, 2, 3], start: 1 }], limits, 0, stats),
    (err: unknown) => {
      assert.ok(err instanceof ModelFault, String(err));
      assert.match(err.message, /NaN.*token 0 of item 0/);
      return true;
    },
  );
});

/** tiny-gpt2 with its own tokenizer_config.json (the scoring-graph path builds its tokenizer from it). */
function withTokenizerConfig(name: string, config: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'special_tokens_map.json']) symlinkSync(path.join(tinyGpt2, f), path.join(dir, f));
  symlinkSync(path.join(tinyGpt2, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

test('tokenizer_config.json values are data: a path as tokenizer_class is only a name; a token that is not a string is refused naming the file and key', async () => {
  const base = JSON.parse(readFileSync(path.join(tinyGpt2, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const plain = await loadRuntime(tinyGpt2, { session: false });
  // An unknown class (here a path) is PreTrainedTokenizer, as transformers.js's AutoTokenizer falls back: same ids.
  const odd = await loadRuntime(withTokenizerConfig('class-path', { ...base, tokenizer_class: '../../../etc/passwd' }), { session: false });
  assert.deepEqual(odd.tokenizer.encode('The cat sat.'), plain.tokenizer.encode('The cat sat.'));
  for (const [name, token] of [
    ['number', 50256],
    ['object', { __type: 'Weird', content: '<|endoftext|>' }],
    ['content', { __type: 'AddedToken', content: { toString: 'x' } }],
  ] as const) {
    await assert.rejects(loadRuntime(withTokenizerConfig(`pad-${name}`, { ...base, pad_token: token }), { session: false }), (err: Error) => {
      assert.match(err.message, /tokenizer_config\.json: "pad_token" is neither a string nor an AddedToken/);
      assert.doesNotMatch(err.message, /tokenizer\.json: tokenizer_config/);
      return true;
    });
  }
});
