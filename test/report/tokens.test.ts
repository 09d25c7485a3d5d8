// Token ids → token text from a tokenizer.json: byte-level BPE (GPT-2) and SentencePiece-style pieces.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decoderFromTokenizerJson } from '../../src/report/tokens.js';
import { REPO } from '../engine/rig.js';

test('GPT-2 byte-level pieces decode to the text they spell (spaces, newlines, multi-byte characters)', () => {
  const decode = decoderFromTokenizerJson(readFileSync(join(REPO, '..', 'shared', 'models', 'tiny-gpt2', 'tokenizer.json'), 'utf8'))!;
  assert.ok(decode);
  // " $15.00" as the crt request of the quickstart tokenises it.
  assert.deepEqual([720, 1314, 13, 405].map(decode), [' $', '15', '.', '00']);
  assert.equal(decode(198), '\n');
  assert.equal(decode(50256), '<|endoftext|>');
  assert.equal(decode(999_999), '⟨999999⟩');
});

test('SentencePiece-style pieces: ▁ is a space and <0xNN> a byte', () => {
  const tj = JSON.stringify({ model: { type: 'Unigram', vocab: [['<unk>', 0], ['▁Hello', -1], ['<0x0A>', -2], ['lo', -3]] }, decoder: { type: 'Metaspace' } });
  const decode = decoderFromTokenizerJson(tj)!;
  assert.deepEqual([1, 2, 3].map(decode), [' Hello', '\n', 'lo']);
  assert.equal(decoderFromTokenizerJson('not json'), undefined);
});
