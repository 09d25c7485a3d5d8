// Declared paths never destroy data (issue 12, item 9): outs that are the project, lie outside it,
// escape it through a symlink, or contain one of the stage's own deps are located errors before
// anything runs — for `run` and `--dry-run` alike — and every file is still there afterwards.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from './rig.js';

/** A project inside a parent folder that also holds a victim folder and file. */
function setup(stage: string): { rig: Rig; outside: string } {
  const parent = mkdtempSync(join(tmpdir(), 'ltd-paths-'));
  const outside = join(parent, 'victimdir');
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious.txt'), 'keep me\n');
  const rig = new Rig();
  // Put the project beside the victim: ../victimdir from the project is the victim.
  const dir = join(parent, 'project');
  mkdirSync(dir);
  Object.defineProperty(rig, 'dir', { value: dir });
  rig.write('.git/HEAD', 'ref: refs/heads/main\n');
  rig.write('data/in.csv', 'a,b\n1,2\n');
  rig.write('pipeline.yaml', `stages:\n  s:\n${stage}`);
  return { rig, outside };
}

function assertIntact(rig: Rig, outside: string): void {
  assert.ok(rig.exists('.git/HEAD'), '.git survives');
  assert.ok(rig.exists('data/in.csv'), 'the raw input survives');
  assert.ok(rig.exists('pipeline.yaml'), 'the pipeline file survives');
  assert.equal(readFileSync(join(outside, 'precious.txt'), 'utf8'), 'keep me\n', 'the sibling folder survives');
}

const cases: { name: string; stage: (outside: string) => string; expect: RegExp }[] = [
  { name: 'the project folder itself', stage: () => '    run: "true"\n    outs: [.]\n', expect: /^pipeline\.yaml:4:12 stage "s": output "\." is the project folder itself/m },
  { name: 'a sibling folder through ..', stage: () => '    run: "true"\n    outs: [../victimdir]\n', expect: /^pipeline\.yaml:4:12 stage "s": output "\.\.\/victimdir" is outside the project folder/m },
  { name: 'an absolute path', stage: (o) => `    run: "true"\n    outs: [${join(o, 'precious.txt')}]\n`, expect: /^pipeline\.yaml:4:12 stage "s": output ".*precious\.txt" is an absolute path/m },
  { name: 'an out that contains a dep', stage: () => '    run: "true"\n    deps: [data/in.csv]\n    outs: [data/]\n', expect: /^pipeline\.yaml:5:12 stage "s": output "data\/" contains the stage's own dependency "data\/in\.csv"/m },
  { name: 'the pipeline file as an out', stage: () => '    run: "true"\n    outs: [pipeline.yaml]\n', expect: /^pipeline\.yaml:4:12 stage "s": output "pipeline\.yaml" contains the pipeline file/m },
  { name: 'an out over the store', stage: () => '    run: "true"\n    outs: [cache/]\n', expect: /^pipeline\.yaml:4:12 stage "s": output "cache\/" overlaps the store/m },
  { name: 'a dep outside the project', stage: () => '    run: "true"\n    deps: [../victimdir/precious.txt]\n    outs: [x.txt]\n', expect: /^pipeline\.yaml:4:12 stage "s": dependency "\.\.\/victimdir\/precious\.txt" is outside the project folder/m },
];

for (const c of cases) {
  test(`declared paths: ${c.name} is a located error for run and --dry-run; nothing is deleted`, () => {
    const { rig, outside } = setup('');
    rig.write('pipeline.yaml', `stages:\n  s:\n${c.stage(outside)}`);
    for (const args of [['run', '--dry-run'], ['run'], ['status']]) {
      const r = rig.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')} exits 2:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.expect, `${args.join(' ')}:\n${r.stderr}`);
    }
    assertIntact(rig, outside);
  });
}

test('declared paths: an out that escapes through a symlink is refused; the target survives', () => {
  const { rig, outside } = setup('');
  symlinkSync(outside, join(rig.dir, 'link'));
  rig.write('pipeline.yaml', 'stages:\n  s:\n    run: "true"\n    outs: [link/precious.txt]\n');
  const r = rig.cli(['run']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /output "link\/precious\.txt" leads outside the project folder through a symbolic link/);
  assert.ok(existsSync(join(outside, 'precious.txt')));
  assertIntact(rig, outside);
});

test('declared paths: an ordinary out inside the project still runs', () => {
  const { rig, outside } = setup('');
  rig.write('pipeline.yaml', 'stages:\n  s:\n    run: "cat data/in.csv > out/copy.csv"\n    deps: [data/in.csv]\n    outs: [out/copy.csv]\n');
  mkdirSync(join(rig.dir, 'out'));
  const r = rig.cli(['run']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(rig.read('out/copy.csv'), 'a,b\n1,2\n');
  assertIntact(rig, outside);
});
