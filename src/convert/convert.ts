// Checkpoint folder (hub layout: config.json, tokenizer files, safetensors or torch .bin) → a model
// folder transformers.js loads like any export, plus the project's scoring graph:
//   config.json (what transformers.js needs; the original is kept as source_config.json),
//   generation_config.json and tokenizer files (copied),
//   onnx/model{_fp16}.onnx          the transformers.js decoder (past key/values)
//   onnx/model{_fp16}.onnx_data     every weight, once, streamed tensor by tensor
//   onnx/score{_fp16}.onnx          the scoring graph (same data file, no second copy)
//   onnx/step{_fp16}.onnx           the greedy-generation decoder with a caller-kept cache (same data file)
//   onnx/score{_fp16}.part{i}of{N}.onnx   with scoringParts: N consecutive layer ranges
// See src/convert/README.md for the scoring graph's contract.

import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectArchitecture, planArchitecture } from './arch/detect.js';
import { ConvertError, type Architecture } from './arch/spec.js';
import { openCheckpoint } from './checkpoint.js';
import { buildDecoderGraph, DECODER_INFO } from './graph/decoder-graph.js';
import { writeExternalData } from './graph/external-data.js';
import { DT } from './graph/onnx-builder.js';
import { buildScoreGraph, splitLayers } from './graph/score-graph.js';
import { buildStepGraph } from './graph/step-graph.js';
import { parseJsonText, readJsonFile } from '../util/json-text.js';
import { resolveInside } from '../util/safe-path.js';
import { tokenizerMaxId } from '../util/tokenizer-ids.js';
import { LIMITS } from './readers/limits.js';
import type { CheckpointReader } from './readers/types.js';

export { detectArchitecture, type Detection } from './arch/detect.js';
export { ConvertError, ARCHITECTURES, type Architecture, type ConvertFailure } from './arch/spec.js';

export interface ConvertOptions {
  dtype: 'fp32' | 'fp16';
  scoringParts?: number;
  log?(msg: string): void;
  /** An already opened checkpoint (tests); default: openCheckpoint(srcDir). Closed by the caller. */
  reader?: CheckpointReader;
}

export interface ConvertReport {
  architecture: Architecture;
  modelType: string;
  /** Distinct dtypes of the checkpoint tensors read (F32, F16, BF16, …). */
  sourceDtypes: string[];
  dtype: 'fp32' | 'fp16';
  /** Checkpoint tensors read. */
  tensors: number;
  parameters: number;
  /** Files written, relative to outDir, with their sizes. */
  files: { path: string; bytes: number }[];
  /** Things the user should know (fp16 overflow of a weight, …); also logged. */
  warnings: string[];
}

/** Tokenizer and generation files copied as they are when present. */
export const COPIED_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
] as const;

/** `srcDir`/`name`, refused unless it stays inside the folder once links are resolved. */
function inside(srcDir: string, name: string): string {
  try {
    return resolveInside(srcDir, name, 'checkpoint file');
  } catch (e) {
    const file = join(srcDir, name);
    throw new ConvertError({ kind: 'bad-config', file, detail: 'outside the checkpoint folder' }, `${file}: ${(e as Error).message}`);
  }
}

