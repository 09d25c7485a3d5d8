// The decoder-only transformer body shared by every architecture and by both graphs (the
// transformers.js decoder with its key/value cache, and the scoring graph). Everything here is
// driven by a ModelSpec; the graphs differ only in how keys/values and the attention mask arrive.
//
// Layout: the residual stream is kept 2-D, [B·T, hidden], so every projection is one Gemm on the
// weight as the checkpoint stores it (transB for torch's [out, in]); attention reshapes to heads.
// Grouped-query attention needs no copies: queries are viewed as [B, kvHeads, group, T, D] and
// broadcast against keys [B, kvHeads, 1, D, S].
//
// Precision: weights and activations are in the graph dtype (float32 or float16); as Hugging Face
// does, norms, activations, the attention softmax and (when asked) rope run in float32 and are
// cast back; masked scores are replaced by the lowest float32.

import type { ModelSpec } from '../arch/spec.js';
import { DT, floatAttr, intAttr, intsAttr, type ElemType, type GraphBuilder } from './onnx-builder.js';

export const MASKED_SCORE = -3.4028234663852886e38;

export interface Body {
  g: GraphBuilder;
  spec: ModelSpec;
  /** Graph dtype of weights and activations. */
  T: ElemType;
  /** int64 [2]: [B, T] of the current input. */
  shapeBT: string;
  /** bool, broadcastable to [B, kvHeads, group, T, S]: key s is visible to query t. */
  mask: string;
  rope: { cos: string; sin: string } | null;
  /** Attention softmax in float64 (decoder graph): see decoder-graph.ts. */
  softmaxF64?: boolean;
  /** Keys/values [B, kvHeads, T, D] of layer i → all keys/values the queries see [B, kvHeads, S, D]. */
  kv(layer: number, k: string, v: string): { k: string; v: string };
  /**
   * Step graph (step-graph.ts): layer i's preallocated cache [B, kvHeads, C, D], seen before the
   * keys kv() returns; the mask then covers C + T keys (cache slots first).
   */
  cache?(layer: number): { k: string; v: string };
}

const fp16 = (b: Body): boolean => b.T === DT.FLOAT16;

/** Run `fn` on x in float32 (casting in and out in an fp16 graph). */
function inFloat32(b: Body, x: string, fn: (xf: string) => string): string {
  if (!fp16(b)) return fn(x);
  return b.g.cast(fn(b.g.cast(x, DT.FLOAT)), DT.FLOAT16);
}

/**
 * The attention mask of the decoder and step graphs, [B, 1, 1, T, S]: query index qIdx [T, 1] sees
 * key index kIdx [1, S] iff kIdx <= qIdx (causal), the model's sliding window allows it (Mistral:
 * qIdx − kIdx <= window), and the int64 padding mask [B, S] marks the key real — Hugging Face's rule.
 */
export function causalPaddingMask(g: GraphBuilder, spec: ModelSpec, qIdx: string, kIdx: string, paddingMask: string): string {
  let visible = g.op('Not', [g.op('Greater', [kIdx, qIdx])]); // [T, S]
  if (spec.slidingWindow !== null) {
    const near = g.op('Not', [g.op('Greater', [g.op('Sub', [qIdx, kIdx]), g.i64([spec.slidingWindow], [])])]);
    visible = g.op('And', [visible, near]);
  }
  const padding = g.op('Unsqueeze', [g.cast(paddingMask, DT.BOOL), g.i64([1, 2, 3])]); // [B, 1, 1, 1, S]
  return g.op('And', [padding, visible]);
}

/** A shape [B, T, ...rest] as an int64 tensor. */
export function shapeWith(b: Body, rest: number[]): string {
  return b.g.op('Concat', [b.shapeBT, b.g.i64(rest)], [intAttr('axis', 0)]);
}

export function norm(b: Body, x: string, prefix: string): string {
  const { g, spec } = b;
  const n = spec.norm;
  return inFloat32(b, x, (xf) => {
    if (n.kind === 'layer') {
      const scale = n.affine ? g.weight(`${prefix}.w`) : g.float(new Array(spec.hidden).fill(1), DT.FLOAT, [spec.hidden]);
      const inputs = [xf, scale];
      if (n.affine && n.bias) inputs.push(g.weight(`${prefix}.b`));
      return g.op('LayerNormalization', inputs, [intAttr('axis', -1), floatAttr('epsilon', n.eps)]);
    }
    const ms = g.op('ReduceMean', [g.op('Mul', [xf, xf])], [intsAttr('axes', [-1]), intAttr('keepdims', 1)]);
    const y = g.op('Mul', [xf, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.float([n.eps])])])])]);
    return n.affine ? g.op('Mul', [y, g.weight(`${prefix}.w`)]) : y;
  });
}

export function linear(b: Body, x: string, prefix: string, bias: boolean): string {
  const inputs = [x, b.g.weight(`${prefix}.w`)];
  if (bias) inputs.push(b.g.weight(`${prefix}.b`));
  return b.g.op('Gemm', inputs, [intAttr('transB', b.spec.linearLayout === 'out_in' ? 1 : 0)]);
}

