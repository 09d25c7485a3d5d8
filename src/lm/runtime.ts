// The narrow view of transformers.js that the rest of src/lm uses. Typing only what we call keeps
// the scoring code independent of the library's large (and changing) type declarations, and keeps
// the heavy import out of modules that only need types.

/** A transformers.js Tensor, as far as we use it. */
export interface TensorLike {
  type: string;
  dims: number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
  to(type: string): TensorLike;
}

export type TensorCtor = new (type: string, data: unknown, dims: number[]) => TensorLike;

export interface SessionLike {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: Array<{ name: string; type?: string; shape?: Array<number | string> }>;
}

/** A causal LM loaded by AutoModelForCausalLM. Calling it runs one forward pass. */
export interface CausalModelLike {
  (inputs: Record<string, unknown>): Promise<Record<string, TensorLike>>;
  config: Record<string, unknown>;
  generation_config: Record<string, unknown> | null | undefined;
  sessions: Record<string, SessionLike>;
  generate(options: Record<string, unknown>): Promise<TensorLike | { sequences: TensorLike }>;
  _prepare_generation_config?(
    generationConfig: Record<string, unknown> | null,
    kwargs: Record<string, unknown>,
  ): Record<string, unknown>;
  dispose(): Promise<unknown>;
}

export interface TokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(
    ids: number[],
    options: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean },
  ): string;
  padding_side: string;
  pad_token_id?: number | null;
  eos_token_id?: number | null;
}

/** Everything a scoring path needs: the loaded pair plus the Tensor class to build inputs. */
export interface Runtime {
  model: CausalModelLike;
  tokenizer: TokenizerLike;
  Tensor: TensorCtor;
  /** Token id used for right padding (never scored, never attended to). */
  padId: number;
  /** Logits width. */
  vocabSize: number;
}
