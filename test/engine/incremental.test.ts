// Incremental semantics, tested by counting (STYLE.md 11): run, change one thing, run again, and
// assert exactly which stages executed and what `status` said about them.
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from './rig.js';

// prep → (train/a, train/b) → report; `solo` is independent. Every command logs its stage name.
const PIPELINE = `vars:
  scale: 2
stages:
  prep:
    run: echo prep >> calls.log && cat input.txt > prep.txt
    deps: [input.txt]
    outs: [prep.txt]
  train:
    matrix:
      variant: [a, b]
    run: echo train-\${variant} >> calls.log && (cat prep.txt; echo \${variant} \${scale}) > train-\${variant}.txt
    deps: [prep.txt]
    outs: ["train-\${variant}.txt"]
  report:
    run: echo report >> calls.log && cat train-a.txt train-b.txt > report.txt
    deps: [train-a.txt, train-b.txt]
    outs: [report.txt]
  solo:
    run: echo solo >> calls.log && echo solo > solo.txt
    outs: [solo.txt]
`;

function rig(): Rig {
  const r = new Rig(PIPELINE);
  r.write('input.txt', 'hello\n');
  return r;
}

function runOk(r: Rig, args: string[] = []): string[] {
  r.resetCalls();
  const res = r.cli(['run', ...args]);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  return r.calls().sort();
}

function status(r: Rig, args: string[] = []): Map<string, { state: string; reasons: string[] }> {
  const res = r.cli(['status', '--json', ...args]);
  assert.equal(res.code, 0, res.stderr);
  return new Map((JSON.parse(res.stdout) as { id: string; state: string; reasons: string[] }[]).map((x) => [x.id, x]));
}

test('first run runs everything; second run runs nothing and says so', () => {
  const r = rig();
  assert.deepEqual(runOk(r), ['prep', 'report', 'solo', 'train-a', 'train-b']);
  r.resetCalls();
  const second = r.cli(['run']);
  assert.equal(second.code, 0);
  assert.deepEqual(r.calls(), []);
  assert.match(second.stdout, /Nothing to do: all 5 stages are up to date/);
  assert.equal(r.read('report.txt'), 'hello\na 2\nhello\nb 2\n');
  for (const s of status(r).values()) assert.equal(s.state, 'fresh');
});

test('changing a var re-runs exactly the stages downstream of it, and status says which param changed', () => {
  const r = rig();
  runOk(r);
  const st = status(r, ['--set', 'scale=3']);
  assert.equal(st.get('train/a')!.state, 'stale');
  assert.ok(st.get('train/a')!.reasons.some((x) => x.includes('param cmd')), JSON.stringify(st.get('train/a')));
  assert.equal(st.get('report')!.state, 'waiting');
  assert.equal(st.get('prep')!.state, 'fresh');
  assert.equal(st.get('solo')!.state, 'fresh');
  assert.deepEqual(runOk(r, ['--set', 'scale=3']), ['report', 'train-a', 'train-b']);
});

test('touching a file without changing its content re-runs nothing; changing it re-runs its dependents', () => {
  const r = rig();
  runOk(r);
  const later = new Date(Date.now() + 5000);
  utimesSync(join(r.dir, 'input.txt'), later, later);
  assert.deepEqual(runOk(r), []);
  r.write('input.txt', 'changed\n');
  const st = status(r);
  assert.equal(st.get('prep')!.state, 'stale');
  assert.match(st.get('prep')!.reasons.join(), /dependency input\.txt: [0-9a-f]{10} → [0-9a-f]{10}/);
  assert.deepEqual(runOk(r), ['prep', 'report', 'train-a', 'train-b']);
});

test('an upstream that re-runs but writes the same bytes leaves its dependents fresh', () => {
  const r = rig();
  runOk(r);
  // A different command with the same output: prep re-runs, nothing downstream does.
  r.write('pipeline.yaml', PIPELINE.replace('cat input.txt > prep.txt', 'cat < input.txt > prep.txt'));
  assert.deepEqual(runOk(r), ['prep']);
});

test('--only selects exactly the named stages plus what they need', () => {
  const r = rig();
  assert.deepEqual(runOk(r, ['--only', 'train/a']), ['prep', 'train-a']);
  assert.deepEqual(runOk(r, ['--only', 'solo']), ['solo']);
  assert.deepEqual(runOk(r, ['--only', 'train/*']), ['train-b']);
  assert.deepEqual(runOk(r, ['report']), ['report']);
  r.resetCalls();
  const dry = r.cli(['run', '--dry-run', '--force', '--only', 'report']);
  assert.doesNotMatch(dry.stdout, /would run prep/);
  assert.match(dry.stdout, /would run report\s+\(forced/);
  assert.deepEqual(r.calls(), []);
});

test('changing a stage kind implementation re-runs its instances and status names the code change', () => {
  const kindSrc = (factor: number): string => `
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  name: 'multiply',
  description: 'test kind',
  isolation: 'inline',
  outputs: () => [{ name: 'out', type: 'file', materialize: 'out-' + 'x' + '.txt' }],
  async execute(ctx) {
    appendFileSync(join(ctx.spec.projectDir, 'calls.log'), 'multiply\\n');
    writeFileSync(join(ctx.outDir, 'out'), String(${factor} * Number(ctx.instance.params.n)));
  },
};`;
  const r = new Rig(`plugins: [./multiply.mjs]
stages:
  m:
    uses: multiply
    params: { n: 7 }
  after:
    run: echo after >> calls.log && cat out-x.txt > after.txt
    deps: [out-x.txt]
    outs: [after.txt]
`);
  r.write('multiply.mjs', kindSrc(2));
  assert.deepEqual(runOk(r), ['after', 'multiply']);
  assert.equal(r.read('after.txt'), '14');
  r.write('multiply.mjs', kindSrc(3));
  const st = status(r);
  assert.match(st.get('m')!.reasons.join(), /code of kind multiply changed/);
  assert.deepEqual(runOk(r), ['after', 'multiply']);
  assert.equal(r.read('after.txt'), '21');
  assert.deepEqual(runOk(r), []);
});

test('a failed stage is reported, its dependents do not run, --keep-going runs the rest, and the next run resumes', () => {
  const r = new Rig(`stages:
  bad:
    run: echo bad >> calls.log && test -f ok.flag && echo ok > bad.txt
    outs: [bad.txt]
  after:
    run: echo after >> calls.log && cat bad.txt > after.txt
    deps: [bad.txt]
    outs: [after.txt]
  other:
    run: sleep 0.3 && echo other >> calls.log && echo x > other.txt
    outs: [other.txt]
`);
  r.resetCalls();
  const res = r.cli(['run', '--keep-going', '--jobs', '1']);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /✗ bad: command exited with code 1/);
  assert.match(res.stdout, /- after not run: upstream bad failed/);
  assert.deepEqual(r.calls().sort(), ['bad', 'other']);
  const st = status(r);
  assert.equal(st.get('bad')!.state, 'failed');
  assert.match(st.get('bad')!.reasons[0]!, /failed last time: command exited with code 1/);
  r.write('ok.flag', '');
  assert.deepEqual(runOk(r), ['after', 'bad']);
});
