// Declared tasks (pipeline.yaml `tasks: <name>: form: …`): their shape, and the checks that turn a
// bad declaration into a located error before anything loads. The checks return problems as data
// (a path under the task and a message); spec.ts places them at file:line.

import { readFileSync } from 'node:fs';
import { parseCsvText } from '../stimuli.js';
import { isTemplateError, parseTemplate, placeholders, templateError } from './template.js';
import { PAIR_PLACEHOLDERS } from './minimal-pairs.js';

export const FORMS = ['minimal-pairs'] as const;
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

export type TaskDeclaration = MinimalPairsDecl & {
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
  column('good');
  column('bad');
  column('id', true);
  const answers = decl['answers'];
  if (answers !== undefined && (!Array.isArray(answers) || answers.length !== 2 || answers.some((a) => typeof a !== 'string' || a === ''))) {
    out.push({ path: ['answers'], message: 'answers: must be two non-empty strings (the answers naming sentence 1 and sentence 2)' });
  }
  const prompt = decl['prompt'];
  if (prompt !== undefined) {
    if (typeof prompt !== 'string') out.push({ path: ['prompt'], message: 'prompt: must be a template string' });
    else {
      const parts = parseTemplate(prompt);
      if (isTemplateError(parts)) out.push({ path: ['prompt'], message: `prompt: ${templateError(parts)}` });
      else {
        const known = [...PAIR_PLACEHOLDERS, ...(columns ?? [])];
        for (const name of placeholders(parts)) {
          if (PAIR_PLACEHOLDERS.includes(name) || !columns || columns.includes(name)) continue;
          out.push({ path: ['prompt'], message: `prompt: placeholder {${name}} names no column of the stimuli file and none of ${PAIR_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}${closest(name, known)}` });
        }
        if (!placeholders(parts).includes('sentence1') || !placeholders(parts).includes('sentence2')) {
          out.push({ path: ['prompt'], message: 'prompt: a minimal-pairs prompt must place both {sentence1} and {sentence2}' });
        }
      }
    }
  }
  return out;
}
