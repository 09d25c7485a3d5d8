// Loading a tokenizer + causal LM from a local folder in the transformers.js layout.
//
// transformers.js only puts env.localModelPath in front of ids with at most one '/', so a folder
// such as /x/y/revisions/step0030-tokens0.06M or cache/trees/<sha> is loaded by pointing
// localModelPath at the folder's parent and using its basename as the id. env is process-global,
// so loads are serialised.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../util/json-text.js';
import { ModelLoadError } from './errors.js';
import { tokenizerMaxId } from '../util/tokenizer-ids.js';
import type { CausalModelLike, Runtime, TensorCtor, TokenizerLike } from './runtime.js';
import { sessionOptions } from './threads.js';
import { directTokenizer } from './tokenizer-direct.js';
import { prepareGenerationConfig } from './generation-config.js';

export interface LoadedRuntime extends Runtime {
  folder: string;
  device: string;
  dtype: string;
  modelType: string;
  contextLength: number | null;
  /** The largest id tokenizer.json can produce (null without a tokenizer.json). */
  maxTokenId: number | null;
  /** generation_config.json as found in the folder (null when absent). */
  generationFile: Record<string, unknown> | null;
  loadSeconds: number;
}

let queue: Promise<unknown> = Promise.resolve();

/** Run loads one at a time: each sets the global env.localModelPath before awaiting. */
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

/** JSON files of a model folder: bounded, and a parse error names the file without quoting it. */
const MAX_JSON = 512 * 1024 * 1024;

function readJson(file: string, fail: (msg: string) => Error): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  const v = readJsonFile(file, MAX_JSON, fail);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(`${file} is not a JSON object`);
  return v as Record<string, unknown>;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Why a folder cannot be a model, checked before the loader's less direct messages. */
function folderProblem(folder: string): string | null {
  if (!existsSync(folder)) return 'the folder does not exist';
  if (!statSync(folder).isDirectory()) return 'the path is not a folder';
  if (!existsSync(path.join(folder, 'config.json'))) return 'it has no config.json';
  return null;
}

/** Refuse a tokenizer whose largest id is past the model's embedding rows (its logits width). */
export function checkTokenizerFits(maxTokenId: number | null, vocabSize: number, fail: (msg: string) => Error): void {
  if (maxTokenId !== null && maxTokenId >= vocabSize) {
    throw fail(`tokenizer.json has token id ${maxTokenId}, but the model has ${vocabSize} embedding rows (its logits width): the tokenizer does not belong to these weights`);
  }
}

export async function loadRuntime(
  folderIn: string,
  opts: { device?: string; dtype?: string; deviceId?: number; threads?: number; spin?: boolean; session?: boolean } = {},
): Promise<LoadedRuntime> {
  const folder = path.resolve(folderIn);
  const device = opts.device ?? 'cpu';
  const dtype = opts.dtype ?? 'fp32';
  const fail = (msg: string): Error =>
    new ModelLoadError(`cannot load language model from folder "${folder}" (device ${device}, dtype ${dtype}): ${msg}`);
  const problem = folderProblem(folder);
  if (problem) throw fail(problem);
  // Read here first: transformers.js's own errors name no file and quote the text. Each file is
  // read once (tokenizer.json is 1.5 MB for the GPT-2/NeoX vocabularies: ~0.15 CPU s a parse).
  const configFile = readJson(path.join(folder, 'config.json'), fail)!;
  const tokenizerConfig = readJson(path.join(folder, 'tokenizer_config.json'), fail);
  const generationFile = readJson(path.join(folder, 'generation_config.json'), fail);
  const tokenizerFile = readJson(path.join(folder, 'tokenizer.json'), fail);
  const maxTokenId = tokenizerFile ? tokenizerMaxId(tokenizerFile) : null;

  const t0 = performance.now();
  if (opts.session === false) {
    // Tokenizer and configs only (the scoring-graph path). Where the tokenizer class is plain
    // PreTrainedTokenizer, neither needs transformers.js (tokenizer-direct.ts, generation-config.ts).
    let direct: TokenizerLike | null;
    try {
      direct = tokenizerFile && tokenizerConfig ? directTokenizer(tokenizerFile, tokenizerConfig) : null;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw fail(msg.startsWith('tokenizer_config.json:') ? msg : `tokenizer.json: ${msg}`);
    }
    if (direct) return finish(folder, device, dtype, direct, configOnlyModel(configFile, generationFile), NO_TENSOR, maxTokenId, generationFile, t0, opts, fail);
  }
  const tf = await import('@huggingface/transformers');
  const loaded = await serialised(async () => {
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = path.dirname(folder) + path.sep;
    const id = path.basename(folder);
    try {
      const tokenizer = (await tf.AutoTokenizer.from_pretrained(id)) as unknown as TokenizerLike;
      // Tokenizer and configs only (the scoring-graph path, a tokenizer class of its own).
      if (opts.session === false) return { tokenizer, model: configOnlyModel(configFile, generationFile) };
      // The device is chosen in the session options too, not only through CUDA_VISIBLE_DEVICES.
      const session_options = {
        ...(device === 'cuda' ? { executionProviders: [{ name: 'cuda', deviceId: opts.deviceId ?? 0 }] } : {}),
        ...sessionOptions(opts),
      };
      const model = (await tf.AutoModelForCausalLM.from_pretrained(id, {
        dtype: dtype as never,
        device: device as never,
        session_options,
      })) as unknown as CausalModelLike;
      return { tokenizer, model };
    } catch (e) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw fail(msg);
    }
  });
  return finish(folder, device, dtype, loaded.tokenizer, loaded.model, tf.Tensor as unknown as TensorCtor, maxTokenId, generationFile, t0, opts, fail);
}

