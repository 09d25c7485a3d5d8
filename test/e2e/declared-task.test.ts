// examples/declared-task end to end: a task declared in pipeline.yaml (no code) is scored, gets its
// domain's tables and figures, and editing its declaration re-runs exactly what reads it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, Rig } from '../engine/rig.js';

function run(rig: Rig, args: string[]): { code: number; ran: string[]; stderr: string } {
  const r = rig.cli([...args, '--json']);
  return { code: r.code, ran: Rig.ran(r), stderr: r.stderr + r.stdout.slice(-2000) };
}

test('declared-task example: scored, aggregated, drawn; a template edit re-runs only its task', { timeout: 600_000 }, () => {
  const rig = new Rig();
  const example = join(REPO, 'examples', 'declared-task');
  copyFileSync(join(example, 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  mkdirSync(join(rig.dir, 'stimuli'));
  copyFileSync(join(example, 'stimuli', 'agreement.csv'), join(rig.dir, 'stimuli', 'agreement.csv'));
  const args = ['run', '--set', 'limit=4'];

  const first = run(rig, args);
  assert.equal(first.code, 0, first.stderr);
  const csv = rig.read('output/agreement/demo-gpt-small.csv').trim().split('\n');
  assert.equal(csv.length, 5); // header + limit 4
  assert.match(csv[0]!, /^item_id,phenomenon,grammatical,ungrammatical,condition,direct_sum_logprob_good_sentence,.*,meta_correct_lenient,model,revision$/);
  assert.match(csv[1]!, /^1,subject-verb,The keys to the cabinet are on the table\.,The keys to the cabinet is on the table\.,paired,-\d/);
  const long = rig.read('processed_data/agreement_long_size.csv').trim().split('\n');
  assert.equal(long[0], 'model,model_family,model_n_params,dataset,item_id,grammatical,ungrammatical,response_correct,eval_method,pretty_eval_method');
  assert.equal(long.length, 1 + 2 * 4 * 4); // 2 models × 4 items × (2 direct + 2 meta rows)
  assert.match(rig.read('processed_data/agreement_log_odds_diff.csv'), /^model,model_family,model_n_params,low_demand_method,high_demand_method,/);
  const svgs = readdirSync(join(rig.dir, 'figures')).filter((f) => f.startsWith('agreement_') && f.endsWith('.svg'));
  assert.deepEqual(svgs.sort(), ['agreement_by_method.svg', 'agreement_gap_vs_size.svg']);
  assert.match(rig.read('figures/agreement_by_method.svg'), /Number agreement \(declared task\)/);

  const second = rig.cli(args);
  assert.equal(second.code, 0);
  assert.match(second.stdout, /Nothing to do/);

  // The prompt template is data in the score key: editing it re-runs agreement's scores and what
  // reads them, nothing of blimp, no model build.
  rig.write('pipeline.yaml', rig.read('pipeline.yaml').replace('Which sentence is better English?', 'Which sentence sounds right?'));
  const edited = run(rig, args);
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(edited.ran.filter((id) => id.startsWith('score/')).sort(), ['score/agreement/demo-gpt-large', 'score/agreement/demo-gpt-small']);
  assert.ok(edited.ran.every((id) => !id.includes('blimp') && !id.startsWith('build-model/') && id !== 'aggregate/syntax'), edited.ran.join(','));
  assert.ok(edited.ran.includes('aggregate/agreement'), edited.ran.join(','));
});
