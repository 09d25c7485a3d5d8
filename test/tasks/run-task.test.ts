// runTask with a deterministic fake model: headers equal the paper's for every task and condition,
// requests are batched and recorded, limit, per-item failures, digit_mat's zero-token warning,
// determinism, and the lambada measures against hand computation.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { runTask } from '../../src/tasks/run-task.js';
import { averageRanks, klDivergence, spearman, topIds } from '../../src/tasks/stats.js';
import { FakeLM } from './fake-lm.js';
import { paperDir, stimulus } from './helpers.js';

const base = { model: 'org/fake-model', revision: '', maxNewTokens: 10 };

function rows(csv: string): Record<string, string>[] {
  return parse(csv, { columns: true }) as Record<string, string>[];
}

const CASES: { task: string; condition?: string; dir: string }[] = [
  { task: 'lambada', dir: 'lambada' },
  { task: 'digit_mat', dir: 'digit_mat' },
  { task: 'blimp', dir: 'blimp' },
  { task: 'dgl', dir: 'dgl' },
  { task: 'crt', condition: 'crt1', dir: 'crt/crt1' },
  { task: 'crt', condition: 'crt2', dir: 'crt/crt2' },
  { task: 'crt', condition: 'crt3', dir: 'crt/crt3' },
];

// crt3/Llama-2-7b-hf.csv was saved from the annotation spreadsheet with its label column renamed.
const RENAMED = 'crt/crt3/Llama-2-7b-hf.csv';
// The paper's OLMo-7B checkpoint files (training-time runs) carry one more column after revision:
// `instruct`, always False. TASKS.md's column lists (which we follow) do not include it.
const isRevisionFile = (f: string) => /_step\d+/.test(f);

for (const c of CASES) {
  test(`${c.dir}: header equals every paper file's header (model, revision last)`, async () => {
    const out = await runTask({ ...base, task: c.task, condition: c.condition, stimuliPath: stimulus(c.task), lm: new FakeLM(), limit: 0 });
    const ours = c.task === 'lambada' ? out.header.filter((h) => h !== 'kl_divergence_nats') : out.header;
    assert.deepEqual(out.header.slice(-2), ['model', 'revision']);
    assert.equal(out.csv, out.header.join(',') + '\n');
    const files = readdirSync(path.join(paperDir, c.dir)).filter((f) => f.endsWith('.csv'));
    assert.ok(files.length >= 13);
    for (const f of files) {
      // crt files come from a spreadsheet and end lines with \r\n.
      const paper = readFileSync(path.join(paperDir, c.dir, f), 'utf8').split(/\r?\n/)[0]!.split(',');
      let expected = `${c.dir}/${f}` === RENAMED ? paper.map((h, i) => (i === paper.indexOf('generated_response_naive_label') + 1 ? 'generated_response_label' : h)) : paper;
      if (isRevisionFile(f)) {
        assert.equal(expected.at(-1), 'instruct', f);
        expected = expected.slice(0, -1);
      }
      assert.deepEqual(ours, expected, f);
    }
  });
}

test('lambada adds kl_divergence_nats just before model/revision', async () => {
  const out = await runTask({ ...base, task: 'lambada', stimuliPath: stimulus('lambada'), lm: new FakeLM(), limit: 0 });
  assert.equal(out.header.at(-3), 'kl_divergence_nats');
});

test('blimp: limit, batching (one sequence and one conditional call), requests and values', async () => {
  const lm = new FakeLM();
  const out = await runTask({ ...base, task: 'blimp', stimuliPath: stimulus('blimp'), lm, limit: 5 });
  const r = rows(out.csv);
  assert.equal(r.length, 5);
  assert.deepEqual(lm.calls, [{ method: 'sequence', size: 10 }, { method: 'conditional', size: 20 }]);
  assert.equal(out.requests.length, 30);
  assert.deepEqual(out.failures, []);
  const first = r[0]!;
  assert.equal(first.good_sentence, 'Mary had left.');
  assert.equal(first.condition, 'paired');
  assert.equal(first.model, 'org/fake-model');
  assert.equal(first.revision, '');
  const g = Number(first.direct_sum_logprob_good_sentence);
  const b = Number(first.direct_sum_logprob_bad_sentence);
  assert.equal(first.direct_correct, g > b ? 'True' : 'False');
  const seq = out.requests[0] as { kind: string; text: string; logprob: number };
  assert.equal(seq.kind, 'sequence');
  assert.equal(seq.text, 'Mary had left.');
  assert.equal(seq.logprob, g);
  const cond = out.requests[10] as { kind: string; prefix: string; continuation: string; separator: string };
  assert.equal(cond.kind, 'conditional');
  assert.ok(cond.prefix.startsWith('\nWhich of the following'));
  assert.equal(cond.continuation, '1');
  assert.equal(cond.separator, ' ');
});

