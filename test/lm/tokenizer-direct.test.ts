// The scoring-graph path's tokenizer (tokenizer-direct.ts) against transformers.js's own
// AutoTokenizer: the same ids on every test model's tokenizer over the paper's stimuli and edge
// cases, the same decoded text, the same pad / eos ids and padding side; the class lists match
// what transformers.js exports; and classes with behaviour of their own are left to it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import * as tf from '@huggingface/transformers';
import { directTokenizer, tokenizerClassName, TRANSFORMERS_TOKENIZER_CLASSES } from '../../src/lm/tokenizer-direct.js';
import { digitPrompt, sharedDir, tinyGpt2 } from './helpers.js';

const FOLDERS = [tinyGpt2, ...['gpt2-tiny', 'pythia-tiny', 'llama-tiny', 'olmo-tiny', 'hf_olmo-tiny'].map((n) => path.join(sharedDir, 'models', 'hf-tiny', n))];
const stimuli = path.join(sharedDir, 'data', 'stimuli');
const json = (f: string): Record<string, unknown> => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;

/** Every cell of the CSV stimuli, lambada passages, digit_mat prompts, the hf-tiny reference texts and edge cases. */
function texts(): string[] {
  const out: string[] = [];
  for (const task of ['blimp', 'dgl', 'crt']) {
    const rows = parse(readFileSync(path.join(stimuli, task, 'stimuli.csv'), 'utf8')) as string[][];
    for (const r of rows) out.push(...r);
  }
  const lambada = readFileSync(path.join(stimuli, 'lambada', 'stimuli.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 150);
  for (const l of lambada) out.push(...Object.values(JSON.parse(l) as Record<string, unknown>).filter((v): v is string => typeof v === 'string'));
  const problems = json(path.join(stimuli, 'digit_mat', 'problems.json')) as { problem_types: Array<{ problems: Array<{ grid: number[][][] }> }> };
  for (const t of problems.problem_types) for (const p of t.problems.slice(0, 3)) out.push(digitPrompt(p.grid));
  for (const l of readFileSync(path.join(sharedDir, 'models', 'hf-tiny', 'refs', 'gpt2-tiny.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    out.push((JSON.parse(l) as { text: string }).text);
  }
  out.push('', ' ', '\n\n', '  two  spaces ', 'Ünïcödé — “quotes” 😀 日本語', '<|endoftext|>', 'a<|endoftext|>b', '<s> x </s>', '<|padding|>', '\t tab', "don't", 'e\u0301');
  return out;
}

test('the direct tokenizer gives transformers.js\'s ids, decoded text and special ids on every test tokenizer', async () => {
  const all = texts();
  assert.ok(all.length > 2000, `${all.length} texts`);
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  for (const folder of FOLDERS) {
    tf.env.localModelPath = path.dirname(folder) + path.sep;
    const ref = (await tf.AutoTokenizer.from_pretrained(path.basename(folder))) as unknown as {
      encode(t: string, o?: object): number[];
      decode(ids: number[], o: object): string;
      pad_token_id: number | undefined;
      eos_token_id: number | undefined;
      padding_side: string;
    };
    const ours = directTokenizer(json(path.join(folder, 'tokenizer.json')), json(path.join(folder, 'tokenizer_config.json')));
    assert.ok(ours, `${folder}: a plain tokenizer class`);
    const name = path.basename(folder);
    assert.equal(ours.pad_token_id, ref.pad_token_id, `${name}: pad id`);
    assert.equal(ours.eos_token_id, ref.eos_token_id, `${name}: eos id`);
    assert.equal(ours.padding_side, ref.padding_side, `${name}: padding side`);
    let compared = 0;
    for (const t of all) {
      const ids = ours.encode(t);
      assert.deepEqual(ids, ref.encode(t), `${name}: ${JSON.stringify(t.slice(0, 80))}`);
      assert.deepEqual(ours.encode(t, { add_special_tokens: false }), ref.encode(t, { add_special_tokens: false }));
      if (ids.length > 0) {
        for (const o of [{ skip_special_tokens: true, clean_up_tokenization_spaces: true }, { skip_special_tokens: false, clean_up_tokenization_spaces: false }]) {
          assert.equal(ours.decode(ids, o), ref.decode(ids, o), `${name}: decode ${JSON.stringify(t.slice(0, 80))}`);
        }
      }
      compared++;
    }
    assert.equal(compared, all.length);
  }
});

test('the class list is transformers.js\'s; classes with their own encode or decode are left to transformers.js', () => {
  const exported = Object.keys(tf).filter((k) => {
    const v = (tf as Record<string, unknown>)[k];
    return typeof v === 'function' && (v === tf.PreTrainedTokenizer || (v as { prototype?: unknown }).prototype instanceof tf.PreTrainedTokenizer);
  });
  for (const name of exported) assert.ok(TRANSFORMERS_TOKENIZER_CLASSES.includes(name), `${name} is missing from TRANSFORMERS_TOKENIZER_CLASSES`);
  const tok = json(path.join(tinyGpt2, 'tokenizer.json'));
  for (const cls of ['WhisperTokenizer', 'MarianTokenizer', 'T5TokenizerFast', 'NllbTokenizer', 'TokenizersBackend']) {
    assert.equal(directTokenizer(tok, { tokenizer_class: cls }), null, cls);
  }
  // An unknown class is PreTrainedTokenizer in transformers.js (with a warning), so plain here.
  assert.equal(tokenizerClassName({ tokenizer_class: 'OLMoTokenizerFast' }), 'PreTrainedTokenizer');
  assert.equal(tokenizerClassName({ tokenizer_class: 'GPTNeoXTokenizerFast' }), 'GPTNeoXTokenizer');
  assert.equal(tokenizerClassName({}), 'PreTrainedTokenizer');
  assert.ok(directTokenizer(tok, { tokenizer_class: 'LlamaTokenizerFast' })?.padding_side === 'left');
});
