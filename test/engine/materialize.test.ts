// The working tree the engine writes: two pipeline files in one folder never overwrite each other's
// results, results of removed stages go (unless edited), and hand edits are counted in the summary,
// in --dry-run and in status. Tested by counting files and reading what the CLI says.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { Rig } from './rig.js';

const writer = (text: string): string => `stages:
  make:
    run: echo ${text} >> calls.log && mkdir -p out && echo ${text} > out/shared.txt
    outs: [out/shared.txt]
`;

test('a second pipeline file in the folder may not overwrite what the first wrote; the error names both and the path', () => {
  const r = new Rig();
  r.write('a.yaml', writer('from-a'));
  r.write('b.yaml', writer('from-b'));
  const a = r.cli(['run', '-f', 'a.yaml']);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  const b = r.cli(['run', '-f', 'b.yaml']);
  assert.equal(b.code, 2, b.stdout);
  assert.match(b.stderr, /b\.yaml:\d+:\d+ /); // points at the stage in the file that would overwrite
  assert.match(b.stderr, /out\/shared\.txt was written by a\.yaml; stage make of b\.yaml would overwrite it/);
  assert.match(b.stderr, /its own folder/);
  assert.equal(r.read('out/shared.txt'), 'from-a\n');
  assert.deepEqual(r.calls(), ['from-a'], 'b.yaml ran nothing');
  // The dry run refuses the same way; the owner itself is unaffected.
  assert.equal(r.cli(['run', '-f', 'b.yaml', '--dry-run']).code, 2);
  assert.match(r.cli(['run', '-f', 'a.yaml']).stdout, /Nothing to do/);
  // Deleting the file (the documented way out) lets b.yaml write it, and then b.yaml owns it.
  rmSync(`${r.dir}/out/shared.txt`);
  const b2 = r.cli(['run', '-f', 'b.yaml']);
  assert.equal(b2.code, 0, b2.stderr + b2.stdout);
  assert.equal(r.read('out/shared.txt'), 'from-b\n');
  const a2 = r.cli(['run', '-f', 'a.yaml']);
  assert.equal(a2.code, 2);
  assert.match(a2.stderr, /written by b\.yaml; stage make of a\.yaml/);
});

test('a pipeline file that was renamed or deleted gives up its files to the next writer', () => {
  const r = new Rig();
  r.write('old.yaml', writer('old'));
  assert.equal(r.cli(['run', '-f', 'old.yaml']).code, 0);
  rmSync(`${r.dir}/old.yaml`);
  r.write('new.yaml', writer('new'));
  const n = r.cli(['run', '-f', 'new.yaml']);
  assert.equal(n.code, 0, n.stderr + n.stdout);
  assert.equal(r.read('out/shared.txt'), 'new\n');
});

const MATRIX = (variants: string): string => `stages:
  make:
    matrix: { v: [${variants}] }
    run: echo \${v} >> calls.log && mkdir -p res/\${v} && echo \${v} > res/\${v}/out.txt
    outs: ["res/\${v}/out.txt"]
  keep:
    run: echo keep >> calls.log && echo keep > keep.txt
    outs: [keep.txt]
`;

test('results of removed stages are removed when unchanged; an edited one is kept and named in a warning', () => {
  const r = new Rig(MATRIX('a, b, c'));
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(readdirSync(`${r.dir}/res`).sort(), ['a', 'b', 'c']);
  r.write('res/c/out.txt', 'my notes\n');
  r.write('pipeline.yaml', MATRIX('a'));
  // The dry run says what would go and touches nothing.
  const dry = r.cli(['run', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would remove 1 result file of stages no longer in pipeline\.yaml, unchanged since written: res\/b\/out\.txt/);
  assert.match(dry.stdout, /will keep res\/c\/out\.txt: its stage make\/c is no longer in pipeline\.yaml, but the file was edited/);
  assert.ok(r.exists('res/b/out.txt'));
  r.resetCalls();
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.deepEqual(r.calls(), [], 'removing results runs nothing');
  assert.match(run.stdout, /warning: removed 1 result file of stages no longer in pipeline\.yaml, unchanged since written: res\/b\/out\.txt/);
  assert.match(run.stdout, /warning: kept res\/c\/out\.txt: its stage make\/c is no longer in pipeline\.yaml/);
  assert.ok(!r.exists('res/b'), 'the folder left empty goes too');
  assert.equal(r.read('res/c/out.txt'), 'my notes\n');
  assert.equal(r.read('res/a/out.txt'), 'a\n');
  assert.equal(r.read('keep.txt'), 'keep\n');
  // Said once: the kept file is the user's now.
  const again = r.cli(['run']);
  assert.doesNotMatch(again.stdout, /warning/);
  assert.match(again.stdout, /Nothing to do/);
  // Bringing the stage back writes its result again (from the cache: nothing runs).
  r.write('pipeline.yaml', MATRIX('a, b'));
  r.resetCalls();
  assert.equal(r.cli(['run']).code, 0);
  assert.deepEqual(r.calls(), []);
  assert.equal(r.read('res/b/out.txt'), 'b\n');
});

test('hand edits of materialised outputs are counted in --dry-run, status and the run summary', () => {
  const r = new Rig(MATRIX('a, b'));
  assert.equal(r.cli(['run']).code, 0);
  r.write('res/a/out.txt', 'edited\n');
  r.write('keep.txt', 'edited too\n');
  const dry = r.cli(['run', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would restore res\/a\/out\.txt \(edited by hand/);
  assert.match(dry.stdout, /All 3 stages are up to date; 2 edited outputs will be restored: (res\/a\/out\.txt, keep\.txt|keep\.txt, res\/a\/out\.txt)\./);
  assert.doesNotMatch(dry.stdout, /Nothing to do/);
  assert.equal(r.read('keep.txt'), 'edited too\n', 'a dry run restores nothing');
  const st = r.cli(['status']);
  assert.match(st.stdout, /3 stages: 3 fresh; 2 edited outputs will be restored by the next run: (res\/a\/out\.txt, keep\.txt|keep\.txt, res\/a\/out\.txt)$/m);
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^restored keep\.txt \(your edit kept as keep\.txt\.edited-/m);
  assert.match(run.stdout, /All 3 stages are up to date \(.*\); 2 edited outputs restored/);
  assert.equal(r.read('keep.txt'), 'keep\n');
  assert.equal(readdirSync(r.dir).filter((f) => f.startsWith('keep.txt.edited-')).length, 1);
  assert.match(r.cli(['run']).stdout, /Nothing to do/);
});
