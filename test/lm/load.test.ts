// Loading: the final folder, a revision folder, a content-addressed-looking checkout elsewhere,
// and clear errors naming the folder for folders that are not models.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadLanguageModel } from '../../src/lm/index.js';
import { revision, tinyGpt2 } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lm-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a revision folder (an id with several slashes) loads and scores differently from the final weights', async () => {
  const early = await loadLanguageModel(revision('step0030-tokens0.06M'));
  const final = await loadLanguageModel(tinyGpt2);
  assert.equal(early.info.modelType, 'gpt2');
  assert.equal(early.info.vocabSize, 50257);
  assert.equal(early.info.contextLength, 256);
  assert.equal(early.info.device, 'cpu');
  assert.equal(early.info.dtype, 'fp32');
  assert.equal(early.info.generation.doSample, false);
  assert.equal(early.info.generation.eosTokenId, 50256);
  const [a] = await early.sequence(['Mary had left.']);
  const [b] = await final.sequence(['Mary had left.']);
  assert.notEqual(a!.logprob, b!.logprob);
  await Promise.all([early.dispose(), final.dispose()]);
});

test('a checkout under cache/trees/<sha> (relative path, symlinked files) loads', async () => {
  const dir = path.join(tmp, 'cache', 'trees', '3fa29c1e0b'.repeat(4));
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  const src = revision('step0120-tokens0.25M');
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    symlinkSync(path.join(src, f), path.join(dir, f));
  }
  symlinkSync(path.join(src, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  const lm = await loadLanguageModel(path.relative(process.cwd(), dir));
  const direct = await loadLanguageModel(src);
  const [x] = await lm.sequence(['Mary had left.']);
  const [y] = await direct.sequence(['Mary had left.']);
  assert.ok(Math.abs(x!.logprob - y!.logprob) < 1e-6);
  assert.equal(lm.folder, path.resolve(dir));
  await Promise.all([lm.dispose(), direct.dispose()]);
});

test('a folder that does not exist gives an error naming it', async () => {
  const missing = path.join(tmp, 'no-such-model');
  await assert.rejects(loadLanguageModel(missing), (e: Error) => {
    assert.ok(e.message.includes(missing), e.message);
    assert.match(e.message, /does not exist/);
    return true;
  });
});

test('a folder without ONNX weights gives an error naming it and carrying the loader message', async () => {
  const broken = path.join(tmp, 'broken');
  mkdirSync(broken);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) cpSync(path.join(tinyGpt2, f), path.join(broken, f));
  await assert.rejects(loadLanguageModel(broken), (e: Error) => {
    assert.ok(e.message.includes(broken), e.message);
    assert.match(e.message, /model\.onnx|onnx/i, e.message);
    return true;
  });
  const noConfig = path.join(tmp, 'no-config');
  mkdirSync(noConfig);
  writeFileSync(path.join(noConfig, 'README'), 'not a model');
  await assert.rejects(loadLanguageModel(noConfig), /no-config.*config\.json/);
});