test('dgl appends a period to each sentence for scoring but writes the stimulus columns unchanged', async () => {
  const out = await runTask({ ...base, task: 'dgl', stimuliPath: stimulus('dgl'), lm: new FakeLM(), limit: 2 });
  const r = rows(out.csv);
  const seq = out.requests[0] as { text: string };
  assert.equal(seq.text, `${r[0]!.sentence_grammatical}.`);
  assert.ok(!r[0]!.sentence_grammatical!.endsWith('.'));
});

test('per-item failures keep their row with empty score cells', async () => {
  // The fake model throws on requests mentioning "Clintons" (blimp item 4).
  const lm = new FakeLM({ throwOn: 'Clintons' });
  const out = await runTask({ ...base, task: 'blimp', stimuliPath: stimulus('blimp'), lm, limit: 6 });
  const r = rows(out.csv);
  assert.equal(r.length, 6);
  assert.deepEqual(out.failures.map((f) => f.item), ['4']);
  assert.match(out.failures[0]!.message, /refuses/);
  assert.equal(r[3]!.item_id, '4');
  assert.equal(r[3]!.good_sentence, "The Clintons' nephews weren't left by Angela.");
  assert.equal(r[3]!.direct_sum_logprob_good_sentence, '');
  assert.equal(r[3]!.meta_correct, '');
  assert.equal(r[3]!.model, 'org/fake-model');
  assert.notEqual(r[4]!.direct_sum_logprob_good_sentence, '');
  assert.equal(out.counters.failed_items, 1);
  assert.ok(out.warnings.some((w) => w.includes('1 item(s) failed')));
});

