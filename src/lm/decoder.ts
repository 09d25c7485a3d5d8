// The decoder graph (onnx/model{suffix}.onnx, transformers.js layout) as a bare onnxruntime-node
// session, for batched greedy generation (greedy.ts). The scoring-graph path loads it here, once,
// on the first generate(): transformers.js's model object is never created on that path, so the
// decoder is not loaded at start, released, and loaded again.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { sessionOptions, type ThreadOptions } from './threads.js';
import { dtypeSuffix, executionProviders } from './score-graph.js';

export interface OrtTensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}

export interface DecoderSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: ReadonlyArray<{ name: string; type?: string; shape?: ReadonlyArray<number | string> }>;
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release?(): Promise<void>;
}

export interface OrtLike {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensorLike;
}

export function decoderGraphFile(folder: string, dtype: string): string {
  return path.join(folder, 'onnx', `model${dtypeSuffix(dtype)}.onnx`);
}

export async function loadOrt(): Promise<OrtLike & { InferenceSession: { create(file: string, o: Record<string, unknown>): Promise<DecoderSession> } }> {
  return (await import('onnxruntime-node')) as never;
}

export async function loadDecoderSession(
  folder: string,
  opts: { device: string; dtype: string; deviceId: number } & ThreadOptions,
): Promise<DecoderSession> {
  const file = decoderGraphFile(folder, opts.dtype);
  if (!existsSync(file)) throw new Error(`decoder graph ${path.relative(folder, file)} is missing in ${folder} (needed to generate)`);
  const ort = await loadOrt();
  try {
    return await ort.InferenceSession.create(file, {
      executionProviders: executionProviders(opts.device, opts.deviceId),
      ...sessionOptions(opts),
    });
  } catch (e) {
    throw new Error(`cannot load decoder graph ${file} (device ${opts.device}): ${e instanceof Error ? e.message : String(e)}`);
  }
}
