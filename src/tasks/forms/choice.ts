// `form: choice` — a declared task like crt and digit_mat: a prompt template over the item's
// columns; forced choice = the conditional log-probability of each choice (columns, or one list
// column), reduced by sum or mean, the first argmax chosen; production = greedy generation of at
// most max_new_tokens, judged by a declared answer rule against the correct choice.

import { applyLimit, blankScores, firstArgmax, type Row, type TaskArgs, type TaskOutput } from '../common.js';
import { boolCell, floatCell, pyFloatList } from '../py-format.js';
import { pySplit, pyStrip } from '../py-text.js';
import { readCsvFile } from '../stimuli.js';
import type { TaskDef } from '../task-def.js';
import type { AnswerRule, ChoiceDecl } from './declaration.js';
import { fillTemplate, isTemplateError, parseTemplate } from './template.js';

/** Python str.strip(), whitespace runs as one space (str.split() + join), lower case, one final period dropped. */
export function normaliseAnswer(text: string): string {
  const t = pySplit(pyStrip(text)).join(' ').toLowerCase();
  return t.endsWith('.') ? t.slice(0, -1).trimEnd() : t;
}

const NUMBER_RE = /[-+]?\d[\d,]*(?:\.\d+)?/;

function firstNumber(text: string): number | null {
  const m = NUMBER_RE.exec(text);
  return m ? Number(m[0].replace(/,/g, '')) : null;
}

/** digit_mat's reading: skip spaces, collect digits, stop at `]`; any other character: invalid. */
function digits(text: string): number[] | null {
  const out: number[] = [];
  for (const ch of text) {
    if (ch === ' ') continue;
    if (ch >= '0' && ch <= '9') out.push(Number(ch));
    else if (ch === ']') break;
    else return null;
  }
  return out;
}

/**
 * The `labels` rule's naive label, as crt2/crt3's: the last choice (in order) whose text occurs in
 * the response; null when none does. Hand labels (annotations) replace it at aggregation.
 */
export function naiveChoiceLabel(response: string, choices: readonly string[], labels: readonly string[]): string | null {
  let label: string | null = null;
  choices.forEach((c, i) => {
    if (c !== '' && response.includes(c)) label = labels[i]!;
  });
  return label;
}

/** Whether a generation answers correctly, by the declared rule (`labels`: its naive label is the correct one's). */
export function judgeAnswer(rule: Exclude<AnswerRule, 'labels'>, generated: string, correct: string): boolean {
  if (rule === 'exact') return normaliseAnswer(generated) === normaliseAnswer(correct);
  if (rule === 'first-number') {
    const a = firstNumber(generated);
    const b = firstNumber(correct);
    return a !== null && b !== null && a === b;
  }
  if (rule === 'digit-set') {
    const a = digits(generated);
    const b = digits(correct);
    if (a === null || b === null || a.length !== b.length) return false;
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    return sa.every((d, i) => d === sb[i]);
  }
  const m = new RegExp(rule.regex).exec(generated);
  if (!m) return false;
  return normaliseAnswer(m[1] ?? m[0]) === normaliseAnswer(correct);
}

