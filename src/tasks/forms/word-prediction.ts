// `form: word-prediction` — a declared task like lambada: a text column split on single spaces into
// a prefix and its final word; direct = log P(final word | prefix), metalinguistic = log P(final
// word | a prompt template over the prefix); optionally the next-token distributions compared (KL,
// Spearman over all ids and the top 100). Columns and measures are lambada's (lambada.ts).

import { runLambada, type WordTask } from '../lambada.js';
import { readCsvFile, readLambada } from '../stimuli.js';
import type { TaskDef } from '../task-def.js';
import type { WordPredictionDecl } from './declaration.js';
import { fillTemplate, isTemplateError, parseTemplate } from './template.js';

/** The paper's metalinguistic prompt as a template. */
export const PAPER_WORD_PROMPT = 'What word is most likely to come next in the following text?\nText: {prefix}\nPrediction:';

export const WORD_PLACEHOLDERS = ['prefix'];

export function wordPredictionTask(name: string, d: WordPredictionDecl, domain: string): TaskDef {
  const parts = parseTemplate(d.prompt ?? PAPER_WORD_PROMPT);
  if (isTemplateError(parts)) throw new Error(`task ${name}: bad prompt template`);
  const tpl = parts;
  const textColumn = d.text ?? 'text';
  const idColumn = d.id ?? 'item_id';
  const task: WordTask = {
    read(path) {
      if (path.endsWith('.jsonl')) return readLambada(path).map((it) => ({ ...it, cells: { [idColumn]: it.itemId, [textColumn]: it.text } }));
      const table = readCsvFile(path);
      if (!table.header.includes(textColumn)) throw new Error(`${path}: no column "${textColumn}" (has ${table.header.join(', ')})`);
      return table.rows.map((r, i) => ({ itemId: r[idColumn] ?? String(i), text: r[textColumn]!, cells: r }));
    },
    prompt: (prefix, cells) => fillTemplate(tpl, { ...cells, prefix }),
    distributions: d.distributions ?? false,
  };
  return {
    name,
    conditions: [],
    stimuli: { file: 'stimuli.csv', requiredColumns: [textColumn], idColumn },
    maxNewTokens: 100,
    domain,
    run: (args) => runLambada(args, task),
    summary: `declared word prediction (final word of column ${textColumn})`,
    origin: 'declared',
  };
}
