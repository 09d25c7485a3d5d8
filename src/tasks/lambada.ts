// lambada (word prediction), TASKS.md: direct vs metalinguistic log-probability of the final word,
// plus how far apart the two next-token distributions are (KL, Spearman over all ids and the top 100).

import { sizeFormula, type DomainDef, type TaskDef } from './task-def.js';
import { applyLimit, blankScores, type Row, type TaskArgs, type TaskOutput } from './common.js';
import type { Tagged } from './lm-session.js';
import type { ConditionalResult } from '../lm/types.js';
import { floatCell } from './py-format.js';
import { klDivergence, pick, spearman, topIds } from './stats.js';
import { readLambada } from './stimuli.js';

export const LAMBADA_COLUMNS = [
  'item_id', 'prefix', 'final_word', 'direct_logprob', 'meta_logprob', 'kl_divergence', 'spearman_r_all', 'spearman_p_all',
  'spearman_r_top100', 'spearman_p_top100', 'model', 'revision',
];
/** Our extra column (the undivided KL), after the paper's measures and before model/revision. */
export const LAMBADA_HEADER = [...LAMBADA_COLUMNS.slice(0, -2), 'kl_divergence_nats', 'model', 'revision'];

/** Split on single spaces: the last piece is the final word, the rest (joined by spaces) the prefix. */
export function splitPassage(text: string): { prefix: string; finalWord: string } {
  const pieces = text.split(' ');
  const finalWord = pieces.pop() ?? '';
  return { prefix: pieces.join(' '), finalWord };
}

export function lambadaMetaPrompt(prefix: string): string {
  return `What word is most likely to come next in the following text?\nText: ${prefix}\nPrediction:`;
}

export interface DistributionMeasures {
  klBatchmean: number;
  klNats: number;
  rAll: number;
  pAll: number;
  rTop: number;
  pTop: number;
}

export function distributionMeasures(direct: Float32Array, meta: Float32Array): DistributionMeasures {
  const kl = klDivergence(direct, meta);
  const all = spearman(direct, meta);
  const ids = topIds(direct, 100);
  const top = spearman(pick(direct, ids), pick(meta, ids));
  return { klBatchmean: kl.batchmean, klNats: kl.nats, rAll: all.r, pAll: all.p, rTop: top.r, pTop: top.p };
}

/**
 * Items per round of conditional + next-token calls. The fast path keeps the prefixes' last-position
 * logits from the conditional call in a byte-bounded cache, so the next-token call on the same items
 * costs no second forward pass — if the round's vectors fit (about 128 MiB of them here).
 */
export function lambadaRoundSize(vocabSize: number): number {
  const perItem = 2 * Math.max(1, vocabSize) * 4;
  return Math.max(8, Math.min(256, Math.floor((128 * 1024 * 1024) / perItem)));
}

/** Items per next-token call: each item needs two vocabulary-wide vectors in memory at once. */
const NEXT_TOKEN_CHUNK = 32;

/** A word-prediction task: the paper's lambada, or one declared with `form: word-prediction`. */
export interface WordTask {
  /** The passages: id, text, and the item's cells (for template placeholders). */
  read(path: string): Array<{ itemId: string; text: string; cells: Record<string, string> }>;
  /** The metalinguistic prompt over the prefix. */
  prompt(prefix: string, cells: Record<string, string>): string;
  /** Compare the next-token distributions (KL, Spearman over all ids and the top 100). */
  distributions: boolean;
}

const PAPER_WORD_TASK: WordTask = {
  read: (path) => readLambada(path).map((it) => ({ ...it, cells: {} })),
  prompt: (prefix) => lambadaMetaPrompt(prefix),
  distributions: true,
};

/** Columns without the distribution measures (a declared task that does not compare them). */
export const WORD_HEADER_NO_DISTRIBUTIONS = ['item_id', 'prefix', 'final_word', 'direct_logprob', 'meta_logprob', 'model', 'revision'];

