// digit_mat (analogical reasoning on digit matrices), TASKS.md: free production of the missing cell
// vs forced choice among 8 answers. Rows: problem index first, then type in file order.

import { applyLimit, blankScores, firstArgmax, type Row, type TaskArgs, type TaskOutput } from './common.js';
import type { Tagged } from './lm-session.js';
import type { ConditionalRequest } from '../lm/types.js';
import { boolCell, floatCell, npIntArray, pyFloatList, pyIntList } from './py-format.js';
import { sizeFormula, type DomainDef, type TaskDef } from './task-def.js';
import { readDigitMatProblems, type DigitMatProblem, type DigitMatType } from './stimuli.js';

export const DIGIT_MAT_HEADER = [
  'problem_type', 'problem_ind', 'problem_id', 'perm_invariant', 'correct_answer', 'generated_response',
  'generated_response_sum_logprob', 'generated_response_pred_set', 'generated_response_correct', 'mc_answer_logprobs',
  'mc_response_index', 'mc_response', 'mc_response_sum_logprob', 'mc_response_correct', 'model', 'revision',
];

/** Problems per type the paper used. */
export const PROBLEMS_PER_TYPE = 40;

/** The prompt: all cells but the last, `[d d]` with blanks (-1) as spaces; ends with the open `[`. */
export function digitMatPrompt(grid: number[][][]): string {
  let prompt = '';
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      prompt += '[';
      if (r === 2 && c === 2) continue;
      const cell = grid[r]![c]!;
      prompt += cell.map((d) => (d === -1 ? ' ' : String(d))).join(' ');
      prompt += ']';
      prompt += c < 2 ? ' ' : '\n';
    }
  }
  return prompt;
}

/** Choice text: digits separated by spaces and the closing bracket (`6 4 1]`; empty answer `]`). */
export function choiceText(answer: number[]): string {
  return `${answer.join(' ')}]`;
}

export interface ParsedResponse {
  valid: boolean;
  digits: number[];
}

/** Read a response character by character: skip spaces, collect digits, stop at `]`; anything else is invalid. */
export function parseResponse(text: string): ParsedResponse {
  const digits: number[] = [];
  for (const ch of text) {
    if (ch === ' ') continue;
    if (ch >= '0' && ch <= '9') digits.push(Number(ch));
    else if (ch === ']') break;
    else return { valid: false, digits };
  }
  return { valid: true, digits };
}

/** Correctness and the pred_set text (`[6, 9]`; numpy-style sorted `[1 6]` when perm-invariant). */
export function scoreResponse(text: string, answer: number[], permInvariant: boolean): { correct: boolean; predSet: string } {
  const { valid, digits } = parseResponse(text);
  const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const pred = permInvariant ? sort(digits) : digits;
  const target = permInvariant ? sort(answer) : answer;
  const correct = valid && pred.length === target.length && pred.every((d, i) => d === target[i]);
  return { correct, predSet: permInvariant ? npIntArray(pred) : pyIntList(pred) };
}

interface Trial {
  id: string;
  type: DigitMatType;
  index: number;
  problem: DigitMatProblem;
  prompt: string;
}

/** All trials in the paper's order: problem index outer, type (file order) inner, first 40 per type. */
export function digitMatTrials(types: DigitMatType[]): Trial[] {
  const trials: Trial[] = [];
  const maxN = Math.max(0, ...types.map((t) => Math.min(PROBLEMS_PER_TYPE, t.problems.length)));
  for (let index = 0; index < maxN; index++) {
    for (const type of types) {
      const problem = type.problems[index];
      if (!problem || index >= PROBLEMS_PER_TYPE) continue;
      trials.push({ id: `${type.name}_${index}`, type, index, problem, prompt: digitMatPrompt(problem.grid) });
    }
  }
  return trials;
}

