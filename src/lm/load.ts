// Loading a tokenizer + causal LM from a local folder in the transformers.js layout.
//
// transformers.js only puts env.localModelPath in front of ids with at most one '/', so a folder
// such as /x/y/revisions/step0030-tokens0.06M or cache/trees/<sha> is loaded by pointing
// localModelPath at the folder's parent and using its basename as the id. env is process-global,
// so loads are serialised.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CausalModelLike, Runtime, TensorCtor, TokenizerLike } from './runtime.js';
import { sessionOptions } from './threads.js';

export interface LoadedRuntime extends Runtime {
  folder: string;
  device: string;
  dtype: string;
  modelType: string;
  contextLength: number | null;
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

function readJson(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
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

export async function loadRuntime(
  folderIn: string,
  opts: { device?: string; dtype?: string; deviceId?: number; threads?: number; spin?: boolean; session?: boolean } = {},
): Promise<LoadedRuntime> {
  const folder = path.resolve(folderIn);
  const device = opts.device ?? 'cpu';
  const dtype = opts.dtype ?? 'fp32';
  const fail = (msg: string): Error =>
    new Error(`cannot load language model from folder "${folder}" (device ${device}, dtype ${dtype}): ${msg}`);
  const problem = folderProblem(folder);
  if (problem) throw fail(problem);

  const t0 = performance.now();
  const tf = await import('@huggingface/transformers');
  const loaded = await serialised(async () => {
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = path.dirname(folder) + path.sep;
    const id = path.basename(folder);
    try {
      const tokenizer = (await tf.AutoTokenizer.from_pretrained(id)) as unknown as TokenizerLike;
      if (opts.session === false) {
        // Tokenizer and configs only (the scoring-graph path): transformers.js's own generation
        // settings logic runs on the config and generation_config.json without a session.
        const config = (await tf.AutoConfig.from_pretrained(id)) as unknown as Record<string, unknown>;
        return { tokenizer, model: configOnlyModel(tf.PreTrainedModel.prototype as never, config, readJson(path.join(folder, 'generation_config.json'))) };
      }
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
  const { tokenizer, model } = loaded;
  const Tensor = tf.Tensor as unknown as TensorCtor;
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
    modelType: String(config['model_type'] ?? 'unknown'),
    contextLength,
    generationFile: readJson(path.join(folder, 'generation_config.json')),
    loadSeconds: (performance.now() - t0) / 1000,
  };
}

/** A stand-in for transformers.js's model object with no session: config, generation settings. */
function configOnlyModel(
  proto: { _prepare_generation_config: (g: unknown, k: unknown) => Record<string, unknown> },
  config: Record<string, unknown>,
  generationFile: Record<string, unknown> | null,
): CausalModelLike {
  const noSession = (): never => {
    throw new Error('internal: this model was loaded without a decoder session (scoring-graph path)');
  };
  const self = { config, generation_config: generationFile };
  return Object.assign(noSession, {
    config,
    generation_config: generationFile,
    sessions: {},
    generate: noSession,
    _prepare_generation_config: (g: Record<string, unknown> | null, k: Record<string, unknown>) => proto._prepare_generation_config.call(self, g, k),
    dispose: async () => undefined,
  }) as unknown as CausalModelLike;
}
