// The effective generation config without importing transformers.js (~0.4 CPU s) on the
// scoring-graph path: transformers.js 4.3.2's PreTrainedModel._prepare_generation_config over a
// config-only model (config.json, generation_config.json as found). Its arithmetic: flatten the
// decoder / generator / text_config sub-configs into the config, keep the GenerationConfig
// fields it sets (a new GenerationConfig with its defaults), assign generation_config.json, then
// the caller's generation config, then those kwargs that are GenerationConfig fields.
// test/lm/generation-config.test.ts compares it with transformers.js's on the test models and on
// configs built to reach every branch.

/** transformers.js 4.3.2 GenerationConfig: its fields, in declaration order, and their defaults. */
const DEFAULTS: ReadonlyArray<readonly [string, unknown]> = [
  ['max_length', 20], ['max_new_tokens', null], ['min_length', 0], ['min_new_tokens', null], ['early_stopping', false], ['max_time', null],
  ['do_sample', false], ['num_beams', 1], ['num_beam_groups', 1], ['penalty_alpha', null], ['use_cache', true],
  ['temperature', 1], ['top_k', 50], ['top_p', 1], ['typical_p', 1], ['epsilon_cutoff', 0], ['eta_cutoff', 0], ['diversity_penalty', 0],
  ['repetition_penalty', 1], ['encoder_repetition_penalty', 1], ['length_penalty', 1], ['no_repeat_ngram_size', 0], ['bad_words_ids', null],
  ['force_words_ids', null], ['renormalize_logits', false], ['constraints', null], ['forced_bos_token_id', null], ['forced_eos_token_id', null],
  ['remove_invalid_values', false], ['exponential_decay_length_penalty', null], ['suppress_tokens', null], ['streamer', null],
  ['begin_suppress_tokens', null], ['forced_decoder_ids', null], ['guidance_scale', null],
  ['num_return_sequences', 1], ['output_attentions', false], ['output_hidden_states', false], ['output_scores', false], ['return_dict_in_generate', false],
  ['pad_token_id', null], ['bos_token_id', null], ['eos_token_id', null],
  ['encoder_no_repeat_ngram_size', 0], ['decoder_start_token_id', null],
  ['generation_kwargs', undefined],
];

/** The GenerationConfig field names (transformers.js's Object.getOwnPropertyNames of an instance). */
export const GENERATION_FIELDS: readonly string[] = DEFAULTS.map(([k]) => k);

/** transformers.js `pick`: the listed properties of `o` that are not undefined. */
function pick(o: Record<string, unknown>, props: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) if (o[p] !== undefined) out[p] = o[p];
  return out;
}

export function prepareGenerationConfig(
  config: Record<string, unknown>,
  generationFile: Record<string, unknown> | null,
  generationConfig: Record<string, unknown> | null,
  kwargs: Record<string, unknown> | null,
): Record<string, unknown> {
  const flat: Record<string, unknown> = { ...config };
  for (const key of ['decoder', 'generator', 'text_config']) {
    if (key in flat) Object.assign(flat, flat[key]);
  }
  // generation_kwargs defaults to a fresh {} per instance.
  const gen: Record<string, unknown> = Object.fromEntries(DEFAULTS.map(([k, v]) => [k, k === 'generation_kwargs' ? {} : v]));
  Object.assign(gen, pick(flat, GENERATION_FIELDS));
  Object.assign(gen, generationFile ?? {});
  if (generationConfig) Object.assign(gen, generationConfig);
  if (kwargs) Object.assign(gen, pick(kwargs, Object.keys(gen)));
  return gen;
}
