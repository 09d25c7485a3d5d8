// gen(prompt, n): greedy generation with the folder's generation_config.json applied, as the
// paper's generate(max_new_tokens=n) call did; only the new tokens are decoded, with
// skip_special_tokens and clean_up_tokenization_spaces passed explicitly (transformers.js would
// otherwise follow the tokenizer's config). The plain path (the reference) runs transformers.js
// generate one prompt at a time. The others decode greedily in batches on the decoder session
// (greedy.ts), batched so that every row computes bit-for-bit what it would alone: prompts of one
// token length, or left-padded prompts of neighbouring lengths where the graph is padding-invariant
// (decoder.ts paddingInvariant); settings that transformers.js applies as logits processors or samplers
// (sampling, repetition penalty, …) go to transformers.js generate in left-padded batches.

import { packBatches, type BatchLimits } from './batching.js';
import type { DecoderSession, OrtLike } from './decoder.js';
import type { LmStats } from './forward.js';
import { greedyBatch, greedyBatches } from './greedy.js';
import type { LoadedRuntime } from './load.js';
import type { TensorLike } from './runtime.js';
import type { GenerateResult, GenerationSettings } from './types.js';

const NOT_SETTINGS = new Set(['_from_model_config', 'transformers_version', 'do_sample', 'eos_token_id']);

/** The generation settings that apply, for the run record. */
export function generationSettings(rt: LoadedRuntime, forceGreedy: boolean): GenerationSettings {
  const file = rt.generationFile ?? {};
  const effective = effectiveConfig(rt, forceGreedy);
  const doSample = effective['do_sample'] === true;
  const eos = effective['eos_token_id'];
  const settings: GenerationSettings = {
    doSample,
    eosTokenId: typeof eos === 'number' || Array.isArray(eos) ? (eos as number | number[]) : null,
    forcedGreedy: forceGreedy,
    sampledInConfig: file['do_sample'] === true,
    source: rt.generationFile ? 'generation_config.json' : 'model config defaults',
  };
  for (const key of Object.keys(file)) {
    if (!NOT_SETTINGS.has(key)) settings[key] = effective[key] ?? file[key];
  }
  if (doSample) {
    for (const key of ['temperature', 'top_k', 'top_p']) settings[key] = effective[key];
  }
  return settings;
}

export interface GenerateOptions {
  plain: boolean;
  forceGreedy: boolean;
  limits: BatchLimits;
  stats: LmStats;
  /** The decoder session for batched greedy decoding (loaded on first use). */
  decoder: () => Promise<{ ort: OrtLike; session: DecoderSession; padded: boolean }>;
  /** The runtime with a transformers.js model session (for settings greedy.ts does not cover). */
  transformers: () => Promise<LoadedRuntime>;
}

/**
 * Budget on rows × (longest prompt + most new tokens) over a greedy batch: the key/value cache it
 * allocates (8,192 tokens: ~0.6 GB of fp32 cache for Pythia-160m, ~2.1 GB for Pythia-1b; held
 * about twice on the transformers.js decoder, whose step outputs replace its inputs).
 */
const GREEDY_BATCH_TOKENS = 8192;

/**
 * Whether transformers.js generate would be pure greedy argmax for this effective config: no
 * sampling, one beam, and none of the logits processors it builds
 * (modeling_utils.js `_get_logits_processor`) active.
 */
export function isPlainGreedy(c: Record<string, unknown>): boolean {
  const unset = (k: string) => c[k] === null || c[k] === undefined;
  const num = (k: string, dflt: number) => unset(k) || c[k] === dflt;
  return (
    c['do_sample'] !== true &&
    num('num_beams', 1) &&
    num('num_return_sequences', 1) &&
    num('repetition_penalty', 1) &&
    num('no_repeat_ngram_size', 0) &&
    unset('bad_words_ids') &&
    (num('min_length', 0) || unset('eos_token_id')) &&
    (num('min_new_tokens', 0) || unset('eos_token_id')) &&
    unset('forced_bos_token_id') &&
    unset('forced_eos_token_id') &&
    unset('suppress_tokens') &&
    unset('begin_suppress_tokens') &&
    unset('guidance_scale')
  );
}

function effectiveConfig(rt: LoadedRuntime, forceGreedy: boolean): Record<string, unknown> {
  return (
    rt.model._prepare_generation_config?.(null, forceGreedy ? { do_sample: false } : {}) ??
    { ...(rt.model.generation_config ?? {}), ...(forceGreedy ? { do_sample: false } : {}) }
  );
}

function eosSet(settings: GenerationSettings): Set<number> {
  const e = settings.eosTokenId;
  return new Set(e === null ? [] : Array.isArray(e) ? e : [e]);
}

