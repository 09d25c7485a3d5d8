// blimp and dgl (grammaticality judgment of minimal pairs), TASKS.md: direct comparison of sentence
// log-probabilities vs a metalinguistic prompt answered with "1" or "2". runGrammaticality also
// runs declared minimal-pair tasks (forms/minimal-pairs.ts: their own prompt, answers, separator).

import { applyLimit, blankScores, type Row, type TaskArgs, type TaskOutput } from './common.js';
import { boolCell, floatCell } from './py-format.js';
import { readCsvFile, requireColumns } from './stimuli.js';
import { sizeFormula, type DemoMaker, type DomainDef, type TaskDef } from './task-def.js';
import type { Row as AnalysisRow } from '../util/row.js';

/** A minimal-pair task: the paper's blimp and dgl, or one declared with `form: minimal-pairs`. */
export interface PairTask {
  name: string;
  good: string;
  bad: string;
  /** Text appended to each sentence before scoring (dgl's sentences have no final period). */
  suffix: string;
  /** The metalinguistic prompt over the two sentences in presentation order (default: the paper's). */
  prompt?: (s1: string, s2: string, item: Record<string, string>) => string;
  /** Answer strings naming the first and the second sentence (default "1", "2"). */
  answers?: readonly [string, string];
  /** Separator between prompt and answer (default " "). */
  separator?: string;
  /** Column naming items (default item_id when the file has it, else the row position). */
  idColumn?: string;
}

export const PAIR_TASKS: Record<'blimp' | 'dgl', PairTask> = {
  blimp: { name: 'blimp', good: 'good_sentence', bad: 'bad_sentence', suffix: '' },
  dgl: { name: 'dgl', good: 'sentence_grammatical', bad: 'sentence_ungrammatical', suffix: '.' },
};

export const GRAMMATICALITY_SCORE_COLUMNS = [
  'condition', 'direct_sum_logprob_good_sentence', 'direct_sum_logprob_bad_sentence', 'direct_correct',
  'meta_sum_logprob_good_first_1', 'meta_sum_logprob_good_first_2', 'meta_sum_logprob_bad_first_1',
  'meta_sum_logprob_bad_first_2', 'meta_1_correct', 'meta_2_correct', 'meta_good_correct', 'meta_bad_correct',
  'meta_correct', 'meta_correct_lenient', 'model', 'revision',
];

/** The stimulus columns (in file order), then the score columns. */
export function grammaticalityHeader(stimulusColumns: readonly string[]): string[] {
  return [...stimulusColumns, ...GRAMMATICALITY_SCORE_COLUMNS];
}

/** The metalinguistic prompt; note the leading newline (as the paper wrote it). */
export function metaPrompt(s1: string, s2: string): string {
  return `\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\nSentence 1: ${s1}\nSentence 2: ${s2}\nAnswer:`;
}

export interface PairScores {
  good: number;
  bad: number;
  g1: number;
  g2: number;
  b1: number;
  b2: number;
}

export function judgments(s: PairScores): Record<string, boolean> {
  const metaGood = s.g1 > s.g2;
  const metaBad = s.b2 > s.b1;
  return {
    direct_correct: s.good > s.bad,
    meta_1_correct: s.g1 > s.b1,
    meta_2_correct: s.b2 > s.g2,
    meta_good_correct: metaGood,
    meta_bad_correct: metaBad,
    meta_correct: metaGood && metaBad,
    meta_correct_lenient: metaGood || metaBad,
  };
}

