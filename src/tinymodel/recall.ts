// A crude stand-in for training the demo models: they "memorise" the answers of some demo items.
//
// Why: with random weights the quickstart's free-production accuracy is 0 for crt and digit_mat,
// so its log-odds are infinite and its main figures are blank. A model that recalls a fraction of
// the answers gets some items right in production and, since the same tokens become likely, in
// forced choice too, while the rest stay at chance for forced choice and near 0 for production —
// the paper's kind of result (low-demand methods ahead of high-demand ones), with a recall fraction
// that grows with model size and checkpoint.
//
// How: GPT-2 adds a learned position embedding to every token, and the tied LM head scores the
// final hidden state against the token embeddings. Adding a strong multiple of answer token k's
// (unit) embedding to the position embedding of the prompt's last position + k makes greedy
// decoding produce the answer after that prompt. Prompts of equal length share positions, so an
// item is memorised only where its tokens do not contradict an item memorised before it (in the
// seeded order); which items are memorised depends only on the seed, so a larger recall fraction
// gives a superset. No architectural change: the files stay a plain GPT-2.

import { createHash } from 'node:crypto';
import { encode } from 'gpt-3-encoder';
import { choiceText, digitMatPrompt, digitMatTrials } from '../tasks/digit-mat.js';
import { crtOptions, crtPrompt, CRT_OPTIONS, type CrtCondition } from '../tasks/crt.js';
import { demoStimuli } from '../tasks/demo-stimuli.js';
import { parseCsvText, parseProblemsJson } from '../tasks/stimuli.js';
import type { NamedTensor } from './weights.js';

/** Norm added to a position embedding per memorised token (the random ones have norm ≈ 0.5–0.7; 4 was too weak for the blocks' own output). */
export const RECALL_STRENGTH = 10;

/** One demo item: how many tokens its prompt has and the tokens of its correct answer. */
export interface DemoAnswer {
  key: string;
  promptTokens: number;
  answer: number[];
}

/** The crt and digit_mat demo items with the answer text a correct free production starts with. */
export function demoAnswers(): DemoAnswer[] {
  const out: DemoAnswer[] = [];
  const crt = parseCsvText(demoStimuli('crt').content, 'demo crt stimuli');
  for (const row of crt.rows) {
    const condition = row['condition'] as CrtCondition;
    if (!(condition in CRT_OPTIONS)) continue;
    const correct = crtOptions(condition, row)[0]!;
    // The paper's cleaning keeps the text before the first period: end the answer there.
    const text = ` ${correct}${correct.includes('.') ? '' : '.'}`;
    out.push({ key: `crt/${condition}/${row['item_id']}`, promptTokens: encode(crtPrompt(row['question']!)).length, answer: encode(text) });
  }
  for (const trial of digitMatTrials(parseProblemsJson(demoStimuli('digit_mat').content, 'demo digit_mat problems'))) {
    const answer = trial.problem.answer_choices[trial.problem.correct_ind]!;
    out.push({ key: `digit_mat/${trial.id}`, promptTokens: encode(trial.prompt).length, answer: encode(choiceText(answer)) });
  }
  return out;
}

/** Uniform in [0, 1) from the seed and the item: the item's place in the memorising order. */
function rank(seed: number, key: string): number {
  return createHash('sha256').update(`tinymodel:recall:v1:seed=${seed}:${key}`).digest().readUInt32LE(0) / 4294967296;
}

/** The items a model with this seed and recall fraction memorises, and the tokens at each position. */
export function recallPlan(seed: number, recall: number, items: DemoAnswer[] = demoAnswers()): { keys: string[]; tokens: Map<number, number> } {
  const tokens = new Map<number, number>();
  const keys: string[] = [];
  const chosen = items.map((it) => ({ it, r: rank(seed, it.key) })).filter((x) => x.r < recall).sort((a, b) => a.r - b.r);
  for (const { it } of chosen) {
    // The logits at position p predict the token at p + 1: answer token k sits at promptTokens + k.
    const at = it.answer.map((tok, k) => [it.promptTokens - 1 + k, tok] as const);
    if (at.some(([p, tok]) => tokens.has(p) && tokens.get(p) !== tok)) continue;
    for (const [p, tok] of at) tokens.set(p, tok);
    keys.push(it.key);
  }
  return { keys, tokens };
}

/** How much longer the embeddings of memorised answer tokens are made (see applyRecall). */
export const ANSWER_EMBEDDING_SCALE = 1.6;

/** Add the memorised answers to the position embeddings (in place); returns the memorised items. */
export function applyRecall(weights: NamedTensor[], seed: number, recall: number): string[] {
  const find = (name: string): NamedTensor => {
    const t = weights.find((w) => w.name === name);
    if (!t) throw new Error(`tinymodel: recall needs the weight ${name}`);
    return t;
  };
  const wte = find('transformer.wte.weight');
  const wpe = find('transformer.wpe.weight');
  const gain = find('transformer.ln_f.weight').data;
  const e = wte.dims[1]!;
  const { keys, tokens } = recallPlan(seed, recall);
  // With 32–64 dimensions some of the 50k random embeddings point almost the same way as an
  // answer token's; lengthening the answer tokens' own embeddings keeps them ahead.
  for (const tok of new Set(tokens.values())) {
    for (let i = 0; i < e; i++) wte.data[tok * e + i] = wte.data[tok * e + i]! * ANSWER_EMBEDDING_SCALE;
  }
  for (const [p, tok] of tokens) {
    if (p >= wpe.dims[0]!) continue;
    // Divided by the final layer norm's gain, so that after it the hidden state points along the
    // answer token's embedding (the tied LM head's logit of that token is then the largest).
    const v = Array.from({ length: e }, (_, i) => wte.data[tok * e + i]! / gain[i]!);
    const scale = RECALL_STRENGTH / Math.hypot(...v);
    for (let i = 0; i < e; i++) wpe.data[p * e + i] = wpe.data[p * e + i]! + v[i]! * scale;
  }
  return keys;
}
