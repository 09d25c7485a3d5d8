// The decoder graph (onnx/model{suffix}.onnx, transformers.js layout) as a bare onnxruntime-node
// session, for batched greedy generation (greedy.ts). The scoring-graph path loads it here, once,
// on the first generate(): transformers.js's model object is never created on that path, so the
// decoder is not loaded at start, released, and loaded again.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sessionOptions, type ThreadOptions } from './threads.js';
import { RentedSessions, withPrepacking } from './prepack.js';
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
  outputMetadata?: ReadonlyArray<{ name: string; type?: string; shape?: ReadonlyArray<number | string> }>;
  /** fetches: the outputs wanted (default: all); onnxruntime copies out only those. */
  run(feeds: Record<string, OrtTensorLike>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
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
 * every step), else the transformers.js decoder graph. On the CPU it starts without weight
 * prepacking and buys it after PREPACK_AFTER_RUNS calls (prepack.ts), as the scoring graph does:
 * a task's few generation steps never pay for it (~15 CPU s per load at 1B).
 */
export async function loadDecoderSession(
  folder: string,
  opts: { device: string; dtype: string; deviceId: number } & ThreadOptions,
): Promise<DecoderSession> {
  const step = stepGraphFile(folder, opts.dtype);
  const file = opts.device === 'cpu' && existsSync(step) ? step : decoderGraphFile(folder, opts.dtype);
  if (!existsSync(file)) throw new Error(`decoder graph ${path.relative(folder, file)} is missing in ${folder} (needed to generate)`);
  const ort = await loadOrt();
  const cpu = opts.device === 'cpu';
  const create = (prepack: boolean) =>
    ort.InferenceSession.create(file, withPrepacking({ executionProviders: executionProviders(opts.device, opts.deviceId), ...sessionOptions(opts) }, prepack || !cpu));
  let first: DecoderSession;
  try {
    first = await create(false);
  } catch (e) {
    throw new Error(`cannot load decoder graph ${file} (device ${opts.device}): ${e instanceof Error ? e.message : String(e)}`);
  }
  return cpu ? rentedDecoder(first, create) : first;
}

/** A decoder session whose weights are prepacked only after PREPACK_AFTER_RUNS calls (prepack.ts). */
export interface RentedDecoderSession extends DecoderSession {
  readonly isPrepacked: boolean;
}

function rentedDecoder(first: DecoderSession, create: (prepack: boolean) => Promise<DecoderSession>): RentedDecoderSession {
  const rented = new RentedSessions([first], (_, prepack) => create(prepack), true);
  // The recreated session is the same graph: names and metadata stay those of the first.
  return {
    inputNames: first.inputNames,
    outputNames: first.outputNames,
    inputMetadata: first.inputMetadata,
    ...(first.outputMetadata ? { outputMetadata: first.outputMetadata } : {}),
    get isPrepacked() {
      return rented.isPrepacked;
    },
    run: (feeds, fetches) => rented.use(([s]) => (fetches ? s!.run(feeds, fetches) : s!.run(feeds))),
    release: () => rented.release(),
  };
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
