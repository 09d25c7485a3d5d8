// Tokenization as minicons does it, and the token-level facts the fast path plans with.
// Pure functions over an `encode` function, so they are testable without a model.

import type { ConditionalRequest } from './types.js';

export type Encode = (text: string) => number[];

/** One scoring job in token space: score ids[start..] each given everything before it. */
export interface ScoreItem {
  ids: number[];
  /** First scored index (>= 1: the first token of a text has no context to be scored from). */
  start: number;
}

export interface ConditionalPlan extends ScoreItem {
  prefixIds: number[];
  /** The prefix tokens are exactly the first tokens of the joined tokens. */
  agree: boolean;
  /** The continuation has no tokens of its own: the result is 0.0 without running the model. */
  zeroToken: boolean;
}

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * cond(prefix, continuation, separator): the prefix is tokenized alone (tokenizer defaults, so a
 * BOS is added where the tokenizer adds one), the joined string is tokenized, and the joined
 * tokens from index len(prefix tokens) on are scored. When the prefix tokenizes to nothing (no
 * BOS, empty prefix) the first joined token has no context and scoring starts at index 1.
 */
export function planConditional(encode: Encode, req: ConditionalRequest): ConditionalPlan {
  const prefixIds = encode(req.prefix);
  const ids = encode(req.prefix + req.separator + req.continuation);
  const start = Math.max(prefixIds.length, 1);
  return {
    ids,
    start,
    prefixIds,
    agree: commonPrefixLength(prefixIds, ids) === prefixIds.length,
    zeroToken: ids.length <= start,
  };
}

/** seq(text): tokens 1..n-1 are scored; the first is context only. */
export function planSequence(encode: Encode, text: string): ScoreItem {
  return { ids: encode(text), start: 1 };
}

/** A compact map key for a token id sequence. */
export function idsKey(ids: readonly number[], length = ids.length): string {
  return ids.slice(0, length).join(',');
}
