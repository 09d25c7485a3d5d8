// The decoder graph (onnx/model{suffix}.onnx, transformers.js layout) as a bare onnxruntime-node
// session, for batched greedy generation (greedy.ts). The scoring-graph path loads it here, once,
// on the first generate(): transformers.js's model object is never created on that path, so the
// decoder is not loaded at start, released, and loaded again.

import { existsSync, readFileSync } from 'node:fs';
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

/** The step graph (src/convert/graph/step-graph.ts): the decoder with a cache greedy.ts keeps. */
export function stepGraphFile(folder: string, dtype: string): string {
  return path.join(folder, 'onnx', `step${dtypeSuffix(dtype)}.onnx`);
}

/**
 * The decoder session for greedy generation: the step graph where the folder has one and the
 * device is the CPU (its cache lives in JavaScript memory; on CUDA it would cross to the device
 * every step), else the transformers.js decoder graph.
 */
export async function loadDecoderSession(
  folder: string,
  opts: { device: string; dtype: string; deviceId: number } & ThreadOptions,
): Promise<DecoderSession> {
  const step = stepGraphFile(folder, opts.dtype);
  const file = opts.device === 'cpu' && existsSync(step) ? step : decoderGraphFile(folder, opts.dtype);
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

/**
 * Whether a left-padded row computes bit-for-bit what it computes alone on this decoder graph:
 * graphs converted by this project say so in onnx/decoder.json (float64 attention softmax), for
 * the CPU in fp32 (other devices' matrix products may split their sums by size).
 */
export function paddingInvariant(folder: string, device: string, dtype: string): boolean {
  if (device !== 'cpu' || dtype !== 'fp32') return false;
  const file = path.join(folder, 'onnx', 'decoder.json');
  if (!existsSync(file)) return false;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return info['attention_softmax'] === 'float64' && info['padding_invariant_on'] === 'cpu-fp32';
  } catch {
    return false;
  }
}
