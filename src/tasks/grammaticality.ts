// blimp and dgl (grammaticality judgment of minimal pairs), TASKS.md: direct comparison of sentence
// log-probabilities vs a metalinguistic prompt answered with "1" or "2".

import { applyLimit, blankScores, type Row, type TaskArgs, type TaskOutput } from './common.js';
import { boolCell, floatCell } from './py-format.js';
import { readCsvFile, requireColumns } from './stimuli.js';

export interface PairTask {
  name: 'blimp' | 'dgl';
  good: string;
  bad: string;
  /** Text appended to each sentence before scoring (dgl's sentences have no final period). */
  suffix: string;
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
  const header = grammaticalityHeader(table.header);
  const items = applyLimit(table.rows, args.limit).map((r, i) => {
    const good = r[task.good]! + task.suffix;
    const bad = r[task.bad]! + task.suffix;
    // Rows are keyed by item_id when the file has one (both of the paper's files do), else by position.
    return { id: r.item_id ?? String(i), stimulus: r, good, bad, G: metaPrompt(good, bad), B: metaPrompt(bad, good) };
  });
  const ids = new Set(items.map((it) => it.id));
  if (ids.size !== items.length) throw new Error(`${args.stimuliPath}: item_id values are not unique`);
  session.plan(items.length * 6);

  const seqs = await session.sequence(items.flatMap((it) => [
    { item: it.id, req: it.good },
    { item: it.id, req: it.bad },
  ]));
  const conds = await session.conditional(
    items.flatMap((it) => [
      { item: it.id, req: { prefix: it.G, continuation: '1', separator: ' ' } },
      { item: it.id, req: { prefix: it.G, continuation: '2', separator: ' ' } },
      { item: it.id, req: { prefix: it.B, continuation: '1', separator: ' ' } },
      { item: it.id, req: { prefix: it.B, continuation: '2', separator: ' ' } },
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
