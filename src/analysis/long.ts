// Long tables: one row per wide row and evaluation method (syntax: two per method), with the
// method's response in shared columns so that the methods can be compared and regressed.

import { parseBool, parseNum, type Cell, type Row, type Table } from './csv-io.js';
import { PRETTY_METHOD, type Domain } from './domains.js';
import type { Scope, WideTable } from './wide.js';

/** The per-domain columns copied from the wide row, after model/family/size. */
const META: Record<Domain, string[]> = {
  digit_mat: ['problem_type', 'problem_ind', 'problem_id', 'perm_invariant', 'correct_answer'],
  crt: ['item_id', 'question'],
  lambada: ['item_id', 'prefix', 'final_word'],
  syntax: ['dataset', 'item_id', 'category_fine', 'good_sentence', 'bad_sentence', 'test_item', 'phenomenon', 'sentence_grammatical', 'sentence_ungrammatical'],
};

const RESPONSE: Record<Domain, string[]> = {
  digit_mat: ['response', 'response_sum_logprob', 'response_correct'],
  crt: ['response', 'response_label', 'response_correct'],
  lambada: ['logprob'],
  syntax: ['response_correct'],
};

/** Methods in the order rows are written (alphabetical, so the regression's reference comes first). */
const METHODS: Record<Domain, string[]> = {
  digit_mat: ['generated', 'mc'],
  crt: ['generated', 'mc'],
  lambada: ['direct', 'meta'],
  syntax: ['direct', 'meta'],
};

export function longColumns(domain: Domain, scope: Scope): string[] {
  const model = scope === 'training_time'
    ? ['model', 'revision', 'model_family', 'training_step', 'model_n_params']
    : ['model', 'model_family', 'model_n_params'];
  const lead = domain === 'crt' ? ['condition'] : [];
  return [...lead, ...model, ...META[domain], ...RESPONSE[domain], 'eval_method', 'pretty_eval_method'];
}

/** The response cells of one method for one wide row; syntax gives two (good- and bad-first). */
function responses(domain: Domain, row: Row, method: string, where: string): Array<Record<string, Cell>> {
  const bool = (c: string): boolean | null => parseBool(row[c] ?? null, `${where} column ${c}`);
  switch (domain) {
    case 'digit_mat':
      return [{
        response: row[`${method}_response`] ?? null,
        response_sum_logprob: row[`${method}_response_sum_logprob`] ?? null,
        response_correct: bool(`${method}_response_correct`),
      }];
    case 'crt':
      return method === 'generated'
        ? [{ response: row.generated_response ?? null, response_label: row.generated_response_label ?? null, response_correct: bool('generated_response_correct') }]
        : [{ response: row.mc_response ?? null, response_label: row.mc_response_label ?? null, response_correct: bool('mc_correct_gt_intuitive') }];
    case 'lambada':
      return [{ logprob: parseNum(row[`${method}_logprob`] ?? null, `${where} column ${method}_logprob`) }];
    case 'syntax':
      return method === 'direct'
        ? [{ response_correct: bool('direct_correct') }, { response_correct: bool('direct_correct') }]
        : [{ response_correct: bool('meta_good_correct') }, { response_correct: bool('meta_bad_correct') }];
  }
}

export function buildLong(domain: Domain, wide: WideTable, scope: Scope): Table {
  const columns = longColumns(domain, scope);
  const rows: Row[] = [];
  wide.rows.forEach((w, i) => {
    const where = wide.sources[i] ?? `wide row ${i + 1}`;
    for (const method of METHODS[domain]) {
      for (const resp of responses(domain, w, method, where)) {
        const row: Row = {};
        for (const c of columns) row[c] = w[c] ?? null;
        Object.assign(row, resp);
        row.eval_method = method;
        row.pretty_eval_method = PRETTY_METHOD[method] ?? method;
        rows.push(row);
      }
    }
  });
  return { columns, rows };
}