/** A list cell: a JSON array, or Python's list notation of quoted strings (`['a', "b"]`). */
export function parseListCell(cell: string): string[] | null {
  const t = cell.trim();
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v)) return v.map(String);
  } catch {
    // not JSON: try Python's notation
  }
  if (!t.startsWith('[') || !t.endsWith(']')) return null;
  const out: string[] = [];
  const re = /\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(,|$)/y;
  const body = t.slice(1, -1);
  re.lastIndex = 0;
  while (re.lastIndex < body.length) {
    const m = re.exec(body);
    if (!m) return null;
    out.push((m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
    if (m[3] === '') break;
  }
  return out;
}

export const CHOICE_SCORE_COLUMNS = (reduction: 'sum' | 'mean', labels = false): string[] => [
  'generated_response', 'generated_response_sum_logprob',
  ...(labels ? ['generated_response_naive_label', 'generated_response_label', 'correct_label'] : []),
  'generated_response_correct',
  'mc_answer_logprobs', 'mc_response_index', 'mc_response', `mc_response_${reduction}_logprob`, 'mc_response_correct',
  'model', 'revision',
];

export function choiceTask(name: string, d: ChoiceDecl, domain: string): TaskDef {
  const parts = parseTemplate(d.prompt);
  if (isTemplateError(parts)) throw new Error(`task ${name}: bad prompt template`);
  const tpl = parts;
  const reduction = d.reduction ?? 'sum';
  const separator = d.separator ?? ' ';
  const idColumn = d.id ?? 'item_id';
  const rule: AnswerRule = d.answer ?? 'exact';
  const maxNewTokens = d.max_new_tokens ?? 100;

  async function run(args: TaskArgs): Promise<TaskOutput> {
    const { session } = args;
    const table = readCsvFile(args.stimuliPath);
    const header = [...table.header, ...CHOICE_SCORE_COLUMNS(reduction, rule === 'labels')];
    const items = applyLimit(table.rows, args.limit).map((r, i) => {
      const id = r[idColumn] ?? String(i);
      const choices = d.choices ? d.choices.map((c) => r[c] ?? '') : parseListCell(r[d.choices_column!] ?? '');
      const correctRaw = d.correct_column !== undefined ? r[d.correct_column] : String(d.correct ?? 0);
      const correct = Number(correctRaw);
      let error: string | null = null;
      if (!choices || choices.length === 0) error = `column ${d.choices_column} is not a list of choices`;
      else if (!Number.isInteger(correct) || correct < 0 || correct >= choices.length) error = `correct choice index ${JSON.stringify(correctRaw)} is not in 0..${choices.length - 1}`;
      return { id, stimulus: r, prompt: fillTemplate(tpl, r), choices: choices ?? [], correct, error };
    });
    if (new Set(items.map((it) => it.id)).size !== items.length) throw new Error(`${args.stimuliPath}: ${idColumn} values are not unique`);
    for (const it of items) if (it.error) session.fail(it.id, it.error);
    const ok = items.filter((it) => !it.error);
    session.plan(ok.length * 2 + ok.reduce((n, it) => n + it.choices.length, 0));
    const gens = await session.generate(ok.map((it) => ({ item: it.id, req: it.prompt })), args.maxNewTokens);
    const genScores = await session.conditional(ok.map((it, k) => ({ item: it.id, req: { prefix: it.prompt, continuation: gens[k]?.text ?? '', separator: '' } })), 'sum');
    const results = await session.conditional(ok.flatMap((it) => it.choices.map((c) => ({ item: it.id, req: { prefix: it.prompt, continuation: c, separator } }))), reduction);
    const byId = new Map<string, { gen: string; genLp: number; lps: number[] } | null>();
    let offset = 0;
    ok.forEach((it, k) => {
      const scores = it.choices.map((_, j) => results[offset + j]);
      offset += it.choices.length;
      const gen = gens[k];
      const gl = genScores[k];
      byId.set(it.id, gen && gl && scores.every((s) => s) ? { gen: gen.text, genLp: gl.logprob, lps: scores.map((s) => s!.logprob) } : null);
    });
    const rows = items.map((it): Row => {
      const row: Row = { ...it.stimulus, model: args.model, revision: args.revision };
      const got = byId.get(it.id);
      if (!got || session.failed(it.id)) {
        session.fail(it.id, it.error ?? 'no score for this item');
        blankScores(row, header, 'generated_response');
        return row;
      }
      const best = firstArgmax(got.lps);
      // Labels name the choices: their columns, or their texts when they come from a list column.
      const labels = d.choices ?? it.choices;
      let correct: boolean;
      if (rule === 'labels') {
        const label = naiveChoiceLabel(got.gen, it.choices, labels);
        Object.assign(row, { generated_response_naive_label: label, generated_response_label: label, correct_label: labels[it.correct]! });
        correct = label === labels[it.correct];
      } else correct = judgeAnswer(rule, got.gen, it.choices[it.correct]!);
      Object.assign(row, {
        generated_response: got.gen,
        generated_response_sum_logprob: floatCell(got.genLp),
        generated_response_correct: boolCell(correct),
        mc_answer_logprobs: pyFloatList(got.lps),
        mc_response_index: String(best),
        mc_response: it.choices[best]!,
        [`mc_response_${reduction}_logprob`]: floatCell(got.lps[best]),
        mc_response_correct: boolCell(best === it.correct),
      });
      return row;
    });
    return { header, rows };
  }

  return {
    name,
    conditions: [],
    stimuli: { file: 'stimuli.csv', requiredColumns: d.choices ?? [d.choices_column!], idColumn },
    maxNewTokens,
    domain,
    run,
    summary: `declared choice and production (${d.choices ? d.choices.join(', ') : `list column ${d.choices_column}`})`,
    origin: 'declared',
  };
}
