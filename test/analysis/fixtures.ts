// Small hand-made score files for the analysis tests: every expected number in the tests is
// computed by hand from these rows.

import type { ModelSpec } from '../../src/engine/kind.js';
import { parseCsv } from '../../src/analysis/csv-io.js';
import { ModelRegistry } from '../../src/analysis/models.js';
import type { ScoreFile } from '../../src/analysis/score-files.js';

export const MODELS: ModelSpec[] = [
  { id: 'org/alpha-1b', name: 'alpha-1b', revisions: [''], display: { name: 'Alpha 1B', family: 'Alpha', params_b: 1 } },
  { id: 'org/alpha-10b', name: 'alpha-10b', revisions: [''], display: { name: 'Alpha 10B', family: 'Alpha', params_b: 10 } },
  { id: 'org/beta-2b', name: 'beta-2b', revisions: ['', 'step100-tokens1B', 'step1000-tokens10B'], display: { name: 'Beta 2B', family: 'Beta', params_b: 2 } },
];

export const registry = (): ModelRegistry => new ModelRegistry(MODELS);

export function file(task: string, condition: string, model: string, revision: string, csv: string): ScoreFile {
  const m = registry().get(model);
  if (!m) throw new Error(`fixture: unknown model ${model}`);
  const path = `${task}${condition ? `/${condition}` : ''}/${model}${revision ? `_${revision}` : ''}.csv`;
  return { task, condition, model: m, revision, path, table: parseCsv(csv, path) };
}

const DM_HEADER = 'problem_type,problem_ind,problem_id,perm_invariant,correct_answer,generated_response,generated_response_sum_logprob,generated_response_pred_set,generated_response_correct,mc_answer_logprobs,mc_response_index,mc_response,mc_response_sum_logprob,mc_response_correct,model,revision';

/** digit_mat rows: `correct` gives [generated_correct, mc_correct] per problem. */
export function digitMat(model: string, revision: string, correct: Array<[boolean, boolean]>): ScoreFile {
  const id = registry().get(model)!.id;
  const rows = correct.map(([g, m], i) =>
    `row_constant,${i},row_constant_${i},False,[3],"3]\n[4] [",-1.5,[3],${g ? 'True' : 'False'},"[-0.1, -2.0]",0,3],-0.1,${m ? 'True' : 'False'},${id},${revision}`);
  return file('digit_mat', '', model, revision, [DM_HEADER, ...rows].join('\n'));
}

export function lambada(model: string, revision: string, pairs: Array<[number, number]>): ScoreFile {
  const id = registry().get(model)!.id;
  const header = 'item_id,prefix,final_word,direct_logprob,meta_logprob,kl_divergence,spearman_r_all,spearman_p_all,spearman_r_top100,spearman_p_top100,model,revision';
  const rows = pairs.map(([d, m], i) => `${i},"Some, text",word,${d},${m},1e-5,0.5,0.01,0.4,0.02,${id},${revision}`);
  return file('lambada', '', model, revision, [header, ...rows].join('\n'));
}

const CRT2_HEADER = 'condition,item_id,question,correct,intuitive,generated_response_raw,generated_response,generated_response_naive_label,generated_response_label,mc_answer_logprobs,mc_answer_labels,mc_correct_logprob,mc_intuitive_logprob,mc_response_index,mc_response_label,mc_response,mc_response_mean_logprob,mc_response_correct,model,revision';

/** crt2 rows as a spreadsheet would have left them (TRUE/FALSE, rounded numbers). */
export function crt2(model: string, rows: Array<{ label: string; c: number; i: number }>): ScoreFile {
  const id = registry().get(model)!.id;
  const lines = rows.map((r, k) =>
    `crt2,${k + 1},Q${k + 1}?,7 hours,4 hours, It takes 7 hours.,It takes 7 hours.,correct,${r.label},"[${r.c}, ${r.i}]","['correct', 'intuitive']",${r.c},${r.i},${r.c > r.i ? 0 : 1},${r.c > r.i ? 'correct' : 'intuitive'},${r.c > r.i ? '7 hours' : '4 hours'},${Math.max(r.c, r.i)},${r.c > r.i ? 'TRUE' : 'FALSE'},${id},`);
  return file('crt', 'crt2', model, '', [CRT2_HEADER, ...lines].join('\n'));
}

const SYNTAX_TAIL = 'condition,direct_sum_logprob_good_sentence,direct_sum_logprob_bad_sentence,direct_correct,meta_sum_logprob_good_first_1,meta_sum_logprob_good_first_2,meta_sum_logprob_bad_first_1,meta_sum_logprob_bad_first_2,meta_1_correct,meta_2_correct,meta_good_correct,meta_bad_correct,meta_correct,meta_correct_lenient,model,revision';

export function blimp(model: string, n: number): ScoreFile {
  const id = registry().get(model)!.id;
  const rows = Array.from({ length: n }, (_, i) =>
    `Good ${i}.,Bad ${i}.,syntax,argument_structure,drop_argument,${i},${i + 1},paired,-10,-12,True,-3,-4,-3.5,-4,True,False,True,False,False,True,${id},`);
  return file('blimp', '', model, '', [`good_sentence,bad_sentence,category,category_fine,blimp_UID,blimp_pairID,item_id,${SYNTAX_TAIL}`, ...rows].join('\n'));
}

/** dgl rows for the given (phenomenon, test item) pairs. */
export function dgl(model: string, items: Array<[string, string]>): ScoreFile {
  const id = registry().get(model)!.id;
  const rows = items.map(([ph, ts], i) =>
    `${i},${ph},${ts},grammatical,A good one,A bad one,paired,-20,-21,True,-3,-4,-3.5,-4,True,False,True,False,False,True,${id},`);
  return file('dgl', '', model, '', [`item_id,phenomenon,test_item,original_condition,sentence_grammatical,sentence_ungrammatical,${SYNTAX_TAIL}`, ...rows].join('\n'));
}
