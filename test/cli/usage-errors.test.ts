// Usage errors, param typos and refused values through the real CLI: the exact message, exit 2,
// and nothing run or loaded before the error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { REPO, Rig } from '../engine/rig.js';

const SHARED = join(REPO, '..', 'shared');
const TINY = join(SHARED, 'models', 'tiny-gpt2');
const STIMULI = join(SHARED, 'data', 'stimuli');

test('usage errors exit 2: unknown command, unknown option, score without --model, a bad --format', () => {
  const rig = new Rig('version: 1\nstages:\n  a: { run: "true", outs: [a] }\n');
  const cases: [string[], string][] = [
    [['bogus'], "error: unknown command 'bogus'"],
    [['run', '--bogus'], "error: unknown option '--bogus'"],
    [['score', '--task', 'crt'], "error: required option '--model <hub id | folder>' not specified"],
    [['dag', '--format', 'bogus'], "error: option '--format <format>' argument 'bogus' is invalid. Allowed choices are text, dot, mermaid."],
    [['run', '--jobs', '0'], 'error: --jobs expects a whole number ≥ 1, got "0"'],
  ];
  for (const [args, message] of cases) {
    const r = rig.cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(message), `${args.join(' ')}:\n${r.stderr}`);
  }
  // Help is not an error.
  assert.equal(rig.cli(['--help']).code, 0);
  assert.equal(rig.cli(['run', '--help']).code, 0);
  const version = rig.cli(['--version']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^lm-task-demands \d+\.\d+\.\d+\n$/);
});

test('pipeline score: a param typo, a bad --limit and an unknown condition stop before anything loads (exit 2, said once)', () => {
  const rig = new Rig();
  const base = ['--stimuli-dir', STIMULI, 'score', '--model', TINY, '--task', 'crt', '--condition', 'crt2'];
  const typo = rig.cli([...base, '--param', 'limt=2']);
  assert.equal(typo.code, 2, typo.stderr);
  assert.equal(typo.stderr, 'error: --param limt=2: kind score has no param "limt" (did you mean "limit"?); its params: limit, max_new_tokens, plain, force_greedy, batch_tokens, chunk_requests, parts, request_cache\n');
  // --set k=v is the same as --param here, and the message names the flag the user typed.
  const viaSet = rig.cli(['--set', 'force_greedyy=true', ...base]);
  assert.equal(viaSet.code, 2);
  assert.match(viaSet.stderr, /^error: --set force_greedyy=true: kind score has no param "force_greedyy" \(did you mean "force_greedy"\?\)/);
  const abc = rig.cli([...base, '--limit', 'abc']);
  assert.equal(abc.code, 2, abc.stderr);
  assert.equal(abc.stderr, 'error: --limit abc: param limit of kind score must be a whole number ≥ 0, got "abc" (score only the first n items of the task (0: every item))\n');
  const neg = rig.cli([...base, '--limit', '-1']);
  assert.equal(neg.code, 2, neg.stderr);
  assert.match(neg.stderr, /param limit of kind score must be a whole number ≥ 0, got "-1"/);
  const bool = rig.cli([...base, '--param', 'plain=maybe']);
  assert.equal(bool.code, 2);
  assert.match(bool.stderr, /^error: --param plain=maybe: param plain of kind score must be true or false, got "maybe"/);
  const crt4 = rig.cli(['--stimuli-dir', STIMULI, 'score', '--model', TINY, '--task', 'crt', '--condition', 'crt4']);
  assert.equal(crt4.code, 2);
  assert.match(crt4.stderr, /^error: --condition crt4: unknown crt condition \(did you mean "crt1"\?\); crt has conditions crt1, crt2, crt3/);
  const task = rig.cli(['score', '--model', TINY, '--task', 'lamdaba']);
  assert.equal(task.code, 2);
  assert.match(task.stderr, /^error: unknown task "lamdaba" \(did you mean "lambada"\?\)/);
  // Nothing was written or loaded: no generated pipeline, no store, no output.
  for (const p of ['.pipeline-score', 'cache', 'output']) assert.equal(rig.exists(p), false, p);
});

test('pipeline score --help lists the score kind\'s params with types, defaults and docs', () => {
  const r = new Rig().cli(['score', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Params of the score kind/);
  assert.match(r.stdout, /  limit=<integer> +score only the first n items of the task \(0: every item\); a whole number ≥ 0 \(default 0\)/);
  assert.match(r.stdout, /  force_greedy=<boolean> +decode greedily/);
});

const SCORE_PIPELINE = (params: string, tasks = 'crt: {}'): string => `version: 1
models:
  - id: tiny
    path: ${TINY}
tasks:
  ${tasks}
stages:
  score:
    uses: score
    matrix: { task: $tasks, condition: $conditions, model: $models }
    params: ${params}
`;

test('pipeline.yaml: undeclared params and refused values are located errors at expansion, exit 2, before anything runs', () => {
  const cases: [string, string, string[]][] = [
    ['typo', SCORE_PIPELINE('{ limt: 2 }'), ['pipeline.yaml:11:15 stage "score": kind score has no param "limt" (did you mean "limit"?); its params: limit,', '11 |     params: { limt: 2 }', '   |               ^^^^']],
    ['negative limit', SCORE_PIPELINE('{ limit: -3 }'), ['pipeline.yaml:11:22 stage "score": param limit of kind score must be a whole number ≥ 0, got -3', '^^']],
    ['text for a number', SCORE_PIPELINE('{ max_new_tokens: lots }'), ['pipeline.yaml:11:31 stage "score": param max_new_tokens of kind score must be a whole number ≥ 1, got "lots"']],
    ['unknown crt condition', SCORE_PIPELINE('{}', 'crt: { conditions: [crt2, crt4] }'), ['pipeline.yaml:6:29 unknown crt condition "crt4" (did you mean "crt1"?); crt has conditions crt1, crt2, crt3']],
  ];
  for (const [name, yaml, expect] of cases) {
    const rig = new Rig(yaml);
    const r = rig.cli(['run']);
    assert.equal(r.code, 2, `${name}: ${r.stderr}${r.stdout}`);
    for (const e of expect) assert.ok(r.stderr.includes(e), `${name}: expected ${JSON.stringify(e)} in\n${r.stderr}`);
    // Reported once, although the declaration expands to several instances.
    assert.equal(r.stderr.split(expect[0]!).length - 1, 1, `${name}: said once\n${r.stderr}`);
    assert.equal(rig.exists('output'), false, name);
    assert.equal(rig.exists('cache/runs'), false, `${name}: nothing ran`);
  }
});

test('plugins: a missing path and a module that throws are located at their plugins: entry, exit 2', () => {
  const rig = new Rig('version: 1\nplugins:\n  - ./nope.js\n  - ./boom.js\nstages:\n  a: { run: "true", outs: [a] }\n');
  rig.write('boom.js', 'throw new Error("boom at import");\n');
  const r = rig.cli(['status']);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`pipeline.yaml:3:5 plugin ${join(rig.dir, 'nope.js')} does not exist`), r.stderr);
  // The missing file is reported first (parse time); once it is gone, the throwing one is located.
  rig.write('pipeline.yaml', 'version: 1\nplugins:\n  - ./boom.js\nstages:\n  a: { run: "true", outs: [a] }\n');
  const t = rig.cli(['status']);
  assert.equal(t.code, 2, t.stderr);
  assert.ok(t.stderr.includes(`pipeline.yaml:3:5 plugin ${join(rig.dir, 'boom.js')}: cannot be loaded: boom at import`), t.stderr);
});
