// The tokenizer beside a checkpoint (issue 17, items 10 and 11): a tokenizer.json that is not
// JSON fails the conversion naming it (never quoting it), and one whose token ids pass the
// embedding rows fails naming the id and the rows — not a model that indexes past its table.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConvertError, convertCheckpoint } from '../../../src/convert/convert.js';
import { sharedDir } from '../../support/fake-hub.js';
import { temp } from './helpers.js';

const PYTHIA = join(sharedDir(), 'models', 'hf-tiny', 'pythia-tiny');

function copyWithTokenizer(dest: string, text: string): void {
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(PYTHIA)) copyFileSync(join(PYTHIA, f), join(dest, f));
  writeFileSync(join(dest, 'tokenizer.json'), text);
}

test('tokenizer.json not JSON, or with ids past the embedding, fails the conversion naming it', async (t) => {
  const root = temp(t);
  copyWithTokenizer(join(root, 'a'), '{"version": "1.0", SECRET-hunter2');
  await assert.rejects(convertCheckpoint(join(root, 'a'), join(root, 'a-out'), { dtype: 'fp32' }), (err: unknown) => {
    assert.ok(err instanceof ConvertError, String(err));
    assert.match(err.message, /tokenizer\.json is not valid JSON/);
    assert.doesNotMatch(err.message, /SECRET|hunter2/);
    return true;
  });
  const tok = JSON.parse(readFileSync(join(PYTHIA, 'tokenizer.json'), 'utf8')) as { added_tokens: object[] };
  tok.added_tokens.push({ id: 5000, content: '<x>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  copyWithTokenizer(join(root, 'b'), JSON.stringify(tok));
  await assert.rejects(convertCheckpoint(join(root, 'b'), join(root, 'b-out'), { dtype: 'fp32' }), /tokenizer\.json.*token id 5000.*1024 (embedding )?rows/);
});