test('prompts longer than the context fail their item, using countTokens and contextLength', async () => {
  const lm = new FakeLM({ contextLength: 60 });
  const out = await runTask({ ...base, task: 'crt', condition: 'crt2', stimuliPath: stimulus('crt'), lm, limit: 3, maxNewTokens: 100 });
  const r = rows(out.csv);
  assert.equal(r.length, 3);
  assert.equal(out.failures.length, 3);
  assert.match(out.failures[0]!.message, /over the model's context of 60/);
  assert.equal(r[0]!.correct, '7 hours'); // descriptive columns are kept
  assert.equal(r[0]!.generated_response_raw, '');
});

test('digit_mat: rows in problem-index-then-type order, zero-token continuations reported', async () => {
  const lm = new FakeLM();
  const out = await runTask({ ...base, task: 'digit_mat', stimuliPath: stimulus('digit_mat'), lm, limit: 40 });
  const r = rows(out.csv);
  assert.equal(r.length, 40);
  assert.equal(r[0]!.problem_id, 'row_constant_0');
  assert.equal(r[31]!.problem_id, 'AND_permuted_0');
  assert.equal(r[32]!.problem_id, 'row_constant_1');
  // One generate call, one conditional call with the response and 8 choices per problem.
  assert.deepEqual(lm.calls, [{ method: 'generate', size: 40 }, { method: 'conditional', size: 40 * 9 }]);
  // The fake tokenizer merges the prompt's final " [" with the empty choice "]" (set-union problems).
  assert.ok(out.counters.zero_token_continuations! > 0);
  assert.equal(out.counters.zero_token_continuations! + out.counters.zero_token_generated_responses!, out.counters.lm_zero_token_continuations);
  assert.ok(out.warnings.some((w) => /no tokens of their own/.test(w)));
  for (const row of r) {
    const lps = JSON.parse(row.mc_answer_logprobs!) as number[];
    assert.equal(lps.length, 8);
    const best = lps.indexOf(Math.max(...lps));
    assert.equal(row.mc_response_index, String(best));
    assert.equal(Number(row.mc_response_sum_logprob), lps[best]);
  }
  const zeroRows = r.filter((row) => row.mc_response === ']');
  for (const row of zeroRows) assert.equal(row.mc_response_sum_logprob, '0.0');
});

test('crt1: options as money, mean reduction, labels, and byte-identical reruns', async () => {
  const run = () => runTask({ ...base, task: 'crt', condition: 'crt1', stimuliPath: stimulus('crt'), lm: new FakeLM(), limit: 4, maxNewTokens: 100 });
  const a = await run();
  const b = await run();
  assert.equal(a.csv, b.csv);
  assert.deepEqual(a.requests, b.requests);
  const r = rows(a.csv);
  assert.equal(r.length, 4);
  assert.equal(r[1]!.more, '$1.00');
  assert.equal(r[1]!.more_alt, '$1');
  assert.equal(r[0]!.mc_answer_labels, "['correct', 'intuitive', 'total_cost', 'more', 'correct_alt', 'intuitive_alt', 'total_cost_alt', 'more_alt']");
  assert.equal(r[0]!.generated_response_label, r[0]!.generated_response_naive_label);
  const conds = a.requests.filter((q) => (q as { kind: string }).kind === 'conditional') as { reduction: string; separator: string; prefix: string }[];
  assert.equal(conds.length, 4 * 8);
  assert.ok(conds.every((q) => q.reduction === 'mean' && q.separator === ' ' && q.prefix.startsWith('Question: ')));
});

test('lambada: measures match hand computation from the fake logits', async () => {
  const lm = new FakeLM();
  const out = await runTask({ ...base, task: 'lambada', stimuliPath: stimulus('lambada'), lm, limit: 3 });
  const r = rows(out.csv);
  assert.equal(r.length, 3);
  const nt = out.requests.filter((q) => (q as { kind: string }).kind === 'next-token') as { text: string; width: number }[];
  assert.equal(nt.length, 6);
  const probe = new FakeLM();
  const [d, m] = await probe.nextTokenLogits([nt[0]!.text, nt[1]!.text]);
  const kl = klDivergence(d!, m!);
  assert.equal(Number(r[0]!.kl_divergence_nats), kl.nats);
  assert.equal(Number(r[0]!.kl_divergence), kl.nats / 1000);
  assert.equal(Number(r[0]!.spearman_r_all), spearman(d!, m!).r);
  const ids = topIds(d!, 100);
  assert.equal(ids.length, 100);
  assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!));
  assert.ok(Number(r[0]!.spearman_p_top100) >= 0 && Number(r[0]!.spearman_p_top100) <= 1);
});

