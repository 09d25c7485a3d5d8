// What every checkpoint reader hands the converter: a list of tensors (name, dtype, shape, file)
// and positioned reads of one tensor at a time. Failures name the file and the tensor.

export type TensorDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface TensorInfo {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** The file holding it, relative to the checkpoint folder. */
  file: string;
}

export interface CheckpointReader {
  /** The checkpoint folder. */
  readonly dir: string;
  readonly format: 'safetensors' | 'torch';
  /** Weight files read, relative to `dir` (index files included). */
  readonly files: readonly string[];
  list(): TensorInfo[];
  has(name: string): boolean;
  /** Throws CheckpointError('missing-tensor') for a name not in the checkpoint. */
  info(name: string): TensorInfo;
  /** The tensor as contiguous row-major float32 (F16/BF16/F64/integers converted). */
  readF32(name: string): Promise<Float32Array>;
  /** The tensor's contiguous row-major little-endian bytes in its own dtype. */
  readBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type CheckpointFailure =
  | 'no-weights' // no weight file the readers know
  | 'bad-header' // unreadable header / index / pickle
  | 'truncated' // a tensor's bytes extend past the end of its file
  | 'missing-shard' // an index names a file that is not there
  | 'missing-tensor'
  | 'unsupported' // a dtype, compression or layout the readers refuse
  | 'unsafe-name' // a name from the checkpoint (shard, zip entry) that would leave its folder
  | 'too-large'; // a size, count or ratio past the readers' limits (limits.ts)

export class CheckpointError extends Error {
  readonly reason: CheckpointFailure;
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  constructor(reason: CheckpointFailure, message: string, where: { file?: string; tensor?: string } = {}) {
    super(message);
    this.name = 'CheckpointError';
    this.reason = reason;
    this.file = where.file;
    this.tensor = where.tensor;
  }
}

export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
