// Values are data, never shell syntax (issue 17, item 2): a var (--set) or a matrix value
// interpolated into a `run:` command reaches bash as one word, intact, in every quoting context the
// command puts it in — a hub's branch name such as `step1$(touch${IFS}x)` runs nothing.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { quote } from 'zx';
import { quoteForCommand } from '../../src/engine/command-values.js';
import { Rig } from './rig.js';

const HOSTILE = [
  'step1$(touch${IFS}pwned-a)',
  'step2`touch pwned-b`',
  'x; touch pwned-c',
  'a && touch pwned-d',
  "it's \"quoted\" \\ $HOME",
  'two words\nand a line',
  '*',
  '',
];

// The command puts each value unquoted, inside double quotes and inside single quotes, and checks
// that it arrived as exactly one argument. `i` names the instance (a plain value).
const CMD = [
  'set -- ${v}; echo $# > n-${i}.txt',
  'printf %s ${v} > plain-${i}.txt',
  'printf %s "${v}" > dq-${i}.txt',
  "printf %s '${v}' > sq-${i}.txt",
  'printf %s "[$(printf %s ${v})]" > sub-${i}.txt',
  'printf %s ${w} > w-${i}.txt',
].join(' && ');

test('run: a hostile var or matrix value reaches the command as one intact word and runs nothing', () => {
  const include = HOSTILE.map((v, i) => ({ i, v }));
  // JSON is YAML: no escaping of the hostile values by hand.
  const pipeline = {
    vars: { w: 'plain' },
    stages: {
      s: {
        run: CMD,
        id: 's/${i}',
        matrix: { include },
        outs: ['n-${i}.txt', 'plain-${i}.txt', 'dq-${i}.txt', 'sq-${i}.txt', 'sub-${i}.txt', 'w-${i}.txt'],
      },
    },
  };
  const rig = new Rig(JSON.stringify(pipeline, null, 1));
  const w = 'w $(touch pwned-w) `touch pwned-w2` ; touch pwned-w3';
  const r = rig.cli(['run', '--set', `w=${w}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(readdirSync(rig.dir).filter((f) => f.startsWith('pwned')), [], 'no command from a value ran');
  HOSTILE.forEach((v, i) => {
    assert.equal(rig.read(`n-${i}.txt`), '1\n', `value ${JSON.stringify(v)} is one argument`);
    for (const f of ['plain', 'dq', 'sq']) assert.equal(rig.read(`${f}-${i}.txt`), v, `${f}: value ${JSON.stringify(v)} arrives intact`);
    assert.equal(rig.read(`sub-${i}.txt`), `[${v.replace(/\n+$/, '')}]`, `inside $(…): ${JSON.stringify(v)}`);
    assert.equal(rig.read(`w-${i}.txt`), w, 'a --set var arrives intact');
  });
});

test('run: a plain value is written into the command as it is (readable commands, unchanged keys)', () => {
  const q = quoteForCommand('printf %s ${a} "${a}" \'${a}\'', { a: 'step10000-tokens44B' }, () => assert.fail('unknown'));
  assert.equal(q.cmd, 'printf %s step10000-tokens44B "step10000-tokens44B" \'step10000-tokens44B\'');
  assert.deepEqual(q.env, {});
  // Plain means what zx leaves unquoted.
  for (const v of ['step10000-tokens44B', 'EleutherAI/pythia-1b', 'a=b', '1.5', 'x@y:z']) assert.equal(quote(v), v);
});

test('run: `eval ${x}` is how a command asks for a value as shell syntax', () => {
  const pipeline = { vars: { x: 'echo one > e.txt; echo two >> e.txt' }, stages: { s: { run: 'eval ${x}', outs: ['e.txt'] } } };
  const rig = new Rig(JSON.stringify(pipeline));
  const r = rig.cli(['run']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(rig.read('e.txt'), 'one\ntwo\n');
});
