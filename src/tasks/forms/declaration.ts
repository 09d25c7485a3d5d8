// Declared tasks (pipeline.yaml `tasks: <name>: form: …`): their shape, and the checks that turn a
// bad declaration into a located error before anything loads. The checks return problems as data
// (a path under the task and a message); spec.ts places them at file:line.

import { readFileSync } from 'node:fs';
import { parseCsvText } from '../stimuli.js';
import { isTemplateError, parseTemplate, placeholders, templateError } from './template.js';
import { PAIR_PLACEHOLDERS } from './minimal-pairs.js';

export const FORMS = ['minimal-pairs', 'choice', 'word-prediction'] as const;
export type Form = (typeof FORMS)[number];

/** A declared domain: a name and a title; methods and measure follow from the form. */
export interface DomainDecl {
  name: string;
  title?: string;
}

export interface MinimalPairsDecl {
  form: 'minimal-pairs';
  good: string;
  bad: string;
  suffix?: string;
  id?: string;
  /** Template over {sentence1}, {sentence2} and the item's columns (default: the paper's prompt). */
  prompt?: string;
  answers?: [string, string];
  separator?: string;
}

/** How a production is judged against the correct choice (forms/choice.ts, judgeAnswer). */
export type AnswerRule = 'exact' | 'first-number' | 'digit-set' | 'labels' | { regex: string };
export const ANSWER_RULES = ['exact', 'first-number', 'digit-set', 'labels', '{ regex: <pattern> }'];

export interface ChoiceDecl {
  form: 'choice';
  /** Template over the item's columns. */
  prompt: string;
  /** The columns holding the choices, in order … */
  choices?: string[];
  /** … or one column holding a list of them (JSON or Python notation). */
  choices_column?: string;
  /** Index of the correct choice (default 0) … */
  correct?: number;
  /** … or the column holding it. */
  correct_column?: string;
  reduction?: 'sum' | 'mean';
  separator?: string;
  id?: string;
  max_new_tokens?: number;
  answer?: AnswerRule;
}

export interface WordPredictionDecl {
  form: 'word-prediction';
  /** The column holding the passage (default text). */
  text?: string;
  id?: string;
  /** Template over {prefix} and the item's columns (default: the paper's lambada prompt). */
  prompt?: string;
  /** Compare the next-token distributions (KL, Spearman); default false. */
  distributions?: boolean;
}

export type TaskDeclaration = (MinimalPairsDecl | ChoiceDecl | WordPredictionDecl) & {
  /** An existing domain's name, or a new domain. */
  domain?: string | DomainDecl;
};

export interface DeclProblem {
  path: (string | number)[];
  message: string;
  /** Point at the key rather than the value. */
  key?: boolean;
}

/** The columns of a local CSV stimuli file, or undefined when it cannot be read now (a URL, absent). */
export function stimuliColumns(path: string | undefined): string[] | undefined {
  if (!path || !path.endsWith('.csv')) return undefined;
  try {
    return parseCsvText(readFileSync(path, 'utf8'), path).header;
  } catch {
    return undefined;
  }
}

