// `form: minimal-pairs` — a declared task like blimp and dgl: which columns hold the good and the
// bad sentence (an optional suffix appended to both); direct = the two sequence log-probabilities
// compared; metalinguistic = a prompt template over the two sentences in both orders, answered with
// the two answer strings. Columns and judgments are the paper's (grammaticality.ts).

import { runGrammaticality, type PairTask } from '../grammaticality.js';
import type { TaskDef } from '../task-def.js';
import { fillTemplate, parseTemplate, isTemplateError } from './template.js';
import type { MinimalPairsDecl } from './declaration.js';

/** The paper's metalinguistic prompt as a template (note the leading newline). */
export const PAPER_PAIR_PROMPT = '\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: {sentence1}\nSentence 2: {sentence2}\nAnswer:';

/** Names the minimal-pairs template provides besides the item's columns. */
export const PAIR_PLACEHOLDERS = ['sentence1', 'sentence2'];

export function minimalPairsTask(name: string, d: MinimalPairsDecl, domain: string): TaskDef {
  const parts = parseTemplate(d.prompt ?? PAPER_PAIR_PROMPT);
  if (isTemplateError(parts)) throw new Error(`task ${name}: bad prompt template`);
  const tpl = parts;
  const pair: PairTask = {
    name,
    good: d.good,
    bad: d.bad,
    suffix: d.suffix ?? '',
    answers: d.answers ?? ['1', '2'],
    separator: d.separator ?? ' ',
    idColumn: d.id ?? 'item_id',
    prompt: (s1, s2, item) => fillTemplate(tpl, { ...item, sentence1: s1, sentence2: s2 }),
  };
  return {
    name,
    conditions: [],
    stimuli: { file: 'stimuli.csv', requiredColumns: [d.good, d.bad], idColumn: d.id ?? 'item_id' },
    maxNewTokens: 100,
    domain,
    run: (args) => runGrammaticality(pair, args),
    summary: `declared minimal pairs (${d.good} vs ${d.bad})`,
    origin: 'declared',
  };
}