export async function runGrammaticality(task: PairTask, args: TaskArgs): Promise<TaskOutput> {
  const { session } = args;
  const table = readCsvFile(args.stimuliPath);
  requireColumns(table, [task.good, task.bad], args.stimuliPath);
  const idColumn = task.idColumn ?? 'item_id';
  const header = grammaticalityHeader(table.header);
  const items = applyLimit(table.rows, args.limit).map((r, i) => {
    const good = r[task.good]! + task.suffix;
    const bad = r[task.bad]! + task.suffix;
    const prompt = task.prompt ?? metaPrompt;
    // Rows are keyed by item_id when the file has one (both of the paper's files do), else by position.
    return { id: r[idColumn] ?? String(i), stimulus: r, good, bad, G: prompt(good, bad, r), B: prompt(bad, good, r) };
  });
  const ids = new Set(items.map((it) => it.id));
  if (ids.size !== items.length) throw new Error(`${args.stimuliPath}: ${idColumn} values are not unique`);
  const [a1, a2] = task.answers ?? ['1', '2'];
  const separator = task.separator ?? ' ';
  session.plan(items.length * 6);

  const seqs = await session.sequence(items.flatMap((it) => [
    { item: it.id, req: it.good },
    { item: it.id, req: it.bad },
  ]));
  const conds = await session.conditional(
    items.flatMap((it) => [
      { item: it.id, req: { prefix: it.G, continuation: a1, separator } },
      { item: it.id, req: { prefix: it.G, continuation: a2, separator } },
      { item: it.id, req: { prefix: it.B, continuation: a1, separator } },
      { item: it.id, req: { prefix: it.B, continuation: a2, separator } },
    ]),
    'sum',
  );

  const rows = items.map((it, i): Row => {
    const row: Row = { ...it.stimulus, condition: 'paired', model: args.model, revision: args.revision };
    const parts = [seqs[2 * i], seqs[2 * i + 1], conds[4 * i], conds[4 * i + 1], conds[4 * i + 2], conds[4 * i + 3]];
    if (session.failed(it.id) || parts.some((p) => !p)) {
      session.fail(it.id, 'no score for this pair');
      blankScores(row, header, 'direct_sum_logprob_good_sentence');
      return row;
    }
    const [good, bad, g1, g2, b1, b2] = parts.map((p) => p!.logprob) as [number, number, number, number, number, number];
    row.direct_sum_logprob_good_sentence = floatCell(good);
    row.direct_sum_logprob_bad_sentence = floatCell(bad);
    row.meta_sum_logprob_good_first_1 = floatCell(g1);
    row.meta_sum_logprob_good_first_2 = floatCell(g2);
    row.meta_sum_logprob_bad_first_1 = floatCell(b1);
    row.meta_sum_logprob_bad_first_2 = floatCell(b2);
    for (const [k, v] of Object.entries(judgments({ good, bad, g1, g2, b1, b2 }))) row[k] = boolCell(v);
    return row;
  });
  return { header, rows };
}

/** dgl repeats five "Order of Adjectives" pairs as TS 6–TS 10; the paper dropped the copies. */
export function isDglDuplicate(row: AnalysisRow): boolean {
  if (row.phenomenon !== 'Order of Adjectives') return false;
  const m = /^TS (\d+)$/.exec(String(row.test_item ?? '').trim());
  return m !== null && Number(m[1]) >= 6 && Number(m[1]) <= 10;
}

/**
 * The long-table cells of a minimal-pair domain: two rows per method — direct: direct_correct
 * twice; meta: meta_good_correct and meta_bad_correct (the paper averages the two orders).
 */
export const pairResponses: DomainDef['responses'] = (_row, method, read) => method === 'direct'
  ? [{ response_correct: read.bool('direct_correct') }, { response_correct: read.bool('direct_correct') }]
  : [{ response_correct: read.bool('meta_good_correct') }, { response_correct: read.bool('meta_bad_correct') }];

export const syntaxDomain: DomainDef = {
  name: 'syntax',
  title: 'Grammaticality judgment (BLiMP + DGL)',
  methods: [{ id: 'direct', pretty: 'Direct' }, { id: 'meta', pretty: 'Metalinguistic' }],
  measure: 'accuracy',
  gap: 'log-odds-difference',
  trainingTime: false,
  leadColumns: [],
  itemColumns: ['dataset', 'item_id', 'category_fine', 'good_sentence', 'bad_sentence', 'test_item', 'phenomenon', 'sentence_grammatical', 'sentence_ungrammatical'],
  responseColumns: ['response_correct'],
  wideColumns: ['dataset'],
  deriveWide(row, _src, ctx) {
    row.dataset = ctx.task;
  },
  dropRow: (task, src) => task === 'dgl' && isDglDuplicate(src),
  responses: pairResponses,
  formula: sizeFormula('accuracy'),
};

function pairTaskDef(pair: PairTask, file: string, demo: DemoMaker, summary: string): TaskDef {
  return {
    name: pair.name,
    conditions: [],
    stimuli: { file, requiredColumns: [pair.good, pair.bad], idColumn: 'item_id' },
    maxNewTokens: 100,
    domain: 'syntax',
    run: (args) => runGrammaticality(pair, args),
    demo: { file, make: demo },
    summary,
    origin: 'builtin',
  };
}

export const blimpTask = pairTaskDef(PAIR_TASKS.blimp, 'stimuli.csv', 'demoBlimpCsv', 'grammaticality of BLiMP minimal pairs: sentence log-probabilities vs a metalinguistic prompt');
export const dglTask = pairTaskDef(PAIR_TASKS.dgl, 'stimuli.csv', 'demoDglCsv', 'grammaticality of DGL minimal pairs (a period appended): sentence log-probabilities vs a metalinguistic prompt');
