// Declared tasks (pipeline.yaml `form:`): blimp and dgl re-declared as minimal pairs give the very
// CSVs of the built-in tasks — every number, every flag — with the fake LM over every item and with
// the real tiny-gpt2 over a few; bad declarations are located errors before anything loads.

import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { PipelineError } from '../../src/engine/diagnostics.js';
import { BUILTIN_KINDS } from '../../src/engine/registry.js';
import { parseSpec } from '../../src/engine/spec.js';
import { getDomain, getTask, tasksOfDomain } from '../../src/tasks/registry.js';
import { runTask } from '../../src/tasks/run-task.js';
import { FakeLM } from './fake-lm.js';
import { shared, stimulus } from './helpers.js';
import { toCsv } from '../../src/tasks/csv-write.js';

// The paper's prompt, written out as a user would (YAML double quotes: \n is a newline).
const PAPER_PROMPT = '"\\nWhich of the following two sentences is more grammatically correct in English? Respond with 1 or 2 as your answer.\\nSentence 1: {sentence1}\\nSentence 2: {sentence2}\\nAnswer:"';

function pipeline(tasks: string): string {
  return `version: 1
tasks:
${tasks}
stages:
  fetch-stimuli:
    uses: fetch-stimuli
    matrix: { task: $tasks }
`;
}

const DECLARED = pipeline(`  my_blimp:
    form: minimal-pairs
    stimuli: { path: ${stimulus('blimp')} }
    good: good_sentence
    bad: bad_sentence
    prompt: ${PAPER_PROMPT}
    answers: ['1', '2']
    domain: syntax
  my_dgl:
    form: minimal-pairs
    stimuli: { path: ${stimulus('dgl')} }
    good: sentence_grammatical
    bad: sentence_ungrammatical
    suffix: "."
    domain: syntax
`);

