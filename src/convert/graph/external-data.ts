// Stream weights into one external data file, tensor by tensor: read one checkpoint tensor's
// bytes, widen/regroup/round it a chunk at a time, append, drop it. Peak memory is about one
// stored tensor plus a chunk, never the checkpoint. The returned TensorProtos point into the
// file by location/offset/length, so any number of graphs next to it can share the same bytes.

import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { WeightSpec } from '../arch/spec.js';
import type { CheckpointReader } from '../readers/types.js';
import { DT, f32ToF16Bits, type ElemType } from './onnx-builder.js';

const { onnx } = onnxProto;

/** Offsets are aligned so every tensor can be mapped or read in place. */
const ALIGN = 64;

export interface WrittenWeights {
  initializers: Map<string, OnnxTypes.ITensorProto>;
  bytes: number;
  parameters: number;
  /** Weights with values beyond the fp16 range (stored as ±Inf). */
  overflowed: string[];
}

export async function writeExternalData(
  weights: readonly WeightSpec[],
  reader: CheckpointReader,
  dataPath: string,
  T: ElemType,
  log: (msg: string) => void = () => undefined,
): Promise<WrittenWeights> {
  const location = basename(dataPath);
  const fh = await open(dataPath, 'w');
  const initializers = new Map<string, OnnxTypes.ITensorProto>();
  let offset = 0;
  let parameters = 0;
  const overflowed: string[] = [];
  const started = Date.now();
  let lastLog = started;
  try {
    for (const [k, w] of weights.entries()) {
      const n = w.dims.reduce((a, b) => a * b, 1);
      const type = w.keepFp32 || T === DT.FLOAT ? DT.FLOAT : DT.FLOAT16;
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) {
        await fh.write(new Uint8Array(pad), 0, pad, offset);
        offset += pad;
      }
      const begin = offset;
      let values = 0;
      const stats = { overflow: 0 };
      for await (const chunk of w.chunks(reader)) {
        const bytes =
          type === DT.FLOAT ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(f32ToF16Bits(chunk, undefined, stats).buffer);
        let done = 0;
        while (done < bytes.byteLength) {
          const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, offset + done);
          done += bytesWritten;
        }
        offset += bytes.byteLength;
        values += chunk.length;
      }
      if (stats.overflow > 0) {
        // As torch's .half() would, the values become ±Inf; say so, since they poison the outputs.
        log(`convert: warning: ${stats.overflow} values of ${w.sources.join(', ')} exceed the fp16 range (±65504) and became ±Inf; convert with dtype fp32`);
        overflowed.push(w.name);
      }
      if (values !== n) throw new Error(`internal: weight ${w.name} (from ${w.sources.join(', ')}) produced ${values} values for [${w.dims.join(', ')}]`);
      initializers.set(w.name, {
        name: w.name,
        dims: w.dims,
        dataType: type,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(begin) },
          { key: 'length', value: String(offset - begin) },
        ],
      });
      parameters += n;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`convert: ${k + 1}/${weights.length} tensors, ${(offset / 2 ** 20).toFixed(0)} MiB written`);
      }
    }
  } finally {
    await fh.close();
  }
  return { initializers, bytes: offset, parameters, overflowed };
}
