// An independent GPT-2 forward pass in plain TypeScript (float64), used to check the ONNX graph the
// tiny model builder writes. It reads the weights back from the written model.onnx, so it checks
// the stored weights and the graph together, and it follows Hugging Face's GPT2LMHeadModel
// directly (no shared code with src/tinymodel/onnx-graph.ts).

import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface RefModel {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocab: number;
  eps: number;
  w: Map<string, Float32Array>;
}

/** Read the float initializers of a model.onnx (raw_data, little-endian). */
export async function readOnnxWeights(file: string): Promise<Map<string, Float32Array>> {
  const model = onnx.ModelProto.decode(await readFile(file));
  const out = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData || !t.name) continue;
    const copy = new Uint8Array(t.rawData); // aligned copy
    out.set(t.name, new Float32Array(copy.buffer, 0, copy.byteLength / 4));
  }
  return out;
}

function get(m: RefModel, name: string): Float32Array {
  const t = m.w.get(name);
  if (!t) throw new Error(`reference forward: weight ${name} not found`);
  return t;
}

function layerNorm(x: Float64Array, gain: Float32Array, bias: Float32Array, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - mean) ** 2;
  const inv = 1 / Math.sqrt(v / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inv * gain[i]! + bias[i]!;
  return out;
}

/** y = x W + b with W stored [in, out] row-major (GPT-2 Conv1D). */
function conv1d(x: Float64Array, wt: Float32Array, b: Float32Array): Float64Array {
  const nIn = x.length;
  const nOut = b.length;
  const out = Float64Array.from(b);
  for (let i = 0; i < nIn; i++) {
    const xi = x[i]!;
    const row = i * nOut;
    for (let o = 0; o < nOut; o++) out[o] = out[o]! + xi * wt[row + o]!;
  }
  return out;
}

const geluNew = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/**
 * Logits [batch][seq][vocab] for full sequences (no cache). Query s sees key j iff j <= s and
 * mask[b][j] = 1; a query that sees nothing attends uniformly (the graph's replace-by-constant
 * masking does the same).
 */
export function referenceLogits(m: RefModel, ids: number[][], mask: number[][], positions: number[][]): Float64Array[][] {
  const E = m.nEmbd;
  const H = m.nHead;
  const D = E / H;
  const wte = get(m, 'transformer.wte.weight');
  const wpe = get(m, 'transformer.wpe.weight');
  return ids.map((row, b) => {
    const S = row.length;
    let hs = row.map((tok, s) => {
      const p = positions[b]![s]!;
      const h = new Float64Array(E);
      for (let e = 0; e < E; e++) h[e] = wte[tok * E + e]! + wpe[p * E + e]!;
      return h;
    });
    for (let l = 0; l < m.nLayer; l++) {
      const p = `transformer.h.${l}`;
      const qkv = hs.map((h) => conv1d(layerNorm(h, get(m, `${p}.ln_1.weight`), get(m, `${p}.ln_1.bias`), m.eps), get(m, `${p}.attn.c_attn.weight`), get(m, `${p}.attn.c_attn.bias`)));
      const attnOut = hs.map((_, s) => {
        const ctx = new Float64Array(E);
        for (let hd = 0; hd < H; hd++) {
          const scores: number[] = [];
          for (let j = 0; j < S; j++) {
            const visible = j <= s && mask[b]![j] === 1;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += qkv[s]![hd * D + d]! * qkv[j]![E + hd * D + d]!;
            scores.push(visible ? dot / Math.sqrt(D) : -1e9);
          }
          const mx = Math.max(...scores);
          const ex = scores.map((x) => Math.exp(x - mx));
          const sum = ex.reduce((x, y) => x + y, 0);
          for (let j = 0; j < S; j++) {
            const pj = ex[j]! / sum;
            for (let d = 0; d < D; d++) ctx[hd * D + d] = ctx[hd * D + d]! + pj * qkv[j]![2 * E + hd * D + d]!;
          }
        }
        return conv1d(ctx, get(m, `${p}.attn.c_proj.weight`), get(m, `${p}.attn.c_proj.bias`));
      });
      hs = hs.map((h, s) => h.map((x, e) => x + attnOut[s]![e]!));
      hs = hs.map((h) => {
        const a = conv1d(layerNorm(h, get(m, `${p}.ln_2.weight`), get(m, `${p}.ln_2.bias`), m.eps), get(m, `${p}.mlp.c_fc.weight`), get(m, `${p}.mlp.c_fc.bias`));
        const out = conv1d(a.map(geluNew), get(m, `${p}.mlp.c_proj.weight`), get(m, `${p}.mlp.c_proj.bias`));
        return h.map((x, e) => x + out[e]!);
      });
    }
    return hs.map((h) => {
      const f = layerNorm(h, get(m, 'transformer.ln_f.weight'), get(m, 'transformer.ln_f.bias'), m.eps);
      const logits = new Float64Array(m.vocab);
      for (let v = 0; v < m.vocab; v++) {
        let dot = 0;
        for (let e = 0; e < E; e++) dot += f[e]! * wte[v * E + e]!;
        logits[v] = dot;
      }
      return logits;
    });
  });
}