function closest(name: string, options: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(name, o);
    if (d < bestD) { bestD = d; best = o; }
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Problems of one declaration. `columns` is the stimuli header when it could be read now; column
 * names (good, bad, id, template placeholders) are checked against it.
 */
export function checkDeclaration(decl: Record<string, unknown>, columns: string[] | undefined): DeclProblem[] {
  const out: DeclProblem[] = [];
  const form = decl['form'];
  if (!FORMS.includes(form as Form)) {
    out.push({ path: ['form'], message: `unknown task form ${JSON.stringify(form)}${closest(String(form), FORMS)}; the forms are ${FORMS.join(', ')}` });
    return out;
  }
  const column = (field: string, optional = false): void => {
    const v = decl[field];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || v === '') out.push({ path: [field], message: `${field}: must name a column of the stimuli file`, key: v === undefined });
    else if (columns && !columns.includes(v)) out.push({ path: [field], message: `${field}: no column "${v}" in the stimuli file${closest(v, columns)}; its columns are ${columns.join(', ')}` });
  };
  const template = (provided: string[], required: string[], optional: boolean): void => {
    const prompt = decl['prompt'];
    if (prompt === undefined) {
      if (!optional) out.push({ path: ['prompt'], message: 'prompt: a template is required (placeholders {column} name the item\'s columns)', key: true });
      return;
    }
    if (typeof prompt !== 'string') return void out.push({ path: ['prompt'], message: 'prompt: must be a template string' });
    const parts = parseTemplate(prompt);
    if (isTemplateError(parts)) return void out.push({ path: ['prompt'], message: `prompt: ${templateError(parts)}` });
    const known = [...provided, ...(columns ?? [])];
    const named = placeholders(parts);
    for (const name of named) {
      if (provided.includes(name) || !columns || columns.includes(name)) continue;
      const also = provided.length ? ` and none of ${provided.map((p) => `{${p}}`).join(', ')}` : '';
      out.push({ path: ['prompt'], message: `prompt: placeholder {${name}} names no column of the stimuli file${also}${closest(name, known)}` });
    }
    for (const r of required) if (!named.includes(r)) out.push({ path: ['prompt'], message: `prompt: a ${String(form)} prompt must place {${r}}` });
  };
  if (form === 'minimal-pairs') {
    column('good');
    column('bad');
    column('id', true);
    const answers = decl['answers'];
    if (answers !== undefined && (!Array.isArray(answers) || answers.length !== 2 || answers.some((a) => typeof a !== 'string' || a === ''))) {
      out.push({ path: ['answers'], message: 'answers: must be two non-empty strings (the answers naming sentence 1 and sentence 2)' });
    }
    template(PAIR_PLACEHOLDERS, PAIR_PLACEHOLDERS, true);
  } else if (form === 'word-prediction') {
    if (decl['text'] !== undefined) column('text');
    else if (columns && !columns.includes('text')) out.push({ path: ['form'], message: `word-prediction: the stimuli file has no column "text"; name the passage column with \`text:\` (columns: ${columns.join(', ')})` });
    column('id', true);
    template(['prefix'], ['prefix'], true);
  } else {
    const choices = decl['choices'];
    if ((choices === undefined) === (decl['choices_column'] === undefined)) {
      out.push({ path: ['choices'], message: 'choice: give either `choices:` (the columns holding the choices, in order) or `choices_column:` (one column holding a list)', key: choices === undefined });
    } else if (choices !== undefined) {
      if (!Array.isArray(choices) || choices.length < 2) out.push({ path: ['choices'], message: 'choices: must list at least two columns' });
      else (choices as unknown[]).forEach((c, i) => {
        if (typeof c !== 'string') out.push({ path: ['choices', i], message: 'choices: each entry names a column' });
        else if (columns && !columns.includes(c)) out.push({ path: ['choices', i], message: `choices: no column "${c}" in the stimuli file${closest(c, columns)}; its columns are ${columns.join(', ')}` });
      });
    } else column('choices_column');
    if (decl['correct'] !== undefined && decl['correct_column'] !== undefined) out.push({ path: ['correct'], message: 'give `correct:` (an index) or `correct_column:`, not both' });
    if (decl['correct'] !== undefined && (!Number.isInteger(decl['correct']) || (decl['correct'] as number) < 0)) out.push({ path: ['correct'], message: 'correct: the index (from 0) of the correct choice' });
    column('correct_column', true);
    column('id', true);
    const red = decl['reduction'];
    if (red !== undefined && red !== 'sum' && red !== 'mean') out.push({ path: ['reduction'], message: `reduction: "sum" or "mean", not ${JSON.stringify(red)}${closest(String(red), ['sum', 'mean'])}` });
    const mnt = decl['max_new_tokens'];
    if (mnt !== undefined && (!Number.isInteger(mnt) || (mnt as number) < 1)) out.push({ path: ['max_new_tokens'], message: 'max_new_tokens: a whole number ≥ 1' });
    const answer = decl['answer'];
    if (answer !== undefined) {
      if (typeof answer === 'string') {
        if (!['exact', 'first-number', 'digit-set', 'labels'].includes(answer)) out.push({ path: ['answer'], message: `answer: unknown answer rule "${answer}"${closest(answer, ['exact', 'first-number', 'digit-set', 'labels'])}; the rules are ${ANSWER_RULES.join(', ')}` });
      } else if (answer && typeof answer === 'object' && typeof (answer as { regex?: unknown }).regex === 'string') {
        try {
          new RegExp((answer as { regex: string }).regex);
        } catch (e) {
          out.push({ path: ['answer', 'regex'], message: `answer: the regex does not compile (${(e as Error).message})` });
        }
      } else out.push({ path: ['answer'], message: `answer: an answer rule: ${ANSWER_RULES.join(', ')}` });
    }
    template([], [], false);
  }
  return out;
}
