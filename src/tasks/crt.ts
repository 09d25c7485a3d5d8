// crt (reflective reasoning), TASKS.md: free production (greedy, 100 tokens, cleaned and labelled
// naively) vs forced choice among the condition's options by mean log-probability.
// `generated_response_label` is the naive label here; hand annotations are applied by aggregation.

import { sizeFormula, type DomainDef, type TaskDef } from './task-def.js';
import { applyLimit, blankScores, firstArgmax, type Row, type TaskArgs, type TaskOutput } from './common.js';
import { moneyAlt, moneyText, responseAsMoney } from './money.js';
import { pyStrip } from './py-text.js';
import { boolCell, floatCell, pyFloatList, pyStrList } from './py-format.js';
import { readCsvFile, requireColumns } from './stimuli.js';

export const CRT_CONDITIONS = ['crt1', 'crt2', 'crt3'] as const;
export type CrtCondition = (typeof CRT_CONDITIONS)[number];

export const CRT_OPTIONS: Record<CrtCondition, string[]> = {
  crt1: ['correct', 'intuitive', 'total_cost', 'more', 'correct_alt', 'intuitive_alt', 'total_cost_alt', 'more_alt'],
  crt2: ['correct', 'intuitive'],
  crt3: ['correct', 'intuitive', 't'],
};

export function checkCondition(condition: string | undefined): CrtCondition {
  if (!CRT_CONDITIONS.includes(condition as CrtCondition)) {
    throw new Error(`crt: condition must be one of ${CRT_CONDITIONS.join(', ')}, got ${JSON.stringify(condition ?? '')}`);
  }
  return condition as CrtCondition;
}

export function crtHeader(condition: CrtCondition): string[] {
  return [
    'condition', 'item_id', 'question', ...CRT_OPTIONS[condition],
    'generated_response_raw', 'generated_response', 'generated_response_naive_label', 'generated_response_label',
    'mc_answer_logprobs', 'mc_answer_labels', 'mc_correct_logprob', 'mc_intuitive_logprob', 'mc_response_index',
    'mc_response_label', 'mc_response', 'mc_response_mean_logprob', 'mc_response_correct',
    ...(condition === 'crt1' ? ['mc_correct_alt_logprob', 'mc_intuitive_alt_logprob', 'mc_response_correct_alt'] : []),
    'model', 'revision',
  ];
}

export function crtPrompt(question: string): string {
  return `Question: ${question}\nAnswer:`;
}

/** Option texts in the condition's order: crt1 as money (`_alt` without a trailing `.00`), others as is. */
export function crtOptions(condition: CrtCondition, stimulus: Record<string, string>): string[] {
  if (condition !== 'crt1') return CRT_OPTIONS[condition].map((name) => stimulus[name] ?? '');
  const base = ['correct', 'intuitive', 'total_cost', 'more'].map((name) => moneyText(stimulus[name] ?? ''));
  return [...base, ...base.map(moneyAlt)];
}

/**
 * The paper's cleaning: first line (if there is a newline); cut before the first period and add a
 * period (if the raw text has one anywhere); Python's strip(); a number (optionally with `$`) becomes money.
 */
export function cleanResponse(raw: string): string {
  let text = raw;
  const hasPeriod = raw.includes('.');
  if (raw.includes('\n')) {
    text = raw.split('\n')[0]!;
    if (hasPeriod) text = text.split('.')[0]! + '.';
  } else if (hasPeriod) {
    text = raw.split('.')[0]! + '.';
  }
  return responseAsMoney(pyStrip(text));
}

const AMOUNT_RE = /\$\d+(?:\.\d+)?/g;

/** The last option (in order) that the response matches, or null. */
export function naiveLabel(condition: CrtCondition, response: string, options: readonly string[]): string | null {
  const names = CRT_OPTIONS[condition];
  let label: string | null = null;
  if (condition === 'crt1') {
    const amounts = new Set(response.match(AMOUNT_RE) ?? []);
    options.forEach((opt, i) => {
      if (amounts.has(opt) || (opt.endsWith('.00') && amounts.has(opt.slice(0, -3)))) label = names[i]!;
    });
  } else {
    options.forEach((opt, i) => {
      if (response.includes(opt)) label = names[i]!;
    });
  }
  return label;
}

