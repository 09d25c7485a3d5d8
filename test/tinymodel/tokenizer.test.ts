// The tiny model's tokenizer is GPT-2's: transformers.js loading the written files must encode
// exactly like gpt-3-encoder's encode(), add no special tokens, and decode back to the text.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encode } from 'gpt-3-encoder';
import { buildInTemp, loadWithTransformers, type Built } from './fixture.js';

const STRINGS = [
  ' Hello world',
  'Mary had left.',
  '$1.40',
  '[6] [6] [6]\n[1] [1] [',
  'Café naïve résumé, Ångström, Straße',
  'Emoji 🙂👍🏽 and 漢字 mixed',
  'tabs\tand  double  spaces\n\nnew paragraphs',
  "It's what they'll've done, isn't it?",
];

let built: Built;
let tokenizer: Awaited<ReturnType<typeof loadWithTransformers>>['tokenizer'];

before(async () => {
  built = await buildInTemp({ seed: 3 });
  ({ tokenizer } = await loadWithTransformers(built));
});
after(async () => built.cleanup());

test('encodes like gpt-3-encoder on varied strings', () => {
  for (const s of STRINGS) {
    const ids = tokenizer.encode(s);
    assert.deepEqual(ids, encode(s), JSON.stringify(s));
  }
});

test('known GPT-2 ids', () => {
  assert.deepEqual(tokenizer.encode(' Hello world'), [18435, 995]);
  assert.deepEqual(tokenizer.encode('Mary had left.'), [24119, 550, 1364, 13]);
});

test('special tokens: <|endoftext|> is 50256 and bos/eos/unk; none added', () => {
  assert.deepEqual(tokenizer.encode('<|endoftext|>'), [50256]);
  assert.equal(tokenizer.eos_token_id, 50256);
  assert.equal(tokenizer.bos_token_id, 50256);
  assert.equal(tokenizer.unk_token_id, 50256);
  assert.deepEqual(tokenizer.encode('a'), encode('a'));
  assert.equal(tokenizer.model_max_length, 1024);
});

test('decode round-trips', () => {
  for (const s of STRINGS) assert.equal(tokenizer.decode(tokenizer.encode(s)), s);
});