export async function generateTexts(
  rt: LoadedRuntime,
  prompts: readonly string[],
  maxNewTokens: number,
  opts: GenerateOptions,
): Promise<GenerateResult[]> {
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new Error(`generate: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  }
  const settings = generationSettings(rt, opts.forceGreedy);
  const eos = eosSet(settings);
  const encoded = prompts.map((p, i) => {
    const ids = rt.tokenizer.encode(p);
    if (ids.length === 0) throw new Error(`generate: prompt ${i} has no tokens`);
    if (rt.contextLength !== null && ids.length >= rt.contextLength) {
      throw new Error(
        `generate: prompt ${i} has ${ids.length} tokens, at or over the model's context length ${rt.contextLength}`,
      );
    }
    return { i, ids, len: ids.length, past: 0 };
  });
  const results = new Array<GenerateResult>(prompts.length);
  const decode = (ids: number[]) =>
    ids.length ? rt.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: true }) : '';
  if (!opts.plain && isPlainGreedy(effectiveConfig(rt, opts.forceGreedy))) {
    const { ort, session, padded } = await opts.decoder();
    // Each row may take what fits in the context after its own prompt.
    const rows = encoded.map((e) => ({ ...e, maxNew: rt.contextLength === null ? maxNewTokens : Math.min(maxNewTokens, rt.contextLength - e.len) }));
    const perRow = (r: { len: number; maxNew: number }) => r.len + r.maxNew;
    for (const batch of greedyBatches(rows, { maxRows: opts.limits.maxRows, batchTokens: GREEDY_BATCH_TOKENS, size: perRow, padded })) {
      const newIds = await greedyBatch(ort, session, batch, eos, opts.stats);
      batch.forEach((e, b) => (results[e.i] = { text: decode(newIds[b]!), promptIds: e.ids, newTokenIds: newIds[b]! }));
    }
    return results;
  }
  const trt = opts.plain ? rt : await opts.transformers();
  const order = opts.plain ? encoded : [...encoded].sort((a, b) => a.len - b.len);
  // A left-padded batch is as long as its longest prompt plus the new tokens; keep that within the
  // context (prompts that would need fewer new tokens than asked run alone, shortened).
  const fits = (e: { len: number }) => rt.contextLength === null || e.len + maxNewTokens <= rt.contextLength;
  const batches = opts.plain
    ? order.map((e) => [e])
    : [
        ...packBatches(order.filter(fits), { ...opts.limits, batchTokens: Math.max(1, Math.floor(opts.limits.batchTokens / 2)) }),
        ...order.filter((e) => !fits(e)).map((e) => [e]),
      ];
  for (const batch of batches) {
    const S = Math.max(...batch.map((e) => e.len));
    // Do not run past the position table: shorten the budget of new tokens instead of crashing.
    const room = rt.contextLength === null ? maxNewTokens : rt.contextLength - S;
    const maxNew = Math.min(maxNewTokens, room);
    const ids = new BigInt64Array(batch.length * S).fill(BigInt(rt.padId));
    const mask = new BigInt64Array(batch.length * S);
    batch.forEach((e, b) => {
      const off = b * S + (S - e.len); // left padding
      e.ids.forEach((id, j) => {
        ids[off + j] = BigInt(id);
        mask[off + j] = 1n;
      });
    });
    const gen: Record<string, unknown> = {
      inputs: new trt.Tensor('int64', ids, [batch.length, S]),
      attention_mask: new trt.Tensor('int64', mask, [batch.length, S]),
      max_new_tokens: maxNew,
    };
    if (opts.forceGreedy) gen['do_sample'] = false;
    const out = await trt.model.generate(gen);
    const seqs = ('sequences' in out ? out.sequences : out) as TensorLike;
    const width = seqs.dims[1]!;
    const data = seqs.data as ArrayLike<bigint>;
    let steps = 0;
    batch.forEach((e, b) => {
      const newIds: number[] = [];
      for (let j = S; j < width; j++) {
        const id = Number(data[b * width + j]!);
        newIds.push(id);
        if (eos.has(id)) break; // what follows an EOS in a batch is padding
      }
      steps = Math.max(steps, newIds.length);
      results[e.i] = { text: decode(newIds), promptIds: e.ids, newTokenIds: newIds };
    });
    opts.stats.forwardCalls += Math.max(1, steps);
    opts.stats.forwardTokens += batch.reduce((a, e) => a + e.len, 0) + batch.length * Math.max(0, steps - 1);
    opts.stats.paddedForwardTokens += batch.length * (S + Math.max(0, steps - 1));
  }
  return results;
}
