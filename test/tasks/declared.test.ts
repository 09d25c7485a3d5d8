// Declared tasks (pipeline.yaml `form:`): blimp and dgl re-declared as minimal pairs give the very
// CSVs of the built-in tasks — every number, every flag — with the fake LM over every item and with
// the real tiny-gpt2 over a few; bad declarations are located errors before anything loads.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { PipelineError } from '../../src/engine/diagnostics.js';
import { BUILTIN_KINDS } from '../../src/engine/registry.js';
import { parseSpec } from '../../src/engine/spec.js';
import { getDomain, getTask, tasksOfDomain } from '../../src/tasks/registry.js';
import { runTask } from '../../src/tasks/run-task.js';
import { FakeLM } from './fake-lm.js';
import { shared, stimulus } from './helpers.js';

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
