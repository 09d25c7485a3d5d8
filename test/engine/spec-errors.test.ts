// Bad input: malformed pipeline files, each with the message a researcher should see (file, line,
// column, field, and what to do). These call the parser directly; one case also goes through the CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineError } from '../../src/engine/diagnostics.js';
import { expand } from '../../src/engine/expand.js';
import { buildGraph } from '../../src/engine/graph.js';
import { BUILTIN_KINDS } from '../../src/engine/registry.js';
import { parseSpec } from '../../src/engine/spec.js';
import { Rig } from './rig.js';

function errorOf(text: string, overrides: Record<string, string> = {}): string {
  try {
    const spec = parseSpec(text, 'pipeline.yaml', { kinds: BUILTIN_KINDS, overrides });
    buildGraph(expand(spec), spec);
  } catch (e: unknown) {
    if (e instanceof PipelineError) return e.message;
    throw e;
  }
  assert.fail('expected a PipelineError');
}

const MODELS = `models:
  - id: EleutherAI/pythia-1b-deduped
    display: { name: Pythia 1B }
tasks:
  crt: {}
`;

const cases: { name: string; yaml: string; expect: string[]; overrides?: Record<string, string> }[] = [
  { name: 'unknown stage kind', yaml: 'stages:\n  s:\n    uses: socre\n', expect: ['pipeline.yaml:3:11 unknown stage kind "socre" (did you mean "score"?)', '    uses: socre', '^^^^^'] },
  { name: 'unknown key with did-you-mean', yaml: 'stages:\n  s:\n    uses: score\n    parms: {}\n', expect: ['pipeline.yaml:4:5 unknown key "parms" in stages.s (did you mean "params"?)'] },
  { name: 'unknown top-level key', yaml: 'stage:\n  s: { run: "true", outs: [x] }\n', expect: ['pipeline.yaml:1:1 unknown key "stage" in the top level (did you mean "stages"?)'] },
  { name: 'wrong type', yaml: 'stages:\n  s:\n    run: "true"\n    outs: x.txt\n', expect: ['pipeline.yaml:4:11 stages.s.outs must be a list, not string "x.txt"'] },
  { name: 'wrong type of pool', yaml: 'pools:\n  cpu: two\nstages:\n  s: { run: "true", outs: [x] }\n', expect: ['pipeline.yaml:2:8 pools.cpu must be a whole number, not string "two"'] },
  { name: 'needs a stage that does not exist', yaml: 'stages:\n  a: { run: "true", outs: [a] }\n  b:\n    run: "true"\n    outs: [b]\n    needs: [aa]\n', expect: ['pipeline.yaml:6:13 stage "b" needs "aa", which is not a stage (did you mean "a"?)'] },
  { name: 'cycle', yaml: 'stages:\n  a: { run: "true", outs: [a], needs: [c] }\n  b: { run: "true", outs: [b], needs: [a] }\n  c: { run: "true", outs: [c], needs: [b] }\n', expect: ['the stages form a cycle: a → c → b → a'] },
  { name: 'cycle through files', yaml: 'stages:\n  a: { run: "true", deps: [b.txt], outs: [a.txt] }\n  b: { run: "true", deps: [a.txt], outs: [b.txt] }\n', expect: ['the stages form a cycle: a → b → a'] },
  { name: 'duplicate stage keys', yaml: 'stages:\n  a: { run: "true", outs: [a] }\n  a: { run: "true", outs: [b] }\n', expect: ['pipeline.yaml:3:3 duplicate key'] },
  { name: 'duplicate instance ids', yaml: 'stages:\n  a:\n    run: "true"\n    outs: [a]\n    id: same\n  b:\n    run: "true"\n    outs: [b]\n    id: same\n', expect: ['duplicate stage id "same" (from stages "a" and "b")'] },
  { name: 'matrix expands to nothing', yaml: 'stages:\n  a:\n    run: "true"\n    outs: ["a${n}"]\n    matrix:\n      n: []\n', expect: ['pipeline.yaml:5:5 the matrix of stage "a" expands to nothing'] },
  { name: 'matrix excluded to nothing', yaml: 'stages:\n  a:\n    run: "true"\n    outs: ["a${n}"]\n    matrix:\n      n: [1]\n      exclude: [{ n: 1 }]\n', expect: ['expands to nothing (an empty list, or every combination excluded)'] },
  { name: 'bad matrix reference', yaml: 'stages:\n  a:\n    run: "true"\n    outs: ["a${m}"]\n    matrix:\n      m: $model\n', expect: ['pipeline.yaml:6:10 matrix variable "m" must be a list of values or one of $models', '(did you mean "$models"?)'] },
  { name: 'both uses and run', yaml: 'stages:\n  a:\n    uses: score\n    run: "true"\n', expect: ['pipeline.yaml:2:3 stage "a" has both `uses:` and `run:`'] },
  { name: 'neither uses nor run', yaml: 'stages:\n  a:\n    params: {}\n', expect: ['pipeline.yaml:2:3 stage "a" needs `uses: <kind>` (a built-in stage kind) or `run: <command>`'] },
  { name: 'empty stages', yaml: 'stages: {}\n', expect: ['pipeline.yaml:1:1 `stages:` is empty'] },
  { name: 'not a mapping', yaml: '- a\n- b\n', expect: ['the pipeline file must be a mapping'] },
  { name: 'YAML syntax error', yaml: 'stages:\n  a: { run: "true", outs: [a\n', expect: ['pipeline.yaml:', 'YAML syntax error'] },
  { name: 'unknown task', yaml: 'tasks:\n  lambda: {}\nstages:\n  a: { run: "true", outs: [a] }\n', expect: ['pipeline.yaml:2:3 unknown task "lambda" (did you mean "lambada"?)'] },
  { name: 'unknown model in a matrix', yaml: `${MODELS}stages:\n  a:\n    uses: fetch-model\n    matrix:\n      model: [pythia-1b]\n`, expect: ['stage "a": unknown model "pythia-1b" (did you mean "pythia-1b-deduped"?)'] },
  { name: 'unknown var', yaml: 'vars:\n  limit: 5\nstages:\n  a:\n    run: "echo ${limt}"\n    outs: [a]\n', expect: ['pipeline.yaml:5:10 unknown var ${limt} in stage "a" (did you mean "limit"?)'] },
  { name: '--set of an undeclared var', yaml: 'vars:\n  limit: 5\nstages:\n  a: { run: "true", outs: [a] }\n', overrides: { limt: '3' }, expect: ['--set limt=…: there is no var "limt" in vars: (did you mean "limit"?)'] },
  { name: '$revisions without a model variable', yaml: `${MODELS}stages:\n  a:\n    uses: fetch-model\n    matrix:\n      revision: $revisions\n`, expect: ['matrix variable "revision: $revisions" needs a `model:` variable in the same matrix'] },
  { name: 'run stage without outs', yaml: 'stages:\n  a:\n    run: "true"\n', expect: ['run stage "a" declares no `outs:`'] },
  { name: 'bad sha256 pin', yaml: 'tasks:\n  blimp:\n    stimuli: { url: "http://x", sha256: abc }\nstages:\n  a: { run: "true", outs: [a] }\n', expect: ['pipeline.yaml:3:41 tasks.blimp.stimuli.sha256 has an invalid value "abc" (expected 64 lower-case hex digits)'] },
  { name: 'bad dtype', yaml: 'models:\n  - id: a/b\n    dtype: fp8\nstages:\n  a: { run: "true", outs: [a] }\n', expect: ['pipeline.yaml:3:12 models[0].dtype must be one of "fp32", "fp16"'] },
  { name: 'duplicate model short names', yaml: 'models:\n  - id: a/m\n  - id: b/m\nstages:\n  a: { run: "true", outs: [a] }\n', expect: ['model "b/m" has the same short name "m" as models[0]'] },
  { name: 'needs with no agreeing instance', yaml: 'stages:\n  a:\n    run: "true"\n    outs: ["a${n}"]\n    matrix: { n: [1, 2] }\n  b:\n    run: "true"\n    outs: ["b${n}"]\n    matrix: { n: [3] }\n    needs: [a]\n', expect: ['stage "b/3" needs "a", but no instance of "a" has the same n'] },
  { name: 'deps on a built-in kind', yaml: 'stages:\n  a:\n    uses: score\n    deps: [x]\n', expect: ['`deps:`/`outs:` belong to `run:` stages'] },
];

for (const c of cases) {
  test(`bad pipeline: ${c.name}`, () => {
    const msg = errorOf(c.yaml, c.overrides);
    for (const e of c.expect) assert.ok(msg.includes(e), `expected ${JSON.stringify(e)} in:\n${msg}`);
  });
}

test('the CLI prints the located error and exits 2', () => {
  const rig = new Rig('stages:\n  s:\n    uses: socre\n');
  const r = rig.cli(['run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^pipeline\.yaml:3:11 unknown stage kind "socre" \(did you mean "score"\?\)/);
  assert.match(r.stderr, /built-in kinds: [^\n]*\brun\b/, 'the list names run as well');
  const missing = rig.cli(['-f', 'nope.yaml', 'status']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the pipeline file .*nope\.yaml: no such file/);
});
