// Writing safetensors: the header is fixed from the tensors' names, dtypes and shapes up front,
// then each tensor's bytes are appended in header order, so a multi-GB file is written one tensor
// at a time (the benchmark, build-model and test fixtures use it).

import { open, type FileHandle } from 'node:fs/promises';
import { DTYPE_BYTES, numel, type TensorDtype } from './types.js';

export interface TensorDecl {
  name: string;
  dtype: TensorDtype;
  shape: number[];
}

export class SafetensorsWriter {
  private next = 0;
  private position: number;

  private constructor(private readonly fh: FileHandle, private readonly decls: TensorDecl[], headerBytes: number) {
    this.position = headerBytes;
  }

  static async create(path: string, decls: TensorDecl[], metadata: Record<string, string> = { format: 'pt' }): Promise<SafetensorsWriter> {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let offset = 0;
    for (const d of decls) {
      const bytes = numel(d.shape) * DTYPE_BYTES[d.dtype];
      header[d.name] = { dtype: d.dtype, shape: d.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const body = Buffer.from(json, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(body.length));
    const fh = await open(path, 'w');
    await fh.write(Buffer.concat([len, body]), 0, 8 + body.length, 0);
    return new SafetensorsWriter(fh, decls, 8 + body.length);
  }

  /** Append the next declared tensor's little-endian bytes (Float32Array for F32). */
  async write(data: Uint8Array | Float32Array): Promise<void> {
    const d = this.decls[this.next];
    if (!d) throw new Error('more tensors written than declared');
    const bytes = data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
    const want = numel(d.shape) * DTYPE_BYTES[d.dtype];
    if (bytes.byteLength !== want) throw new Error(`tensor ${d.name}: ${bytes.byteLength} bytes given, ${want} declared`);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.fh.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 28), this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.byteLength;
    this.next++;
  }

  async close(): Promise<void> {
    await this.fh.close();
    if (this.next !== this.decls.length) throw new Error(`${this.decls.length - this.next} declared tensors were not written`);
  }
}

/** Write small tensors in one call. */
export async function writeSafetensors(
  path: string,
  tensors: readonly (TensorDecl & { data: Uint8Array | Float32Array })[],
  metadata?: Record<string, string>,
): Promise<void> {
  const w = await SafetensorsWriter.create(path, tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata);
  for (const t of tensors) await w.write(t.data);
  await w.close();
}
