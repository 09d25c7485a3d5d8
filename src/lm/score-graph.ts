// The project's scoring graph (onnx/score{suffix}.onnx, written by convert-model) run through
// onnxruntime-node directly. One graph, or N consecutive layer ranges
// (onnx/score{suffix}.part{i}of{N}.onnx) chained here: part i runs on device i and hands its
// `hidden` output to part i+1 as its input `hidden_in` (through host memory: onnxruntime-node
// cannot keep CUDA outputs).
//
// Contract (see src/lm/README.md): inputs input_ids, position_ids [B,T] int64, attention_mask
// [B,T,T] bool, score_positions, target_ids [B,K] int64, logits_positions [B,L] int64; outputs
// logprobs [B,K] float32 (fp32 log-softmax over the full width, gathered in the graph) and logits
// [B,L,V] float32.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { PackedBatch } from './packing.js';
import { RentedSessions, withPrepacking } from './prepack.js';
import { sessionOptions } from './threads.js';

/** onnx/model{suffix}.onnx naming, as transformers.js uses it. */
export function dtypeSuffix(dtype: string): string {
  return dtype === 'fp32' ? '' : `_${dtype}`;
}

export function scoreGraphFile(folder: string, dtype: string, part?: { index: number; of: number }): string {
  const stem = `score${dtypeSuffix(dtype)}`;
  return path.join(folder, 'onnx', part ? `${stem}.part${part.index}of${part.of}.onnx` : `${stem}.onnx`);
}

/** Whether the folder has a scoring graph for this dtype (and part count, when > 1). */
export function hasScoreGraph(folder: string, dtype: string, parts = 1): boolean {
  if (parts <= 1) return existsSync(scoreGraphFile(folder, dtype));
  for (let i = 0; i < parts; i++) if (!existsSync(scoreGraphFile(folder, dtype, { index: i, of: parts }))) return false;
  return true;
}

