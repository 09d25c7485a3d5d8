// The tiny GPT-2 as a Hugging Face checkpoint instead of an ONNX export: the same config,
// tokenizer and seeded weights (Hugging Face's GPT2 names and Conv1D layout), in
// `model.safetensors`, as `save_pretrained` would write it. convert-model turns it into ONNX, so
// a pipeline (or a test) exercises the converter on a model whose own ONNX graph — written
// independently by onnx-graph.ts — gives the reference numbers.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../convert/readers/safetensors-write.js';
import { resolveTinyModelOptions, tinyModelConfig, type TinyModelOptions } from './options.js';
import { EOS_ID, makeTokenizerFiles } from './tokenizer-files.js';
import { makeWeights } from './weights.js';
import { applyRecall } from './recall.js';

const json = (value: unknown, pretty = true): string => (pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n';

/** Write config.json, generation_config.json, tokenizer files and model.safetensors into outDir. */
export async function buildTinyCheckpoint(outDir: string, opts: TinyModelOptions): Promise<void> {
  const r = resolveTinyModelOptions(opts);
  const weights = makeWeights(r, r.seed, r.variant);
  if (r.recall) applyRecall(weights, r.seed, r.recall);
  const tok = await makeTokenizerFiles();
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    writeFile(join(outDir, 'config.json'), json(tinyModelConfig(opts))),
    writeFile(join(outDir, 'generation_config.json'), json({ _from_model_config: true, bos_token_id: EOS_ID, eos_token_id: EOS_ID })),
    writeFile(join(outDir, 'tokenizer.json'), json(tok['tokenizer.json'], false)),
    writeFile(join(outDir, 'tokenizer_config.json'), json(tok['tokenizer_config.json'])),
    writeFile(join(outDir, 'special_tokens_map.json'), json(tok['special_tokens_map.json'])),
  ]);
  // Tied output layer, as GPT-2's checkpoints: no lm_head.weight in the file.
  await writeSafetensors(join(outDir, 'model.safetensors'), weights.map((w) => ({ name: w.name, dtype: 'F32' as const, shape: w.dims, data: w.data })));
}