function errorOf(text: string): string {
  try {
    parseSpec(text, 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  } catch (e: unknown) {
    if (e instanceof PipelineError) return e.message;
    throw e;
  }
  assert.fail('expected a PipelineError');
}

test('declared minimal pairs register as tasks of the syntax domain', () => {
  const spec = parseSpec(DECLARED, 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  assert.deepEqual(spec.tasks.map((t) => t.name), ['my_blimp', 'my_dgl']);
  assert.equal(getTask('my_blimp')?.origin, 'declared');
  assert.deepEqual(tasksOfDomain('syntax'), ['blimp', 'dgl', 'my_blimp', 'my_dgl']);
});

for (const [builtin, declared] of [['blimp', 'my_blimp'], ['dgl', 'my_dgl']] as const) {
  test(`${declared} (declared) gives ${builtin}'s CSV and requests, every item, fake LM`, async () => {
    parseSpec(DECLARED, 'pipeline.yaml', { kinds: BUILTIN_KINDS });
    const args = { stimuliPath: stimulus(builtin), model: 'fake/model', revision: '', maxNewTokens: 100 };
    const a = await runTask({ ...args, task: builtin, lm: new FakeLM() });
    const b = await runTask({ ...args, task: declared, lm: new FakeLM() });
    assert.equal(b.csv, a.csv);
    assert.deepEqual(b.requests, a.requests);
    assert.equal(a.csv.split('\n').length - 2, builtin === 'blimp' ? 650 : 80);
    // Not a vacuous equality: both orders of the prompt were scored and the flags vary.
    assert.match(a.csv, /True/);
    assert.match(a.csv, /False/);
  });
}

test('declared blimp and dgl equal the built-in ones on tiny-gpt2 (first 6 items)', async () => {
  parseSpec(DECLARED, 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const { loadLanguageModel } = await import('../../src/lm/index.js');
  const lm = await loadLanguageModel(path.join(shared, 'models/tiny-gpt2'));
  try {
    for (const [builtin, declared] of [['blimp', 'my_blimp'], ['dgl', 'my_dgl']] as const) {
      const args = { stimuliPath: stimulus(builtin), lm, model: 'local/tiny-gpt2', revision: '', maxNewTokens: 100, limit: 6 };
      const a = await runTask({ ...args, task: builtin });
      const b = await runTask({ ...args, task: declared });
      assert.equal(b.csv, a.csv, declared);
    }
  } finally {
    await lm.dispose();
  }
});

test('a declared task with its own domain gets a minimal-pair DomainDef', () => {
  parseSpec(pipeline(`  animacy:
    form: minimal-pairs
    stimuli: { path: ${stimulus('blimp')} }
    good: good_sentence
    bad: bad_sentence
    domain: { name: animacy, title: Animacy agreement }
`), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const d = getDomain('animacy');
  assert.equal(d?.title, 'Animacy agreement');
  assert.deepEqual(d?.methods.map((m) => m.id), ['direct', 'meta']);
  assert.equal(d?.measure, 'accuracy');
  assert.deepEqual(tasksOfDomain('animacy'), ['animacy']);
  assert.deepEqual(tasksOfDomain('syntax'), ['blimp', 'dgl']); // the earlier pipeline's declarations are gone
});

test('bad declarations are located errors with did-you-mean', () => {
  const base = (extra: string): string => pipeline(`  mine:
    stimuli: { path: ${stimulus('blimp')} }
${extra}`);
  assert.match(errorOf(base('    form: minimal-pair\n    good: good_sentence\n    bad: bad_sentence\n')),
    /^pipeline\.yaml:5:11 task mine: unknown task form "minimal-pair" \(did you mean "minimal-pairs"\?\)/);
  assert.match(errorOf(base('    form: minimal-pairs\n    good: good_sentenc\n    bad: bad_sentence\n')),
    /^pipeline\.yaml:6:11 task mine: good: no column "good_sentenc" in the stimuli file \(did you mean "good_sentence"\?\)/);
  assert.match(errorOf(base('    form: minimal-pairs\n    good: good_sentence\n    bad: bad_sentence\n    prompt: "{sentence1} or {sentence2}? {categroy_fine}"\n')),
    /^pipeline\.yaml:8:13 task mine: prompt: placeholder \{categroy_fine\} names no column of the stimuli file .*\(did you mean "category_fine"\?\)/);
  assert.match(errorOf(base('    form: minimal-pairs\n    good: good_sentence\n    bad: bad_sentence\n    prompt: "{sentence1} {sentence2"\n')),
    /prompt: a "\{" at character 13 is never closed/);
  assert.match(errorOf(base('    form: minimal-pairs\n    good: good_sentence\n    bad: bad_sentence\n    answers: [A]\n')),
    /^pipeline\.yaml:8:14 tasks\.mine\.answers must NOT have fewer than 2 items/);
  assert.match(errorOf(pipeline(`  blimp:\n    form: minimal-pairs\n    stimuli: { path: ${stimulus('blimp')} }\n    good: good_sentence\n    bad: bad_sentence\n`)),
    /task "blimp" is built in; give the declared task another name/);
});

test('declared word prediction (paper prompt, distributions) gives lambada\'s CSV, fake LM', async () => {
  parseSpec(pipeline(`  my_lambada:
    form: word-prediction
    stimuli: { path: ${stimulus('lambada')} }
    distributions: true
    domain: lambada
`), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const args = { stimuliPath: stimulus('lambada'), model: 'fake/model', revision: '', maxNewTokens: 100, limit: 40 };
  const a = await runTask({ ...args, task: 'lambada', lm: new FakeLM() });
  const b = await runTask({ ...args, task: 'my_lambada', lm: new FakeLM() });
  assert.equal(b.csv, a.csv);
  const { parse } = await import('csv-parse/sync');
  assert.equal((parse(a.csv) as unknown[]).length, 41);
});

test('declared word prediction without distributions: a template of our own, lambada\'s direct column', async () => {
  parseSpec(pipeline(`  next_word:
    form: word-prediction
    stimuli: { path: ${stimulus('lambada')} }
    prompt: "Continue the text: {prefix}"
`), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const args = { stimuliPath: stimulus('lambada'), model: 'fake/model', revision: '', maxNewTokens: 100, limit: 5 };
  const a = await runTask({ ...args, task: 'lambada', lm: new FakeLM() });
  const b = await runTask({ ...args, task: 'next_word', lm: new FakeLM() });
  assert.deepEqual(b.header, ['item_id', 'prefix', 'final_word', 'direct_logprob', 'meta_logprob', 'model', 'revision']);
  assert.equal(b.requests.length, 10); // two conditional requests per item, no next-token requests
  assert.ok(JSON.stringify(b.requests).includes('Continue the text: '));
  // direct_logprob is the same request as lambada's, so the same number; meta differs.
  const { parse } = await import('csv-parse/sync');
  const ra = parse(a.csv, { columns: true }) as Record<string, string>[];
  const rb = parse(b.csv, { columns: true }) as Record<string, string>[];
  assert.equal(rb.length, 5);
  assert.deepEqual(rb.map((r) => r.direct_logprob), ra.map((r) => r.direct_logprob));
  assert.notDeepEqual(rb.map((r) => r.meta_logprob), ra.map((r) => r.meta_logprob));
});

test('declared choice: forced choice equals crt2\'s (mean reduction), production judged by the answer rule', async () => {
  // The crt file holds three conditions with repeating item ids: the crt2 rows as a file of their own.
  const dir = mkdtempSync(path.join(tmpdir(), 'declared-crt-'));
  const file = path.join(dir, 'crt2.csv');
  const { parse } = await import('csv-parse/sync');
  const all = parse(readFileSync(stimulus('crt'), 'utf8'), { columns: true }) as Record<string, string>[];
  writeFileSync(file, toCsv(Object.keys(all[0]!), all.filter((r) => r.condition === 'crt2')));
  parseSpec(pipeline(`  my_crt:
    form: choice
    stimuli: { path: ${file} }
    prompt: "Question: {question}\\nAnswer:"
    choices: [correct, intuitive]
    reduction: mean
    answer: first-number
`), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const base = { stimuliPath: stimulus('crt'), model: 'fake/model', revision: '', maxNewTokens: 100 };
  const a = await runTask({ ...base, task: 'crt', condition: 'crt2', lm: new FakeLM() });
  const b = await runTask({ ...base, stimuliPath: file, task: 'my_crt', lm: new FakeLM() });
  const rowsA = parse(a.csv, { columns: true }) as Record<string, string>[];
  const rowsB = (parse(b.csv, { columns: true }) as Record<string, string>[]).filter((r) => r.condition === 'crt2');
  assert.equal(rowsB.length, 50);
  rowsA.forEach((ra, i) => {
    const rb = rowsB[i]!;
    assert.equal(rb.mc_answer_logprobs, ra.mc_answer_logprobs, `item ${ra.item_id}`);
    assert.equal(rb.mc_response_index, ra.mc_response_index);
    assert.equal(rb.mc_response_correct, ra.mc_response_correct);
    assert.equal(rb.mc_response_mean_logprob, ra.mc_response_mean_logprob);
    assert.equal(rb.generated_response, ra.generated_response_raw); // the same greedy generation
  });
});

test('answer rules: exact after normalisation, first number, digit set, regex', async () => {
  const { judgeAnswer, normaliseAnswer, parseListCell } = await import('../../src/tasks/forms/choice.js');
  assert.equal(normaliseAnswer('  The  Cat\u2028sat.\x1e'), 'the cat sat');
  assert.equal(judgeAnswer('exact', ' Paris.\n', 'paris'), true);
  assert.equal(judgeAnswer('exact', 'Paris, France', 'Paris'), false);
  assert.equal(judgeAnswer('first-number', 'It costs $1,000.50 or so', '1000.5'), true);
  assert.equal(judgeAnswer('first-number', 'no number', '5'), false);
  assert.equal(judgeAnswer('digit-set', '9 1]', '1 9]'), true);
  assert.equal(judgeAnswer('digit-set', '9 x]', '9]'), false);
  assert.equal(judgeAnswer({ regex: 'answer is (\\w+)' }, 'The answer is Blue.', 'blue'), true);
  assert.deepEqual(parseListCell(`['a', "b,c", 'it\\'s']`), ['a', 'b,c', "it's"]);
  assert.deepEqual(parseListCell('["x", "y"]'), ['x', 'y']);
  assert.equal(parseListCell('x|y'), null);
});

test('declared choice and word-prediction checks: placeholders, rules, domains', () => {
  const crt = stimulus('crt');
  const err = (extra: string): string => errorOf(pipeline(`  mine:\n    stimuli: { path: ${crt} }\n${extra}`));
  assert.match(err('    form: choice\n    prompt: "Q: {questoin}"\n    choices: [correct, intuitive]\n'), /prompt: placeholder \{questoin\} names no column of the stimuli file \(did you mean "question"\?\)/);
  assert.match(err('    form: choice\n    prompt: "Q: {question}"\n    choices: [correct, intuitve]\n'), /pipeline\.yaml:7:24 task mine: choices: no column "intuitve" .*\(did you mean "intuitive"\?\)/);
  assert.match(err('    form: choice\n    prompt: "Q: {question}"\n    choices: [correct, intuitive]\n    answer: first-numbr\n'), /answer: unknown answer rule "first-numbr" \(did you mean "first-number"\?\)/);
  assert.match(err('    form: choice\n    prompt: "Q: {question}"\n    choices: [correct, intuitive]\n    answer: { regex: "(" }\n'), /answer: the regex does not compile/);
  assert.match(err('    form: choice\n    choices: [correct, intuitive]\n'), /prompt: a template is required/);
  assert.match(err('    form: choice\n    prompt: "Q: {question}"\n    choices: [correct, intuitive]\n    domain: syntax\n'), /domain syntax compares direct vs meta, a choice task measures mc vs generated/);
  assert.match(err('    form: choice\n    prompt: "Q: {question}"\n    choices: [correct, intuitive]\n    domain: crtt\n'), /unknown domain "crtt" \(did you mean "crt"\?\)/);
  assert.match(err('    form: word-prediction\n'), /word-prediction: the stimuli file has no column "text"/);
});

test('a TypeScript/JavaScript TaskDef from a plugin file registers a task (and its domain)', async () => {
  const { KindRegistry } = await import('../../src/engine/registry.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'task-plugin-'));
  const file = path.join(dir, 'reversed.mjs');
  const grammaticality = new URL('../../src/tasks/grammaticality.js', import.meta.url).href;
  // A task in code: a minimal-pair task whose prompt is a function (here: a sentence against itself).
  writeFileSync(file, `import { runGrammaticality, pairResponses } from ${JSON.stringify(grammaticality)};
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
export const taskDef = {
  name: 'reversed', conditions: [], stimuli: { file: 'stimuli.csv' }, maxNewTokens: 100, domain: 'word_order',
  summary: 'a plugin task', origin: 'plugin',
  run: (args) => runGrammaticality({ name: 'reversed', good: 'good_sentence', bad: 'good_sentence', suffix: '',
    prompt: (s1, s2) => 'Which is English? 1: ' + s1 + ' 2: ' + s2 + ' Answer:' }, args),
};
export const domainDef = {
  name: 'word_order', title: 'Word order (plugin)', methods: [{ id: 'direct', pretty: 'Direct' }, { id: 'meta', pretty: 'Metalinguistic' }],
  measure: 'accuracy', gap: 'log-odds-difference', trainingTime: false, leadColumns: [], itemColumns: ['item_id'],
  responseColumns: ['response_correct'], wideColumns: [], responses: pairResponses, formula: 'response_correct ~ model_n_params_log*eval_method + (model_n_params_log*eval_method | model_family)',
};
`);
  const names = await new KindRegistry().addPlugins([file]);
  assert.deepEqual(names, []); // a task, not a stage kind
  assert.equal(getTask('reversed')?.origin, 'plugin');
  assert.equal(getTask('reversed')?.source, file);
  assert.equal(getDomain('word_order')?.title, 'Word order (plugin)');
  assert.deepEqual(tasksOfDomain('word_order'), ['reversed']);
  const out = await runTask({ task: 'reversed', stimuliPath: stimulus('blimp'), lm: new FakeLM(), model: 'fake/model', revision: '', maxNewTokens: 100, limit: 3 });
  assert.equal(out.csv.trim().split('\n').length, 4);
  assert.ok(JSON.stringify(out.requests).includes('Which is English? 1: '));
  // A plugin cannot replace a paper task.
  const bad = path.join(dir, 'bad.mjs');
  writeFileSync(bad, `export const taskDef = { name: 'blimp', domain: 'syntax', run: async () => ({ header: [], rows: [] }) };\n`);
  await assert.rejects(new KindRegistry().addPlugins([bad]), /task "blimp" is built in/);
});

test('answer: labels — naive labels as crt2\'s, the correct label kept, hand labels decide at aggregation', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'declared-labels-'));
  const file = path.join(dir, 'crt2.csv');
  const { parse } = await import('csv-parse/sync');
  const all = parse(readFileSync(stimulus('crt'), 'utf8'), { columns: true }) as Record<string, string>[];
  writeFileSync(file, toCsv(Object.keys(all[0]!), all.filter((r) => r.condition === 'crt2')));
  parseSpec(pipeline(`  labelled:
    form: choice
    stimuli: { path: ${file} }
    prompt: "Question: {question}\\nAnswer:"
    choices: [correct, intuitive]
    reduction: mean
    answer: labels
    domain: { name: reflection, title: Reflection (declared) }
`), 'pipeline.yaml', { kinds: BUILTIN_KINDS });
  const base = { stimuliPath: stimulus('crt'), model: 'fake/model', revision: '', maxNewTokens: 100 };
  const a = await runTask({ ...base, task: 'crt', condition: 'crt2', lm: new FakeLM() });
  const b = await runTask({ ...base, stimuliPath: file, task: 'labelled', lm: new FakeLM() });
  assert.ok(b.header.includes('generated_response_label') && b.header.includes('correct_label'));
  const ra = parse(a.csv, { columns: true }) as Record<string, string>[];
  const rb = parse(b.csv, { columns: true }) as Record<string, string>[];
  // crt2 labels the cleaned response; ours the raw one: equal wherever cleaning kept the text.
  ra.forEach((r, i) => {
    if (r.generated_response === r.generated_response_raw) assert.equal(rb[i]!.generated_response_naive_label, r.generated_response_naive_label, `item ${r.item_id}`);
    assert.equal(rb[i]!.correct_label, 'correct');
    assert.equal(rb[i]!.generated_response_correct, rb[i]!.generated_response_label === 'correct' ? 'True' : 'False');
  });
  // At aggregation the (annotated) label decides, not the score-time flag.
  const d = getDomain('reflection')!;
  assert.equal(d.annotatedColumn, 'generated_response_label');
  const row: Record<string, string | boolean | null> = {};
  d.deriveWide!(row, { generated_response_label: 'correct', correct_label: 'correct', generated_response_correct: 'False' }, { task: 'labelled', condition: '', num: () => null });
  assert.equal(row.generated_response_correct, true);
});