function act(b: Body, x: string): string {
  const { g } = b;
  return inFloat32(b, x, (v) => {
    switch (b.spec.mlp.act) {
      case 'relu':
        return g.op('Relu', [v]);
      case 'silu':
        return g.op('Mul', [v, g.op('Sigmoid', [v])]);
      case 'gelu':
        // onnxruntime's Gelu kernel computes what x·0.5·(1 + erf(x·√½)) as separate operators did
        // (the same erf, bit for bit: test/convert/gelu.test.ts) in one pass instead of five, and
        // onnxruntime does not fuse that pattern itself (its fusion looks for x / √2).
        return g.msOp('Gelu', [v]);
      case 'gelu_tanh': {
        const cube = g.op('Mul', [g.op('Mul', [v, v]), v]);
        const inner = g.op('Mul', [g.op('Add', [v, g.op('Mul', [cube, g.float([0.044715])])]), g.float([Math.sqrt(2 / Math.PI)])]);
        return g.op('Mul', [g.op('Mul', [v, g.float([0.5])]), g.op('Add', [g.op('Tanh', [inner]), g.float([1])])]);
      }
    }
  });
}

/** cos/sin tables [B, T, 1, rotaryDim] from position ids (rotate_half convention). */
export function ropeTables(b: Body, positionIds: string): { cos: string; sin: string } | null {
  const { g, spec } = b;
  const p = spec.positions;
  if (p.kind !== 'rope') return null;
  const half = p.rotaryDim / 2;
  // inv_freq as torch computes it in float32: 1 / base ** (arange(0, dim, 2).float() / dim).
  const inv = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(Math.pow(p.theta, Math.fround((2 * i) / p.rotaryDim)))));
  let pos = g.cast(positionIds, DT.FLOAT);
  if (p.positionDivisor !== 1) pos = g.op('Div', [pos, g.float([p.positionDivisor])]);
  const freqs = g.op('Mul', [g.op('Unsqueeze', [pos, g.i64([2])]), g.float(inv, DT.FLOAT, [half])]);
  const emb = g.op('Concat', [freqs, freqs], [intAttr('axis', 2)]);
  const axis2 = g.i64([2]);
  let cos = g.op('Unsqueeze', [g.op('Cos', [emb]), axis2]);
  let sin = g.op('Unsqueeze', [g.op('Sin', [emb]), axis2]);
  if (fp16(b) && !p.fullPrecision) {
    cos = g.cast(cos, DT.FLOAT16);
    sin = g.cast(sin, DT.FLOAT16);
  }
  return { cos, sin };
}

/** Rotate the first rotaryDim dims of each head of x [B, T, heads, D]. */
function rope(b: Body, x: string): string {
  const { g, spec } = b;
  const p = spec.positions;
  if (p.kind !== 'rope' || !b.rope) return x;
  const D = spec.headDim;
  const rot = p.rotaryDim;
  const [xr, xp] = rot < D ? g.node('Split', [x, g.i64([rot, D - rot])], [intAttr('axis', 3)], 2) : [x, undefined];
  const inF32 = fp16(b) && p.fullPrecision;
  const r = inF32 ? g.cast(xr!, DT.FLOAT) : xr!;
  const [x1, x2] = g.node('Split', [r, g.i64([rot / 2, rot / 2])], [intAttr('axis', 3)], 2);
  const rotated = g.op('Concat', [g.op('Neg', [x2!]), x1!], [intAttr('axis', 3)]);
  let y = g.op('Add', [g.op('Mul', [r, b.rope.cos]), g.op('Mul', [rotated, b.rope.sin])]);
  if (inF32) y = g.cast(y, DT.FLOAT16);
  return xp ? g.op('Concat', [y, xp], [intAttr('axis', 3)]) : y;
}

