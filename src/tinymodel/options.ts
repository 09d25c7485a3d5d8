// Options and config.json of the tiny GPT-2 (pure, no dependencies), kept apart from the builder so
// the build-model stage can validate and key its params without loading the ONNX writer.

import type { TinyGpt2Sizes } from './weights.js';

/** GPT-2's <|endoftext|>: bos, eos and unk. */
const EOS_ID = 50256;

export interface TinyModelOptions {
  /** Seed of the weights (any finite number; the same seed gives byte-identical files). */
  seed: number;
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  nPositions?: number;
  /** Extra text mixed into the seed (e.g. a revision name), so one seed can give several models. */
  variant?: string;
  /**
   * Fraction (0..1) of the demo's crt and digit_mat items whose answers the model memorises
   * (recall.ts), so the quickstart's production and forced-choice accuracies are neither 0 nor 1.
   * 0 or absent: plain random weights.
   */
  recall?: number;
}

export const DEFAULT_SIZES = { nLayer: 2, nHead: 2, nEmbd: 32, nPositions: 1024 } as const;
export const VOCAB_SIZE = 50257;
export const LAYER_NORM_EPS = 1e-5;

/** Check the options and fill in defaults; errors name the offending option. */
export function resolveTinyModelOptions(opts: TinyModelOptions): TinyGpt2Sizes & { seed: number; variant: string; recall?: number } {
  if (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed)) {
    throw new Error(`tinymodel: option "seed" must be a finite number, got ${JSON.stringify(opts.seed)}`);
  }
  const sizes = {
    nLayer: opts.nLayer ?? DEFAULT_SIZES.nLayer,
    nHead: opts.nHead ?? DEFAULT_SIZES.nHead,
    nEmbd: opts.nEmbd ?? DEFAULT_SIZES.nEmbd,
    nPositions: opts.nPositions ?? DEFAULT_SIZES.nPositions,
  };
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1 || value > 65536) {
      throw new Error(`tinymodel: option "${name}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  if (sizes.nEmbd % sizes.nHead !== 0) {
    throw new Error(`tinymodel: option "nEmbd" (${sizes.nEmbd}) must be a multiple of "nHead" (${sizes.nHead})`);
  }
  if (opts.recall !== undefined && (typeof opts.recall !== 'number' || !(opts.recall >= 0 && opts.recall <= 1))) {
    throw new Error(`tinymodel: option "recall" must be a number from 0 to 1, got ${JSON.stringify(opts.recall)}`);
  }
  // Absent when 0, so models built without it keep their keys and bytes.
  const recall = opts.recall ? { recall: opts.recall } : {};
  return { ...sizes, vocabSize: VOCAB_SIZE, seed: opts.seed, variant: opts.variant ?? '', ...recall };
}

/** The config.json of the model these options build (Hugging Face GPT2Config fields). */
export function tinyModelConfig(opts: TinyModelOptions): Record<string, unknown> {
  const r = resolveTinyModelOptions(opts);
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.0,
    bos_token_id: EOS_ID,
    embd_pdrop: 0.0,
    eos_token_id: EOS_ID,
    initializer_range: 0.02,
    layer_norm_epsilon: LAYER_NORM_EPS,
    model_type: 'gpt2',
    n_ctx: r.nPositions,
    n_embd: r.nEmbd,
    n_head: r.nHead,
    n_inner: null,
    n_layer: r.nLayer,
    n_positions: r.nPositions,
    reorder_and_upcast_attn: false,
    resid_pdrop: 0.0,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    summary_activation: null,
    summary_first_dropout: 0.0,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: r.vocabSize,
    // Provenance only; transformers.js ignores unknown fields.
    tinymodel: { generator: 'lm-task-demands/tinymodel v1', seed: r.seed, variant: r.variant, ...(r.recall ? { recall: r.recall } : {}) },
  };
}


/** Parameters of the model these options build (tied LM head counted once, as GPT-2's checkpoints). */
export function tinyModelParameters(opts: TinyModelOptions): number {
  const { nLayer, nEmbd: e, nPositions, vocabSize } = resolveTinyModelOptions(opts);
  // Per block: two layer norms (4e), qkv (3e² + 3e), attention out (e² + e), MLP (8e² + 5e).
  return vocabSize * e + nPositions * e + nLayer * (12 * e * e + 13 * e) + 2 * e;
}
