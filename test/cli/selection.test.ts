// Selections through the CLI: a selector that matches nothing is an error with the closest names
// (exit 2) for run, status and dag alike; revisions are selectable by name, glob and model@revision;
// globs stop at `/` unless `**`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from '../engine/rig.js';

const PIPELINE = `version: 1
models:
  - id: allenai/OLMo-7B
    revisions: [step10000-tokens44B, step31000-tokens137B]
  - id: demo-gpt-large
    revisions: [step100-demo]
tasks:
  lambada: {}
  crt: { conditions: [crt1] }
stages:
  s:
    run: echo \${model}\${revision}\${task} >> calls.log && mkdir -p out && echo x > "out/\${model}@\${revision}-\${task}.txt"
    outs: ["out/\${model}@\${revision}-\${task}.txt"]
    matrix: { task: $tasks, model: $models, revision: $revisions }
`;

function ids(rig: Rig, args: string[]): string[] {
  const r = rig.cli(['dag', ...args]);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith(' ')).map((l) => l.split('  ')[0]!);
}

test('an --only or a target that matches nothing: exit 2 with the closest names, in run, status and dag', () => {
  const rig = new Rig(PIPELINE);
  for (const cmd of ['run', 'status', 'dag']) {
    const r = rig.cli([cmd, '--only', 'lamdaba']);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}${r.stdout}`);
    assert.equal(
      r.stderr,
      'error: --only lamdaba matches no stage (did you mean "lambada"?); tasks: lambada, crt; models: OLMo-7B, demo-gpt-large; ' +
        'revisions: step10000-tokens44B, step31000-tokens137B, step100-demo; kinds: run\n',
      cmd,
    );
  }
  const model = rig.cli(['status', '--only', 'OLMo-7', '--json']);
  assert.equal(model.code, 2);
  assert.match(model.stderr, /^error: --only OLMo-7 matches no stage \(did you mean "OLMo-7B"\?\)/);
  const target = rig.cli(['run', 's/lambada/OLMo-7B@step10000-tokens4B']);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /^error: target "s\/lambada\/OLMo-7B@step10000-tokens4B" matches no stage id \(did you mean "s\/lambada\/OLMo-7B@step10000-tokens44B"\?\)/);
  // Each selector matches something, but not the same stages.
  const both = rig.cli(['dag', '--only', 'crt', 's/lambada']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /no stage matches target "s\/lambada" and --only crt together/);
  assert.equal(rig.exists('calls.log'), false, 'nothing ran');
});

test('revisions are selectable: model@revision, the revision alone, a revision glob', () => {
  const rig = new Rig(PIPELINE);
  const olmo10k = ['s/lambada/OLMo-7B@step10000-tokens44B', 's/crt/OLMo-7B@step10000-tokens44B'];
  assert.deepEqual(ids(rig, ['--only', 'OLMo-7B@step10000-tokens44B']), olmo10k);
  assert.deepEqual(ids(rig, ['--only', 'allenai/OLMo-7B@step10000-tokens44B']), olmo10k);
  assert.deepEqual(ids(rig, ['--only', 'step10000*']), olmo10k);
  assert.deepEqual(ids(rig, ['--only', 'demo-gpt-large@step100-demo']), ['s/lambada/demo-gpt-large@step100-demo', 's/crt/demo-gpt-large@step100-demo']);
  assert.deepEqual(ids(rig, ['--only', 'step100-demo']), ['s/lambada/demo-gpt-large@step100-demo', 's/crt/demo-gpt-large@step100-demo']);
  // A model still selects all of its revisions and its final weights; a hub-id glob crosses the org's "/".
  assert.equal(ids(rig, ['--only', 'OLMo-7B']).length, 6);
  assert.equal(ids(rig, ['--only', 'allenai/*']).length, 6);
  // And run runs exactly the selection.
  const r = rig.cli(['run', '--only', 'step100-demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rig.read('calls.log').trim().split('\n').sort(), ['demo-gpt-largestep100-democrt', 'demo-gpt-largestep100-demolambada']);
});

test('globs: * stops at "/", ** crosses it; the error says so', () => {
  const rig = new Rig(PIPELINE);
  const one = rig.cli(['dag', 's/*']);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /target "s\/\*" matches no stage id \(closest: [^)]*\) \(in a glob `\*` stops at `\/`: use `\*\*` to match across it, e.g. score\/\*\*\)/);
  assert.equal(ids(rig, ['s/**']).length, 10);
  // A glob with a typo names the closest stage ids, as a plain name does.
  const typo = rig.cli(['dag', '--only', 's/lambda*']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--only s\/lambda\* matches no stage \(closest: s\/lambada\/[^,)]+, s\/lambada\/[^,)]+, s\/lambada\/[^)]+\);/);
  const typoTarget = rig.cli(['dag', 's/lambda*/**']);
  assert.match(typoTarget.stderr, /target "s\/lambda\*\/\*\*" matches no stage id \(closest: s\/lambada\//);
  assert.equal(ids(rig, ['s/*/OLMo-7B']).length, 2);
  const help = rig.cli(['run', '--help']);
  assert.match(help.stdout, /\* and \? never match "\/" and \*\* does/);
});