function attention(b: Body, i: number, x: string): string {
  const { g, spec } = b;
  const { heads: Hq, kvHeads: Hkv, headDim: D } = spec;
  let qkv = linear(b, x, `l${i}.qkv`, spec.bias.qkv);
  if (spec.clipQkv !== null) qkv = g.op('Clip', [qkv, g.float([-spec.clipQkv], b.T), g.float([spec.clipQkv], b.T)]);
  const [q, k, v] = g.node('Split', [qkv, g.i64([Hq * D, Hkv * D, Hkv * D])], [intAttr('axis', 1)], 3) as [string, string, string];
  const q4 = rope(b, g.op('Reshape', [q, shapeWith(b, [Hq, D])]));
  const k4 = rope(b, g.op('Reshape', [k, shapeWith(b, [Hkv, D])]));
  const v4 = g.op('Reshape', [v, shapeWith(b, [Hkv, D])]);
  const perm = [intsAttr('perm', [0, 2, 1, 3])];
  const all = b.kv(i, g.op('Transpose', [k4], perm), g.op('Transpose', [v4], perm));
  const group = Hq / Hkv;
  const qg = g.op('Transpose', [g.op('Reshape', [q4, shapeWith(b, [Hkv, group, D])])], [intsAttr('perm', [0, 2, 3, 1, 4])]);
  const axis2 = g.i64([2]);
  const keyScores = (k: string) => g.op('MatMul', [qg, g.op('Transpose', [g.op('Unsqueeze', [k, axis2])], [intsAttr('perm', [0, 1, 2, 4, 3])])]);
  const cache = b.cache?.(i);
  let scores = keyScores(all.k); // [B, Hkv, group, T, S]
  if (cache) scores = g.op('Concat', [keyScores(cache.k), scores], [intAttr('axis', -1)]); // [.., C + T]
  if (fp16(b)) scores = g.cast(scores, DT.FLOAT);
  scores = g.op('Mul', [scores, g.float([spec.attnScale[i]!])]);
  const masked = g.op('Where', [b.mask, scores, g.float([MASKED_SCORE])]);
  let probs = b.softmaxF64
    ? g.cast(g.op('Softmax', [g.cast(masked, DT.DOUBLE)], [intAttr('axis', -1)]), DT.FLOAT)
    : g.op('Softmax', [masked], [intAttr('axis', -1)]);
  if (fp16(b)) probs = g.cast(probs, DT.FLOAT16);
  let ctx: string; // [B, Hkv, group, T, D]
  if (cache) {
    // Cache slots, then this call's keys: two products added (unused slots weigh exact zeros).
    const sizes = g.op('Concat', [g.op('Shape', [cache.k], [intAttr('start', 2), intAttr('end', 3)]), g.op('Shape', [all.k], [intAttr('start', 2), intAttr('end', 3)])], [intAttr('axis', 0)]);
    const [pc, pn] = g.node('Split', [probs, sizes], [intAttr('axis', -1)], 2) as [string, string];
    ctx = g.op('Add', [g.op('MatMul', [pc, g.op('Unsqueeze', [cache.v, axis2])]), g.op('MatMul', [pn, g.op('Unsqueeze', [all.v, axis2])])]);
  } else {
    ctx = g.op('MatMul', [probs, g.op('Unsqueeze', [all.v, axis2])]);
  }
  const merged = g.op('Reshape', [g.op('Transpose', [ctx], [intsAttr('perm', [0, 3, 1, 2, 4])]), g.i64([-1, Hq * D])]);
  return linear(b, merged, `l${i}.o`, spec.bias.o);
}

function mlp(b: Body, i: number, x: string): string {
  const { g, spec } = b;
  const up = linear(b, x, `l${i}.up`, spec.bias.mlp);
  let a: string;
  if (spec.mlp.gated) {
    const I = spec.mlp.inner;
    const [gate, lin] = g.node('Split', [up, g.i64([I, I])], [intAttr('axis', 1)], 2) as [string, string];
    a = g.op('Mul', [act(b, gate), lin]);
  } else {
    a = act(b, up);
  }
  return linear(b, a, `l${i}.down`, spec.bias.mlp);
}

/** One block on the residual stream h [B·T, hidden]. */
export function block(b: Body, i: number, h: string): string {
  const { g, spec } = b;
  const attn = attention(b, i, norm(b, h, `l${i}.norm1`));
  if (spec.parallelResidual) {
    const ff = mlp(b, i, norm(b, h, `l${i}.norm2`));
    return g.op('Add', [g.op('Add', [ff, attn]), h]);
  }
  const h2 = g.op('Add', [h, attn]);
  return g.op('Add', [h2, mlp(b, i, norm(b, h2, `l${i}.norm2`))]);
}

/** Token (+ learned position) embeddings as the residual stream [B·T, hidden]. */
export function embed(b: Body, inputIds: string, positionIds: string): string {
  const { g, spec } = b;
  let h = g.op('Gather', [g.weight('embed'), inputIds], [intAttr('axis', 0)]);
  if (spec.positions.kind === 'learned') h = g.op('Add', [h, g.op('Gather', [g.weight('pos_embed'), positionIds], [intAttr('axis', 0)])]);
  if (spec.embedScale !== null) h = g.op('Mul', [h, g.float([spec.embedScale], b.T)]);
  return g.op('Reshape', [h, g.i64([-1, spec.hidden])]);
}

/** Final norm and output layer on rows [M, hidden] → float32 logits [M, vocab]. */
export function outputLayer(b: Body, rows: string): string {
  const { g, spec } = b;
  let logits = g.op('Gemm', [norm(b, rows, 'final_norm'), g.weight(spec.tiedHead ? 'embed' : 'head')], [intAttr('transB', 1)]);
  if (spec.logitScale !== null) logits = g.op('Mul', [logits, g.float([spec.logitScale], b.T)]);
  return fp16(b) ? g.cast(logits, DT.FLOAT) : logits;
}
