// The tokenizer without transformers.js: importing transformers.js costs ~0.4 CPU s (it loads
// sharp, onnxruntime-web and its model code) and it reads and parses tokenizer.json again. Its
// tokenizers are @huggingface/tokenizers' Tokenizer, bundled (transformers.js 4.3.2 bundles
// @huggingface/tokenizers 0.2.0, the version package.json pins): PreTrainedTokenizer.encode is
// `new Tokenizer(tokenizer.json, tokenizer_config.json).encode(text, { add_special_tokens }).ids`,
// decode is its decode, and the special ids are looked up as below. Built here from the JSON the
// loader has parsed once, for the tokenizer classes that add nothing to that; the others (seq2seq
// and speech classes that override encoding or decoding) return null and load through
// transformers.js. test/lm/tokenizer-direct.test.ts checks ids, decoding and special ids against
// transformers.js's own tokenizer on every test model and the stimuli.

import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenizerLike } from './runtime.js';

/**
 * transformers.js 4.3.2's tokenizer classes whose encode/decode are PreTrainedTokenizer's: the
 * class body sets at most padding_side (listed here when it differs from "right") or
 * return_token_type_ids (not used by encode/decode).
 */
const PLAIN_CLASSES: ReadonlyMap<string, 'left' | 'right'> = new Map([
  ...(['PreTrainedTokenizer', 'Albert', 'Bart', 'Bert', 'BlenderbotSmall', 'Blenderbot', 'Bloom', 'Camembert', 'CLIP', 'CodeLlama', 'CodeGen',
    'Cohere', 'ConvBert', 'DebertaV2', 'Deberta', 'DistilBert', 'Electra', 'Esm', 'Falcon', 'Gemma', 'GPTNeoX', 'GPT2', 'Herbert', 'MobileBert',
    'MPNet', 'Qwen2', 'Roberta', 'RoFormer', 'Siglip', 'SqueezeBert', 'XLMRoberta'] as const).map((n) => [n === 'PreTrainedTokenizer' ? n : `${n}Tokenizer`, 'right'] as const),
  ['LlamaTokenizer', 'left'],
]);

/**
 * Every tokenizer class transformers.js 4.3.2 exports (its tokenizers_exports, which AutoTokenizer
 * looks tokenizer_class up in). A tokenizer_class outside it falls back to
 * PreTrainedTokenizer there (with a warning), so it is plain here too; one inside it but not in
 * PLAIN_CLASSES has behaviour of its own and loads through transformers.js.
 */
export const TRANSFORMERS_TOKENIZER_CLASSES: readonly string[] = [
  'AlbertTokenizer', 'BartTokenizer', 'BertTokenizer', 'BlenderbotSmallTokenizer', 'BlenderbotTokenizer', 'BloomTokenizer', 'CamembertTokenizer',
  'CLIPTokenizer', 'CodeLlamaTokenizer', 'CodeGenTokenizer', 'CohereTokenizer', 'CohereAsrTokenizer', 'ConvBertTokenizer', 'DebertaV2Tokenizer',
  'DebertaTokenizer', 'DistilBertTokenizer', 'ElectraTokenizer', 'EsmTokenizer', 'FalconTokenizer', 'GemmaTokenizer', 'GPTNeoXTokenizer',
  'GPT2Tokenizer', 'HerbertTokenizer', 'LlamaTokenizer', 'M2M100Tokenizer', 'MarianTokenizer', 'MBartTokenizer', 'MBart50Tokenizer',
  'MgpstrTokenizer', 'MobileBertTokenizer', 'MPNetTokenizer', 'NllbTokenizer', 'NougatTokenizer', 'PreTrainedTokenizer', 'Qwen2Tokenizer',
  'RobertaTokenizer', 'RoFormerTokenizer', 'SiglipTokenizer', 'SpeechT5Tokenizer', 'SqueezeBertTokenizer', 'T5Tokenizer', 'VitsTokenizer',
  'Wav2Vec2CTCTokenizer', 'WhisperTokenizer', 'XLMRobertaTokenizer', 'XLMTokenizer', 'AutoTokenizer', 'TokenizersBackend',
];
const KNOWN = new Set(TRANSFORMERS_TOKENIZER_CLASSES);

/** The class transformers.js's AutoTokenizer would build for this tokenizer_config.json. */
export function tokenizerClassName(tokenizerConfig: Record<string, unknown>): string {
  const declared = tokenizerConfig['tokenizer_class'];
  const name = typeof declared === 'string' ? declared.replace(/Fast$/, '') : 'PreTrainedTokenizer';
  return KNOWN.has(name) ? name : 'PreTrainedTokenizer';
}

/** transformers.js getTokenFromConfig: the first of `keys` that is set, as a string. */
function tokenFromConfig(config: Record<string, unknown>, ...keys: string[]): string | null {
  for (const key of keys) {
    if (!Object.hasOwn(config, key)) continue;
    const item = config[key];
    if (!item) continue;
    if (typeof item === 'string') return item;
    // Anything else from a checkpoint's file is refused by name, never used as a token.
    const t = typeof item === 'object' ? (item as Record<string, unknown>) : {};
    if (t['__type'] === 'AddedToken' && typeof t['content'] === 'string') return t['content'];
    throw new Error(`tokenizer_config.json: "${key}" is neither a string nor an AddedToken with string content; fix the file`);
  }
  return null;
}

/**
 * The tokenizer transformers.js would build from these parsed files, or null where its class does
 * more than PreTrainedTokenizer (load that one through transformers.js).
 */
export function directTokenizer(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): TokenizerLike | null {
  const side = PLAIN_CLASSES.get(tokenizerClassName(tokenizerConfig));
  if (side === undefined) return null;
  const tok = new Tokenizer(tokenizerJson, tokenizerConfig);
  const id = (token: string | null): number | undefined => (token === null ? undefined : tok.token_to_id(token));
  const padding = tokenizerConfig['padding_side'];
  return {
    encode: (text, options = {}) => tok.encode(text, { add_special_tokens: options.add_special_tokens ?? true }).ids,
    decode: (ids, options) => {
      if (!Array.isArray(ids) || ids.length === 0 || !Number.isInteger(ids[0])) throw new Error('token_ids must be a non-empty array of integers.');
      return tok.decode(ids, { skip_special_tokens: options.skip_special_tokens ?? false, clean_up_tokenization_spaces: options.clean_up_tokenization_spaces ?? null });
    },
    padding_side: typeof padding === 'string' ? padding : side,
    pad_token_id: id(tokenFromConfig(tokenizerConfig, 'pad_token', 'eos_token')),
    eos_token_id: id(tokenFromConfig(tokenizerConfig, 'eos_token')),
  };
}