export async function runDigitMat(args: TaskArgs): Promise<TaskOutput> {
  const { session } = args;
  const trials = applyLimit(digitMatTrials(readDigitMatProblems(args.stimuliPath)), args.limit);
  session.plan(trials.length * 10);

  const gens = await session.generate(trials.map((t) => ({ item: t.id, req: t.prompt })), args.maxNewTokens);

  // All conditionals in one batch: the generated response, then the 8 choices, per trial.
  const conds: Tagged<ConditionalRequest>[] = [];
  const slots: { gen: number | null; choices: number }[] = [];
  trials.forEach((t, i) => {
    const gen = gens[i];
    slots.push({ gen: gen ? conds.length : null, choices: gen ? conds.length + 1 : conds.length });
    if (gen) conds.push({ item: t.id, req: { prefix: t.prompt, continuation: gen.text, separator: '' } });
    for (const a of t.problem.answer_choices) conds.push({ item: t.id, req: { prefix: t.prompt, continuation: choiceText(a), separator: '' } });
  });
  const results = await session.conditional(conds, 'sum');

  // TASKS.md: a continuation that merges into the prompt's final token has no tokens of its own and
  // scores 0.0 — reproduced, and reported so users see it.
  const isGenerated = new Set(slots.map((s) => s.gen).filter((g): g is number => g !== null));
  const zero = results.filter((r, k) => r !== null && r.tokenIds.length === 0 && !isGenerated.has(k)).length;
  const zeroGenerated = results.filter((r, k) => r !== null && r.tokenIds.length === 0 && isGenerated.has(k)).length;
  session.count('zero_token_continuations', zero);
  // An empty (or fully merged) generated response also scores 0.0; counted apart from the choices.
  session.count('zero_token_generated_responses', zeroGenerated);
  if (zero > 0) {
    session.warnings.push(
      `digit_mat: ${zero} continuation(s) had no tokens of their own (the prompt's final "[" and the choice merged into one token); they score 0.0 and win the forced choice, as in the paper`,
    );
  }

  const rows = trials.map((t, i): Row => {
    const answer = t.problem.answer_choices[t.problem.correct_ind]!;
    const gen = gens[i];
    const slot = slots[i]!;
    const genScore = slot.gen === null ? null : results[slot.gen];
    const choiceScores = t.problem.answer_choices.map((_, k) => results[slot.choices + k]);
    const row: Row = {
      problem_type: t.type.name,
      problem_ind: String(t.index),
      problem_id: t.id,
      perm_invariant: boolCell(t.type.perm_invariant),
      correct_answer: npIntArray(answer),
      model: args.model,
      revision: args.revision,
    };
    if (gen && genScore && choiceScores.every((c) => c)) {
      const scored = scoreResponse(gen.text, answer, t.type.perm_invariant);
      const logprobs = choiceScores.map((c) => c!.logprob);
      const best = firstArgmax(logprobs);
      Object.assign(row, {
        generated_response: gen.text,
        generated_response_sum_logprob: floatCell(genScore.logprob),
        generated_response_pred_set: scored.predSet,
        generated_response_correct: boolCell(scored.correct),
        mc_answer_logprobs: pyFloatList(logprobs),
        mc_response_index: String(best),
        mc_response: choiceText(t.problem.answer_choices[best]!),
        mc_response_sum_logprob: floatCell(logprobs[best]),
        mc_response_correct: boolCell(best === t.problem.correct_ind),
      });
    } else {
      session.fail(t.id, 'no score for this problem');
      blankScores(row, DIGIT_MAT_HEADER, 'generated_response');
    }
    return row;
  });
  return { header: DIGIT_MAT_HEADER, rows };
}

export const digitMatDomain: DomainDef = {
  name: 'digit_mat',
  title: 'Analogical reasoning (digit matrices)',
  methods: [{ id: 'mc', pretty: 'Forced choice' }, { id: 'generated', pretty: 'Production' }],
  measure: 'accuracy',
  gap: 'log-odds-difference',
  trainingTime: true,
  leadColumns: [],
  itemColumns: ['problem_type', 'problem_ind', 'problem_id', 'perm_invariant', 'correct_answer'],
  responseColumns: ['response', 'response_sum_logprob', 'response_correct'],
  wideColumns: [],
  responses: (row, method, read) => [{
    response: row[`${method}_response`] ?? null,
    response_sum_logprob: row[`${method}_response_sum_logprob`] ?? null,
    response_correct: read.bool(`${method}_response_correct`),
  }],
  formula: sizeFormula('accuracy'),
};

export const digitMatTask: TaskDef = {
  name: 'digit_mat',
  conditions: [],
  stimuli: {
    url: 'https://raw.githubusercontent.com/jennhu/lm-task-demands/726e068841c1305bd313ca25345aa1c08f9ec39d/external_stimuli/digit_mat/all_problems.npz',
    sha256: '8ccef408112108fd5994d4cc131a498c68f1cc474be185376616ad3ee37f3362',
  },
  maxNewTokens: 10,
  domain: 'digit_mat',
  run: runDigitMat,
  demo: { file: 'problems.json', make: 'demoDigitMatJson' },
  summary: 'analogical reasoning on digit matrices: forced choice among 8 answers vs free production',
  origin: 'builtin',
};
