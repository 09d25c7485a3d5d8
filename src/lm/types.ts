// The contract between the tasks (pure code that builds requests and rows) and a language model.
// Semantics are DESIGN.md "Scoring" (minicons 0.2.33 over transformers 4.38); every implementation
// (plain, fast, fake) must return the same numbers up to floating-point noise.

export type Reduction = 'sum' | 'mean';

/** cond(prefix, continuation, separator): the prefix is tokenized alone, the joined string
 * prefix + separator + continuation is tokenized, and its tokens from len(prefix tokens) on are scored. */
export interface ConditionalRequest {
  prefix: string;
  continuation: string;
  separator: string;
}

/** Per-token detail kept for requests.jsonl and `pipeline inspect`. */
export interface TokenScores {
  /** Token ids of the scored span (for `conditional`: the continuation tokens; for `sequence`: tokens 1..n-1). */
  tokenIds: number[];
  /** log p(token | everything before it), one per scored token. */
  tokenLogprobs: number[];
}

export interface ConditionalResult extends TokenScores {
  /** Reduced log-probability: sum or mean of tokenLogprobs; 0.0 when the continuation has no tokens. */
  logprob: number;
  /** Token ids of the prefix tokenized alone. */
  prefixIds: number[];
}

export interface SequenceResult extends TokenScores {
  /** Sum of tokenLogprobs (the first token is context only). */
  logprob: number;
  /** All token ids of the tokenized text. */
  inputIds: number[];
}

export interface GenerateResult {
  /** The new tokens decoded with skip_special_tokens and clean_up_tokenization_spaces = true. */
  text: string;
  promptIds: number[];
  newTokenIds: number[];
}

/** The generation settings actually used, recorded in the run record (TASKS.md "gen"). */
export interface GenerationSettings {
  doSample: boolean;
  eosTokenId: number | number[] | null;
  forcedGreedy: boolean;
  /** Any other settings from generation_config.json that applied (temperature, top_p, ...). */
  [key: string]: unknown;
}

export interface ModelInfo {
  modelType: string;
  /** Width of the logits (the vocabulary size the model outputs). */
  vocabSize: number;
  /** Maximum number of positions, when the config says. */
  contextLength: number | null;
  device: string;
  dtype: string;
  generation: GenerationSettings;
  /** Which scoring path answers (plain reference, transformers.js fast path, or the scoring graph). */
  scoringPath?: 'plain' | 'fast' | 'graph';
  /** Scoring-graph parts (one per device). */
  parts?: number;
}

/** Counters a benchmark or run record reads. */
export interface ScoringStats {
  /** Tokens fed through the model's forward pass (the fast path's saving shows here). */
  forwardTokens: number;
  forwardCalls: number;
  /** Continuations that had zero tokens of their own (they score 0.0; TASKS.md digit_mat). */
  zeroTokenContinuations: number;
}

export interface LanguageModel {
  readonly info: ModelInfo;
  readonly stats: ScoringStats;
  conditional(requests: ConditionalRequest[], reduction: Reduction): Promise<ConditionalResult[]>;
  sequence(texts: string[]): Promise<SequenceResult[]>;
  /** Logits at the last position of each text tokenized alone (full width, not normalised). */
  nextTokenLogits(texts: string[]): Promise<Float32Array[]>;
  generate(prompts: string[], maxNewTokens: number): Promise<GenerateResult[]>;
  /** Token count of a text as the model's tokenizer sees it (used to detect prompts over the context). */
  countTokens(text: string): number;
  dispose(): Promise<void>;
}

export interface LoadOptions {
  /** 'cpu' (default) or 'cuda'. */
  device?: string;
  /** 'fp32' (default), 'fp16', 'q8', ... — selects onnx/model{suffix}.onnx. */
  dtype?: string;
  /** Use the plain one-sequence-at-a-time path (reference) instead of the fast batched path. */
  plain?: boolean;
  /** Force greedy decoding even when generation_config.json turns sampling on. */
  forceGreedy?: boolean;
  /** Token budget per forward batch (fast path: B × longest row; scoring graph: B × T). */
  batchTokens?: number;
  /**
   * Score with the project's scoring graph (onnx/score{suffix}.onnx). Default: when the folder has
   * one (a converted model); false forces the transformers.js fast path, true requires the graph.
   */
  scoringGraph?: boolean;
  /** Run the scoring graph as this many consecutive layer parts, part i on CUDA device i (default 1). */
  parts?: number;
}