/** Without transformers.js there is no Tensor class: nothing on the scoring-graph path builds one
 * (generation that needs transformers.js loads its own runtime). */
const NO_TENSOR = function noTensor(): never {
  throw new Error('internal: no transformers.js Tensor on the scoring-graph path');
} as unknown as TensorCtor;

/** The loaded pair → a LoadedRuntime: pad and logits width (a probe pass where there is a session). */
async function finish(
  folder: string,
  device: string,
  dtype: string,
  tokenizer: TokenizerLike,
  model: CausalModelLike,
  Tensor: TensorCtor,
  maxTokenId: number | null,
  generationFile: Record<string, unknown> | null,
  t0: number,
  opts: { session?: boolean },
  fail: (msg: string) => Error,
): Promise<LoadedRuntime> {
  const config = model.config;
  const textConfig = (config['text_config'] ?? {}) as Record<string, unknown>;
  const eos = tokenizer.eos_token_id ?? numberOrNull(config['eos_token_id']);
  const padId = tokenizer.pad_token_id ?? eos ?? 0;

  // The logits width is what scoring normalises over; read it off a one-token forward pass
  // rather than trusting config fields that differ between architectures. Without a session the
  // caller sets it (the scoring graph's logits output says it).
  let vocabSize = 0;
  if (opts.session !== false) {
    try {
      const probe = await model({
        input_ids: new Tensor('int64', BigInt64Array.from([BigInt(padId)]), [1, 1]),
        attention_mask: new Tensor('int64', BigInt64Array.from([1n]), [1, 1]),
        position_ids: new Tensor('int64', BigInt64Array.from([0n]), [1, 1]),
      });
      const logits = probe['logits'];
      if (!logits) throw new Error('the model returned no "logits" output');
      vocabSize = logits.dims[logits.dims.length - 1] ?? 0;
    } catch (e) {
      throw fail(`probe forward pass failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // A token id past the embedding rows would index outside the table: refuse the pair at once
  // (without a session the caller knows the width later and checks then).
  if (vocabSize > 0) checkTokenizerFits(maxTokenId, vocabSize, fail);

  const contextLength =
    numberOrNull(config['n_positions']) ??
    numberOrNull(config['max_position_embeddings']) ??
    numberOrNull(textConfig['max_position_embeddings']) ??
    numberOrNull(config['n_ctx']) ??
    null;

  return {
    folder,
    device,
    dtype,
    model,
    tokenizer,
    Tensor,
    padId,
    vocabSize,
    maxTokenId,
    modelType: String(config['model_type'] ?? 'unknown'),
    contextLength,
    generationFile,
    loadSeconds: (performance.now() - t0) / 1000,
  };
}

/** A stand-in for transformers.js's model object with no session: config, generation settings
 * (transformers.js's base _prepare_generation_config, as generation-config.ts computes it). */
function configOnlyModel(config: Record<string, unknown>, generationFile: Record<string, unknown> | null): CausalModelLike {
  const noSession = (): never => {
    throw new Error('internal: this model was loaded without a decoder session (scoring-graph path)');
  };
  return Object.assign(noSession, {
    config,
    generation_config: generationFile,
    sessions: {},
    generate: noSession,
    _prepare_generation_config: (g: Record<string, unknown> | null, k: Record<string, unknown>) => prepareGenerationConfig(config, generationFile, g, k),
    dispose: async () => undefined,
  }) as unknown as CausalModelLike;
}