export async function runCrt(args: TaskArgs): Promise<TaskOutput> {
  const condition = checkCondition(args.condition);
  const { session } = args;
  const table = readCsvFile(args.stimuliPath);
  requireColumns(table, ['condition', 'item_id', 'question', ...CRT_OPTIONS[condition].filter((o) => !o.endsWith('_alt'))], args.stimuliPath);
  const header = crtHeader(condition);
  const names = CRT_OPTIONS[condition];
  const items = applyLimit(table.rows.filter((r) => r.condition === condition), args.limit).map((r) => {
    let options: string[] | null = null;
    let error: string | null = null;
    try {
      options = crtOptions(condition, r);
    } catch (e) {
      error = (e as Error).message;
    }
    return { id: r.item_id!, stimulus: r, prompt: crtPrompt(r.question!), options, error };
  });
  if (items.length === 0 && args.limit !== 0) throw new Error(`${args.stimuliPath}: no rows with condition ${condition}`);
  for (const it of items) if (it.error) session.fail(it.id, `${it.error} (option of item ${it.id})`);
  session.plan(items.length * (1 + names.length));

  const gens = await session.generate(items.map((it) => ({ item: it.id, req: it.prompt })), args.maxNewTokens);
  const conds = items.flatMap((it) => (it.options ?? []).map((opt) => ({ item: it.id, req: { prefix: it.prompt, continuation: opt, separator: ' ' } })));
  const results = await session.conditional(conds, 'mean');

  let offset = 0;
  const rows = items.map((it, i): Row => {
    const row: Row = { condition, item_id: it.id, question: it.stimulus.question ?? '', model: args.model, revision: args.revision };
    names.forEach((name, k) => (row[name] = it.options?.[k] ?? null));
    const scores = (it.options ?? []).map((_, k) => results[offset + k]);
    offset += it.options?.length ?? 0;
    const gen = gens[i];
    if (!it.options || !gen || !scores.every((s) => s) || session.failed(it.id)) {
      session.fail(it.id, 'no score for this item');
      blankScores(row, header, 'generated_response_raw');
      return row;
    }
    const logprobs = scores.map((s) => s!.logprob);
    const best = firstArgmax(logprobs);
    const response = cleanResponse(gen.text);
    const label = naiveLabel(condition, response, it.options);
    Object.assign(row, {
      generated_response_raw: gen.text,
      generated_response: response,
      generated_response_naive_label: label,
      generated_response_label: label,
      mc_answer_logprobs: pyFloatList(logprobs),
      mc_answer_labels: pyStrList(names),
      mc_correct_logprob: floatCell(logprobs[0]),
      mc_intuitive_logprob: floatCell(logprobs[1]),
      mc_response_index: String(best),
      mc_response_label: names[best]!,
      mc_response: it.options[best]!,
      mc_response_mean_logprob: floatCell(logprobs[best]),
      mc_response_correct: boolCell(best === 0),
    });
    if (condition === 'crt1') {
      Object.assign(row, {
        mc_correct_alt_logprob: floatCell(logprobs[4]),
        mc_intuitive_alt_logprob: floatCell(logprobs[5]),
        mc_response_correct_alt: boolCell(best === 4),
      });
    }
    return row;
  });
  return { header, rows };
}

export const crtDomain: DomainDef = {
  name: 'crt',
  title: 'Reflective reasoning (CRT)',
  methods: [{ id: 'mc', pretty: 'Forced choice' }, { id: 'generated', pretty: 'Production' }],
  measure: 'accuracy',
  gap: 'log-odds-difference',
  trainingTime: false,
  leadColumns: ['condition'],
  itemColumns: ['item_id', 'question'],
  responseColumns: ['response', 'response_label', 'response_correct'],
  wideColumns: ['condition', 'mc_correct_gt_intuitive', 'generated_response_correct'],
  annotatedColumn: 'generated_response_label',
  unlabelledWithoutColumn: true,
  deriveWide(row, src, ctx) {
    if (row.condition === null || row.condition === '' || row.condition === undefined) row.condition = ctx.condition;
    const c = ctx.num('mc_correct_logprob');
    const it = ctx.num('mc_intuitive_logprob');
    row.mc_correct_gt_intuitive = c !== null && it !== null ? c > it : null;
    row.generated_response_correct = src.generated_response_label === 'correct';
  },
  responses: (row, method, read) => method === 'generated'
    ? [{ response: row.generated_response ?? null, response_label: row.generated_response_label ?? null, response_correct: read.bool('generated_response_correct') }]
    : [{ response: row.mc_response ?? null, response_label: row.mc_response_label ?? null, response_correct: read.bool('mc_correct_gt_intuitive') }],
  formula: sizeFormula('accuracy'),
};

export const crtTask: TaskDef = {
  name: 'crt',
  conditions: CRT_CONDITIONS,
  stimuli: { file: 'stimuli.csv', requiredColumns: ['condition', 'item_id', 'question', 'correct', 'intuitive'], idColumn: 'item_id' },
  maxNewTokens: 100,
  domain: 'crt',
  run: runCrt,
  demo: { file: 'stimuli.csv', make: 'demoCrtCsv' },
  summary: 'reflective reasoning (crt1, crt2, crt3): forced choice among the options vs free production',
  origin: 'builtin',
};