test('stats: average ranks, spearman with ties and its t-based p-value, KL', () => {
  assert.deepEqual([...averageRanks([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
  // Hand-worked: x = [1,2,3,4,5], y = [5,6,7,8,7] → ranks y = [1,2,3.5,5,3.5], rho = 0.8207826816681233.
  const s = spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
  assert.ok(Math.abs(s.r - 0.8207826816681233) < 1e-12);
  // Two-sided p from Student's t with 3 df, whose cdf has a closed form:
  // F(t) = 1/2 + (t / (sqrt(3)(1 + t²/3)) + atan(t / sqrt(3))) / π, with t = r sqrt(3 / (1 − r²)).
  const t = s.r * Math.sqrt(3 / (1 - s.r * s.r));
  const F = 0.5 + (t / (Math.sqrt(3) * (1 + (t * t) / 3)) + Math.atan(t / Math.sqrt(3))) / Math.PI;
  assert.ok(Math.abs(s.p - 2 * (1 - F)) < 1e-9);
  assert.ok(Math.abs(s.p - 0.0885870053135438) < 1e-9);
  assert.deepEqual(spearman([1, 2, 3], [3, 2, 1]), { r: -1, p: 0 });
  const kl = klDivergence([0, 0], [0, Math.log(3)]);
  // p = [.5,.5], q = [.25,.75]: KL = .5 ln 2 + .5 ln(2/3).
  assert.ok(Math.abs(kl.nats - (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3))) < 1e-12);
  assert.equal(kl.batchmean, kl.nats / 2);
  assert.deepEqual(topIds([5, 9, 9, 1, 7], 3), [1, 2, 4]);
});

test('lambada prefix and final word match the paper for every passage', async () => {
  const paper = rows(readFileSync(path.join(paperDir, 'lambada/pythia-1b-deduped.csv'), 'utf8'));
  const { splitPassage } = await import('../../src/tasks/lambada.js');
  const { readLambada } = await import('../../src/tasks/stimuli.js');
  const items = readLambada(stimulus('lambada'));
  assert.equal(items.length, 5153);
  items.forEach((it, i) => {
    const s = splitPassage(it.text);
    assert.equal(s.prefix, paper[i]!.prefix);
    assert.equal(s.finalWord, paper[i]!.final_word);
    assert.equal(it.itemId, paper[i]!.item_id);
  });
});

test('requests go to the model in chunks of about chunkSize that never split an item', async () => {
  const lm = new FakeLM();
  // blimp sends 4 conditionals per item; chunkSize 6 → chunks close after the item that reaches 6.
  await runTask({ ...base, task: 'blimp', stimuliPath: stimulus('blimp'), lm, limit: 5, chunkSize: 6 });
  const condCalls = lm.calls.filter((c) => c.method === 'conditional').map((c) => c.size);
  assert.deepEqual(condCalls, [8, 8, 4]);
  const seqCalls = lm.calls.filter((c) => c.method === 'sequence').map((c) => c.size);
  assert.deepEqual(seqCalls, [6, 4]);
  let last = 0;
  const progress: number[] = [];
  await runTask({ ...base, task: 'blimp', stimuliPath: stimulus('blimp'), lm: new FakeLM(), limit: 5, chunkSize: 6, onProgress: (done, total) => {
    assert.ok(done >= last && done <= total);
    last = done;
    progress.push(done);
  } });
  assert.equal(progress.at(-1), 30);
});

test('lambada progress counts the KL/Spearman work after the requests: 100 % only when the measures are done', async () => {
  const seen: [number, number, string | undefined][] = [];
  const lm = new FakeLM();
  const next = lm.nextTokenLogits.bind(lm);
  let requestsDone = -1;
  // When the last next-token call returns, every request is counted; the measures are not yet.
  lm.nextTokenLogits = async (...a: Parameters<typeof next>) => {
    const r = await next(...a);
    requestsDone = seen.length;
    return r;
  };
  await runTask({ ...base, task: 'lambada', stimuliPath: stimulus('lambada'), lm, limit: 3, onProgress: (done, total, unit) => void seen.push([done, total, unit]) });
  assert.deepEqual(seen.at(-1), [15, 15, 'requests and measures'], '3 items × (4 requests + 1 measure step)');
  assert.ok(seen.every(([, total]) => total === 15));
  const afterRequests = seen.slice(requestsDone);
  assert.ok(afterRequests.length >= 3 && afterRequests.every(([d]) => d >= 12), JSON.stringify(seen));
  assert.ok(seen.slice(0, requestsDone).every(([d]) => d < 15), 'not at 100 % before the measures');
});

test('descriptive columns (stimuli, options, prefixes) equal the paper rows', async () => {
  const cases: [string, string | undefined, string, string[]][] = [
    ['blimp', undefined, 'blimp/pythia-1b-deduped.csv', ['good_sentence', 'bad_sentence', 'category', 'category_fine', 'blimp_UID', 'blimp_pairID', 'item_id', 'condition']],
    ['dgl', undefined, 'dgl/pythia-1b-deduped.csv', ['item_id', 'phenomenon', 'test_item', 'original_condition', 'sentence_grammatical', 'sentence_ungrammatical', 'condition']],
    ['lambada', undefined, 'lambada/pythia-1b-deduped.csv', ['item_id', 'prefix', 'final_word']],
    ['crt', 'crt1', 'crt/crt1/OLMo-1B.csv', ['condition', 'item_id', 'question', 'correct', 'intuitive', 'total_cost', 'more', 'correct_alt', 'intuitive_alt', 'total_cost_alt', 'more_alt', 'mc_answer_labels']],
    ['crt', 'crt3', 'crt/crt3/OLMo-1B.csv', ['condition', 'item_id', 'question', 'correct', 'intuitive', 't', 'mc_answer_labels']],
  ];
  for (const [task, condition, file, cols] of cases) {
    const out = await runTask({ ...base, task, condition, stimuliPath: stimulus(task), lm: new FakeLM(), limit: 12 });
    const ours = rows(out.csv);
    const paper = rows(readFileSync(path.join(paperDir, file), 'utf8')).slice(0, 12);
    assert.equal(ours.length, 12);
    ours.forEach((row, i) => {
      for (const c of cols) assert.equal(row[c], paper[i]![c], `${file} row ${i} ${c}`);
    });
  }
});