/** The part counts the folder was split into for this dtype (for error messages). */
export function availableParts(folder: string, dtype: string): number[] {
  const dir = path.join(folder, 'onnx');
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^score${dtypeSuffix(dtype)}\\.part0of(\\d+)\\.onnx$`);
  return readdirSync(dir)
    .map((f) => re.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ScoreGraphOptions {
  device: string;
  dtype: string;
  /** Number of consecutive parts (1 = the single graph). */
  parts?: number;
  /** CUDA device of each part (default: part i on device i of the visible ones). */
  deviceIds?: number[];
  /** Threads per session on CPU (default: onnxruntime's) and spinning (threads.ts). */
  threads?: number;
  spin?: boolean;
}

interface OrtTensor {
  type: string;
  dims: readonly number[];
  data: unknown;
  dispose?(): void;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  outputMetadata?: ReadonlyArray<{ name: string; shape?: ReadonlyArray<number | string> }>;
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(file: string, opts: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
}

export interface GraphOutput {
  /** [B, K] */
  logprobs: Float32Array;
  /** [B, L, V], empty when L = 0 */
  logits: Float32Array;
  vocab: number;
}

/** Execution providers for one session; CUDA devices are chosen by id, not only by CUDA_VISIBLE_DEVICES. */
export function executionProviders(device: string, deviceId: number): unknown[] {
  if (device === 'cpu') return ['cpu'];
  if (device === 'cuda') return [{ name: 'cuda', deviceId }, 'cpu'];
  return [device];
}

// Prepacking: rented before it is bought (prepack.ts).
export { PREPACK_AFTER_RUNS } from './prepack.js';

export class ScoreGraph {
  private readonly rented: RentedSessions<OrtSession>;

  private constructor(
    private readonly ort: Ort,
    sessions: OrtSession[],
    readonly files: string[],
    options: (i: number, prepack: boolean) => Record<string, unknown>,
    cpu: boolean,
  ) {
    // Sessions start unpacked and are recreated with prepacking after PREPACK_AFTER_RUNS calls.
    this.rented = new RentedSessions(sessions, (i, prepack) => ort.InferenceSession.create(files[i]!, options(i, prepack)), cpu);
  }

  private get sessions(): readonly OrtSession[] {
    return this.rented.sessions;
  }

  static async load(folder: string, opts: ScoreGraphOptions): Promise<ScoreGraph> {
    const parts = opts.parts ?? 1;
    if (!Number.isInteger(parts) || parts < 1) throw new Error(`scoring graph: parts must be a positive integer, got ${parts}`);
    const files =
      parts === 1
        ? [scoreGraphFile(folder, opts.dtype)]
        : Array.from({ length: parts }, (_, i) => scoreGraphFile(folder, opts.dtype, { index: i, of: parts }));
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      const have = availableParts(folder, opts.dtype);
      throw new Error(
        `scoring graph ${path.relative(folder, missing[0]!)} is missing in ${folder}` +
          (parts > 1 ? ` (split into ${parts} parts; the folder has ${have.length ? have.join(', ') + '-part splits' : 'no split'}: convert the model with that many parts)` : ''),
      );
    }
    const ort = (await import('onnxruntime-node')) as unknown as Ort;
    const cpu = opts.device === 'cpu';
    const options = (i: number, prepack: boolean) =>
      withPrepacking({ executionProviders: executionProviders(opts.device, opts.deviceIds?.[i] ?? i), ...sessionOptions(opts) }, prepack || !cpu);
    const sessions: OrtSession[] = [];
    try {
      for (const [i, file] of files.entries()) sessions.push(await ort.InferenceSession.create(file, options(i, false)));
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
      throw new Error(`cannot load scoring graph ${files[sessions.length]} (device ${opts.device}): ${e instanceof Error ? e.message : String(e)}`);
    }
    const g = new ScoreGraph(ort, sessions, files, options, cpu);
    g.checkContract();
    return g;
  }

  /** The logits width, as the last part's `logits` output declares it (null when not a number). */
  get vocab(): number | null {
    const meta = this.sessions.at(-1)!.outputMetadata?.find((m) => m.name === 'logits');
    const v = meta?.shape?.[2];
    return typeof v === 'number' ? v : null;
  }

  get parts(): number {
    return this.sessions.length;
  }

  private checkContract(): void {
    const last = this.sessions.at(-1)!;
    for (const out of ['logprobs', 'logits']) {
      if (!last.outputNames.includes(out)) throw new Error(`scoring graph ${this.files.at(-1)} has no "${out}" output (has ${last.outputNames.join(', ')})`);
    }
    this.sessions.slice(0, -1).forEach((s, i) => {
      if (!s.outputNames.includes('hidden')) throw new Error(`scoring graph part ${this.files[i]} has no "hidden" output`);
    });
  }

  /** Whether the sessions now hold prepacked weights (always true off the CPU). */
  get isPrepacked(): boolean {
    return this.rented.isPrepacked;
  }

  async run(batch: PackedBatch): Promise<GraphOutput> {
    return this.rented.use(() => this.runOnce(batch));
  }

  private async runOnce(batch: PackedBatch): Promise<GraphOutput> {
    const { Tensor } = this.ort;
    const { B, T, K, L } = batch;
    const feeds: Record<string, OrtTensor> = {
      input_ids: new Tensor('int64', batch.inputIds, [B, T]),
      position_ids: new Tensor('int64', batch.positionIds, [B, T]),
      attention_mask: new Tensor('bool', batch.mask, [B, T, T]),
      score_positions: new Tensor('int64', batch.scorePositions, [B, K]),
      target_ids: new Tensor('int64', batch.targetIds, [B, K]),
      logits_positions: new Tensor('int64', batch.logitsPositions, [B, L]),
    };
    let out: Record<string, OrtTensor> = {};
    for (const [i, session] of this.sessions.entries()) {
      const own: Record<string, OrtTensor> = {};
      for (const name of session.inputNames) {
        const v = feeds[name];
        if (!v) throw new Error(`scoring graph ${this.files[i]} wants input "${name}", which the scoring contract does not provide`);
        own[name] = v;
      }
      const prevHidden = feeds['hidden_in'];
      out = await session.run(own);
      if (i < this.sessions.length - 1) {
        feeds['hidden_in'] = out['hidden']!;
        prevHidden?.dispose?.();
      }
    }
    const lp = out['logprobs']!;
    const lg = out['logits']!;
    const logprobs = lp.type === 'float32' ? (lp.data as Float32Array) : Float32Array.from(lp.data as ArrayLike<number>);
    const vocab = lg.dims[2] ?? 0;
    const logits = lg.type === 'float32' ? (lg.data as Float32Array) : Float32Array.from(lg.data as ArrayLike<number>);
    return { logprobs, logits, vocab };
  }

  async dispose(): Promise<void> {
    await this.rented.release();
  }
}