async function readConfig(srcDir: string): Promise<Record<string, unknown>> {
  const file = inside(srcDir, 'config.json');
  let text: string;
  try {
    const bytes = (await stat(file)).size;
    if (bytes > LIMITS.jsonBytes) {
      throw new ConvertError({ kind: 'bad-config', file, detail: 'too large' }, `${file}: ${bytes} bytes, more than a config.json may have (${LIMITS.jsonBytes})`);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof ConvertError) throw e;
    throw new ConvertError({ kind: 'bad-config', file, detail: 'missing' }, `${file} is missing: a checkpoint folder needs its config.json`);
  }
  // Never the parser's own message: V8 quotes the text, and config.json may be any file.
  const parsed = parseJsonText(text, (why) => new ConvertError({ kind: 'bad-config', file, detail: why }, `${file} is ${why}`));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConvertError({ kind: 'bad-config', file, detail: 'not a JSON object' }, `${file} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * tokenizer.json is copied as it is, so check it here: it must be JSON (transformers.js's error
 * would name no file and quote the text), and no token id it can produce may pass the rows of
 * the embedding (an id past the table scores garbage or crashes the runtime).
 */
function checkTokenizer(srcDir: string, embedRows: number): void {
  if (!existsSync(join(srcDir, 'tokenizer.json'))) return;
  const file = inside(srcDir, 'tokenizer.json');
  const fail = (detail: string): ConvertError => new ConvertError({ kind: 'bad-config', file, detail }, detail);
  const tok = readJsonFile(file, LIMITS.jsonBytes * 8, fail);
  if (typeof tok !== 'object' || tok === null || Array.isArray(tok)) throw fail(`${file} is not a JSON object`);
  const max = tokenizerMaxId(tok as Record<string, unknown>);
  if (max !== null && max >= embedRows) {
    throw fail(`${file} has token id ${max}, but the model has ${embedRows} embedding rows: the tokenizer does not belong to these weights`);
  }
}

export async function convertCheckpoint(srcDir: string, outDir: string, opts: ConvertOptions): Promise<ConvertReport> {
  const log = opts.log ?? (() => undefined);
  if (opts.dtype !== 'fp32' && opts.dtype !== 'fp16') throw new Error(`convert: dtype must be fp32 or fp16, got ${String(opts.dtype)}`);
  const config = await readConfig(srcDir);
  // Files copied as they are: checked before anything is written (a link out of the folder
  // would copy any file of the user's into the output).
  const copied = COPIED_FILES.filter((f) => existsSync(join(srcDir, f))).map((f) => [f, inside(srcDir, f)] as const);
  const det = detectArchitecture(config);
  if (!det.ok) throw new ConvertError(det.failure, `${join(srcDir, 'config.json')}: ${det.message}`);
  const reader = opts.reader ?? (await openCheckpoint(srcDir));
  try {
    const plan = planArchitecture(det.architecture, config, reader);
    let parts: ReturnType<typeof splitLayers> | null = null;
    if (opts.scoringParts !== undefined && opts.scoringParts !== 1) {
      try {
        parts = splitLayers(plan.spec, opts.scoringParts);
      } catch (e) {
        throw new ConvertError({ kind: 'unsupported-config', architecture: det.architecture, field: 'scoringParts', detail: (e as Error).message }, `convert: ${(e as Error).message}`);
      }
    }
    checkTokenizer(srcDir, plan.spec.embedRows);
    const T = opts.dtype === 'fp16' ? DT.FLOAT16 : DT.FLOAT;
    const suffix = opts.dtype === 'fp16' ? '_fp16' : '';
    const sources = [...new Set(plan.weights.flatMap((w) => w.sources))];
    const sourceDtypes = [...new Set(sources.map((s) => reader.info(s).dtype))].sort();
    log(`convert: ${det.architecture} (model_type ${det.modelType}), ${plan.weights.length} weights from ${sources.length} tensors (${sourceDtypes.join(', ')}) → ${opts.dtype}`);

    await mkdir(join(outDir, 'onnx'), { recursive: true });
    const written: string[] = [];
    const dataName = `onnx/model${suffix}.onnx_data`;
    const weights = await writeExternalData(plan.weights, reader, join(outDir, dataName), T, log);
    written.push(dataName);

    const graphs: [string, Uint8Array][] = [
      [`onnx/model${suffix}.onnx`, buildDecoderGraph(plan.spec, T).encode(weights.initializers)],
      [`onnx/score${suffix}.onnx`, buildScoreGraph(plan.spec, T).encode(weights.initializers)],
      [`onnx/step${suffix}.onnx`, buildStepGraph(plan.spec, T).encode(weights.initializers)],
    ];
    if (parts) {
      parts.forEach((p, i) => graphs.push([`onnx/score${suffix}.part${i}of${parts.length}.onnx`, buildScoreGraph(plan.spec, T, p).encode(weights.initializers)]));
    }
    for (const [path, bytes] of graphs) {
      await writeFile(join(outDir, path), bytes);
      written.push(path);
    }
    await writeFile(join(outDir, 'onnx', 'decoder.json'), JSON.stringify(DECODER_INFO) + '\n');
    written.push('onnx/decoder.json');

    const jsConfig: Record<string, unknown> = { ...plan.jsConfig };
    const prior = (typeof jsConfig['transformers.js_config'] === 'object' && jsConfig['transformers.js_config']) || {};
    jsConfig['transformers.js_config'] = { ...prior, use_external_data_format: { [`model${suffix}.onnx`]: 1 } };
    await writeFile(join(outDir, 'config.json'), JSON.stringify(jsConfig, null, 2) + '\n');
    await writeFile(join(outDir, 'source_config.json'), JSON.stringify(config, null, 2) + '\n');
    written.push('config.json', 'source_config.json');
    for (const [f, from] of copied) {
      await copyFile(from, join(outDir, f));
      written.push(f);
    }
    const files = await Promise.all(written.map(async (path) => ({ path, bytes: (await stat(join(outDir, path))).size })));
    return {
      architecture: det.architecture,
      modelType: det.modelType,
      sourceDtypes,
      dtype: opts.dtype,
      tensors: sources.length,
      parameters: weights.parameters,
      files,
      warnings: weights.overflowed.map((w) => `weight ${w}: values beyond the fp16 range became ±Inf (convert with dtype fp32)`),
    };
  } finally {
    if (!opts.reader) await reader.close();
  }
}
