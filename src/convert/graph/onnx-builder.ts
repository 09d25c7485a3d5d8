// A small ONNX graph builder: nodes with unique readable names, inline constants, typed graph
// inputs/outputs, and weights referenced by name (their TensorProtos, pointing into external data,
// are attached when the graph is encoded, so one streamed data file serves several graphs).
//
// Opset 17: LayerNormalization exists; ReduceMean still takes `axes` as an attribute and Split
// takes its sizes as an input.

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET = 17;
const MS_DOMAIN = 'com.microsoft';
const IR_VERSION = 8;

export const DT = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  FLOAT16: onnx.TensorProto.DataType.FLOAT16,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
} as const;
export type ElemType = (typeof DT)[keyof typeof DT];

export type Attr = OnnxTypes.IAttributeProto;
const AT = onnx.AttributeProto.AttributeType;
export const intAttr = (name: string, i: number): Attr => ({ name, i, type: AT.INT });
export const intsAttr = (name: string, ints: number[]): Attr => ({ name, ints, type: AT.INTS });
export const floatAttr = (name: string, f: number): Attr => ({ name, f, type: AT.FLOAT });

export type Dim = string | number;

export function valueInfo(name: string, elemType: number, dims: Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Round float32 values to IEEE half bits (round to nearest even; overflow → ±Inf, counted in
 * `stats.overflow` when given).
 */
export function f32ToF16Bits(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length), stats?: { overflow: number }): Uint16Array {
  // Integer ops on the float32 bit patterns; no per-element allocation (a 7B checkpoint has 7e9).
  const u = src.byteOffset % 4 === 0 ? new Uint32Array(src.buffer, src.byteOffset, src.length) : new Uint32Array(Float32Array.from(src).buffer);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    const e = exp - 112; // rebias 127 → 15
    if (e >= 1 && e < 31) {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still right
      if (h === 0x7c00 && stats) stats.overflow++;
      dst[i] = sign | h;
    } else if (exp === 0xff) {
      dst[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
    } else if (e >= 31) {
      if (stats) stats.overflow++;
      dst[i] = sign | 0x7c00;
    } else if (e < -10) {
      dst[i] = sign;
    } else {
      const m = mant | 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rem = m & ((1 << shift) - 1);
      let h = m >>> shift;
      if (rem > half || (rem === half && h & 1)) h++;
      dst[i] = sign | h;
    }
  }
  return dst;
}

function rawBytes(view: Float32Array | BigInt64Array | Uint16Array | Uint8Array): Uint8Array {
  // ONNX raw_data is little-endian, as are the machines this runs on (x86-64, arm64).
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly constants: OnnxTypes.ITensorProto[] = [];
  readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  /** Weight names the graph reads, in first-use order. */
  readonly weightsUsed = new Set<string>();
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(readonly name: string) {}

  node(op: string, inputs: string[], attrs: Attr[] = [], outputs?: string[] | number): string[] {
    const id = this.counter++;
    const outs =
      Array.isArray(outputs) ? outputs : Array.from({ length: outputs ?? 1 }, (_, k) => `${op.toLowerCase()}_${id}${k ? `_${k}` : ''}`);
    this.nodes.push({ opType: op, name: `${op}_${id}`, input: inputs, output: outs, attribute: attrs });
    return outs;
  }

  op(op: string, inputs: string[], attrs: Attr[] = [], output?: string): string {
    return this.node(op, inputs, attrs, output === undefined ? 1 : [output])[0]!;
  }

  /** An onnxruntime contrib operator (domain com.microsoft, imported at encode time). */
  msOp(op: string, inputs: string[], attrs: Attr[] = []): string {
    const out = this.op(op, inputs, attrs);
    this.nodes.at(-1)!.domain = MS_DOMAIN;
    return out;
  }

  /** A weight initializer by its canonical name (attached at encode time). */
  weight(name: string): string {
    this.weightsUsed.add(name);
    return name;
  }

  private constant(key: string, make: () => OnnxTypes.ITensorProto): string {
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const t = make();
    this.constants.push(t);
    this.constCache.set(key, t.name!);
    return t.name!;
  }

  i64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    return this.constant(key, () => ({
      name: `const_i64_${this.constCache.size}`,
      dims,
      dataType: DT.INT64,
      rawData: rawBytes(BigInt64Array.from(values.map((v) => BigInt(v)))),
    }));
  }

  /** A scalar or small float constant in the given element type (FLOAT or FLOAT16). */
  float(values: number[], type: ElemType = DT.FLOAT, dims: number[] = []): string {
    const key = `f${type}:${dims.join('x')}:${values.join(',')}`;
    const data = type === DT.FLOAT16 ? f32ToF16Bits(Float32Array.from(values)) : Float32Array.from(values);
    return this.constant(key, () => ({ name: `const_f_${this.constCache.size}`, dims, dataType: type, rawData: rawBytes(data) }));
  }

  input(name: string, type: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  cast(x: string, to: ElemType): string {
    return this.op('Cast', [x], [intAttr('to', to)]);
  }

  /** Serialise with the initializers of the weights this graph uses. */
  encode(initializers: ReadonlyMap<string, OnnxTypes.ITensorProto>): Uint8Array {
    const inits: OnnxTypes.ITensorProto[] = [...this.constants];
    for (const name of this.weightsUsed) {
      const t = initializers.get(name);
      if (!t) throw new Error(`graph ${this.name}: weight "${name}" was never written`);
      inits.push(t);
    }
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }, ...(this.nodes.some((n) => n.domain === MS_DOMAIN) ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      producerName: 'lm-task-demands/convert',
      producerVersion: '1',
      graph: { name: this.name, node: this.nodes, initializer: inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
