// What an architecture module hands the graph builder: the model's shape and semantics as plain
// data (ModelSpec), and every weight the graphs read under a canonical name with a function that
// produces it from the checkpoint. The graph code never sees checkpoint names; the architecture
// modules never build nodes.
//
// Canonical weight names (row-major; `linear` weights are in `linearLayout`):
//   embed [embedRows, hidden]           pos_embed [positions, hidden] (learned positions only)
//   l{i}.norm1.w / .b, l{i}.norm2.w / .b   (norm weights are kept in float32 in every graph)
//   l{i}.qkv.w [q heads | k heads | v heads] × hidden, l{i}.qkv.b
//   l{i}.o.w, l{i}.o.b
//   l{i}.up.w (gated MLPs: [gate | up] fused), l{i}.up.b, l{i}.down.w, l{i}.down.b
//   final_norm.w / .b                   head [vocab, hidden] (always [out, in]; tied → embed)

import type { CheckpointReader } from '../readers/types.js';

export const ARCHITECTURES = ['gpt2', 'gpt_neox', 'llama', 'mistral', 'gemma', 'olmo', 'hf_olmo'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export type Activation = 'gelu' | 'gelu_tanh' | 'silu' | 'relu';

export type NormSpec =
  | { kind: 'layer'; eps: number; affine: boolean; bias: boolean }
  | { kind: 'rms'; eps: number; affine: boolean };

export type PositionSpec =
  | { kind: 'learned' }
  | {
      kind: 'rope';
      theta: number;
      /** Leading dimensions of each head that rotate (gpt_neox rotary_pct < 1 rotates fewer). */
      rotaryDim: number;
      /** Linear rope scaling: positions are divided by this factor (1 = none). */
      positionDivisor: number;
      /** Rotate in float32 even in an fp16 graph (hf_olmo rope_full_precision). */
      fullPrecision: boolean;
    };

export interface ModelSpec {
  architecture: Architecture;
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Logits width: rows of the output layer (padded vocabularies included). */
  vocab: number;
  embedRows: number;
  maxPositions: number | null;
  norm: NormSpec;
  positions: PositionSpec;
  parallelResidual: boolean;
  mlp: { gated: boolean; act: Activation; inner: number };
  /** 'out_in' = torch nn.Linear [out, in]; 'in_out' = GPT-2 Conv1D [in, out]. */
  linearLayout: 'out_in' | 'in_out';
  bias: { qkv: boolean; o: boolean; mlp: boolean };
  /** Clamp q, k and v to ±clipQkv after their projection (OLMo). */
  clipQkv: number | null;
  /** Embeddings are multiplied by this (Gemma: sqrt(hidden), rounded to the model dtype). */
  embedScale: number | null;
  /** Logits are multiplied by this (hf_olmo scale_logits: 1/sqrt(d_model)). */
  logitScale: number | null;
  /** Keys further than this many positions behind a query are hidden (Mistral). */
  slidingWindow: number | null;
  /** Attention score scale per layer (1/sqrt(head_dim), GPT-2 may divide by layer index + 1). */
  attnScale: number[];
  tiedHead: boolean;
}

export interface WeightSpec {
  name: string;
  dims: number[];
  /** Checkpoint tensors it is made from (for error messages and reports). */
  sources: string[];
  /** Stored in float32 whatever the graph dtype (norm gains). */
  keepFp32?: boolean;
  /** Its values in row-major order, a chunk at a time (chunks are views: copy to keep). */
  chunks(reader: CheckpointReader): AsyncIterable<Float32Array>;
}

export interface ArchPlan {
  spec: ModelSpec;
  weights: WeightSpec[];
  /** config.json as transformers.js should see it (the original is kept as source_config.json). */
  jsConfig: Record<string, unknown>;
}

export type ConvertFailure =
  | { kind: 'unknown-architecture'; modelType: string; supported: readonly Architecture[] }
  | { kind: 'unsupported-config'; architecture: string; field: string; detail: string }
  | { kind: 'missing-tensor'; tensor: string; file: string }
  | { kind: 'shape-mismatch'; tensor: string; file: string; expected: number[]; actual: number[] }
  | { kind: 'bad-config'; file: string; detail: string }
  | { kind: 'non-finite'; tensor: string; file: string; index: number; value: 'NaN' | '+Inf' | '-Inf' };

/** A conversion failure; `failure` says which, with the file and tensor where there is one. */
export class ConvertError extends Error {
  constructor(
    readonly failure: ConvertFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ConvertError';
  }
}

export const SUPPORTED_LIST = ARCHITECTURES.join(', ');