export async function runLambada(args: TaskArgs, task: WordTask = PAPER_WORD_TASK): Promise<TaskOutput> {
  const { session } = args;
  const header = task.distributions ? LAMBADA_HEADER : WORD_HEADER_NO_DISTRIBUTIONS;
  const items = applyLimit(task.read(args.stimuliPath), args.limit).map((it) => {
    const { prefix, finalWord } = splitPassage(it.text);
    return { id: it.itemId, prefix, finalWord, meta: task.prompt(prefix, it.cells) };
  });
  // Four requests per item (two without the distributions), then its KL divergence and Spearman
  // correlations (seconds for a 50k vocabulary): counted as one step each, so progress is not at
  // 100 % while they run.
  session.plan(items.length * (task.distributions ? 4 : 2), task.distributions ? items.length : 0);

  const condResults: (ConditionalResult | null)[] = [];
  const measures: (DistributionMeasures | null)[] = [];
  const round = lambadaRoundSize(session.lm.info.vocabSize);
  for (let r0 = 0; r0 < items.length; r0 += round) {
    const roundItems = items.slice(r0, r0 + round);
    const conds = roundItems.flatMap((it) => [
      { item: it.id, req: { prefix: it.prefix, continuation: it.finalWord, separator: ' ' } },
      { item: it.id, req: { prefix: it.meta, continuation: it.finalWord, separator: ' ' } },
    ]);
    condResults.push(...(await session.conditional(conds, 'sum')));
    if (!task.distributions) continue;
    for (let start = 0; start < roundItems.length; start += NEXT_TOKEN_CHUNK) {
      const chunk = roundItems.slice(start, start + NEXT_TOKEN_CHUNK);
      const texts: Tagged<string>[] = chunk.flatMap((it) => [
        { item: it.id, req: it.prefix },
        { item: it.id, req: it.meta },
      ]);
      const logits = await session.nextToken(texts);
      for (const [k, it] of chunk.entries()) {
        const d = logits[2 * k];
        const m = logits[2 * k + 1];
        if (!d || !m || session.failed(it.id)) measures.push(null);
        else {
          try {
            measures.push(distributionMeasures(d, m));
          } catch (e) {
            session.fail(it.id, (e as Error).message);
            measures.push(null);
          }
        }
        session.stepDone();
        // Let the progress line out (and a cancel in) between items: each takes a moment.
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  const rows = items.map((it, i): Row => {
    const direct = condResults[2 * i];
    const meta = condResults[2 * i + 1];
    const ms = measures[i];
    const row: Row = {
      item_id: it.id,
      prefix: it.prefix,
      final_word: it.finalWord,
      direct_logprob: floatCell(direct?.logprob),
      meta_logprob: floatCell(meta?.logprob),
      kl_divergence: floatCell(ms?.klBatchmean),
      spearman_r_all: floatCell(ms?.rAll),
      spearman_p_all: floatCell(ms?.pAll),
      spearman_r_top100: floatCell(ms?.rTop),
      spearman_p_top100: floatCell(ms?.pTop),
      kl_divergence_nats: floatCell(ms?.klNats),
      model: args.model,
      revision: args.revision,
    };
    if (!task.distributions) for (const c of LAMBADA_HEADER) if (!header.includes(c)) delete row[c];
    if (session.failed(it.id)) blankScores(row, header, 'direct_logprob');
    return row;
  });
  return { header, rows };
}

export const lambadaDomain: DomainDef = {
  name: 'lambada',
  title: 'Word prediction (LAMBADA)',
  methods: [{ id: 'direct', pretty: 'Direct' }, { id: 'meta', pretty: 'Metalinguistic' }],
  measure: 'logprob',
  gap: 'logprob-difference',
  trainingTime: true,
  leadColumns: [],
  itemColumns: ['item_id', 'prefix', 'final_word'],
  responseColumns: ['logprob'],
  wideColumns: ['logprob_diff'],
  deriveWide(row, _src, ctx) {
    const d = ctx.num('direct_logprob');
    const m = ctx.num('meta_logprob');
    row.logprob_diff = d !== null && m !== null ? d - m : null;
  },
  responses: (_row, method, read) => [{ logprob: read.num(`${method}_logprob`) }],
  metricNote: ' of the final word',
  formula: sizeFormula('logprob'),
};

export const lambadaTask: TaskDef = {
  name: 'lambada',
  conditions: [],
  stimuli: { file: 'stimuli.jsonl', dataset: { id: 'EleutherAI/lambada_openai', file: 'data/lambada_test_en.jsonl', revision: 'main' }, idColumn: 'item_id' },
  maxNewTokens: 100,
  domain: 'lambada',
  run: (args) => runLambada(args),
  demo: { file: 'stimuli.jsonl', make: 'demoLambadaJsonl' },
  summary: 'word prediction: the final word\'s log-probability after the passage vs after a metalinguistic prompt',
  origin: 'builtin',
};
