// No small pipeline file can exhaust the machine (issue 17, item 9): a YAML alias bomb and a matrix
// that would expand past the instance limit are refused at once, located, with exit 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from './rig.js';

function bomb(): string {
  const lines = ['stages:', '  s: { run: "true", outs: [x] }', 'vars:', '  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  const names = 'abcdefghij';
  for (let i = 1; i < names.length; i++) lines.push(`  ${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

// The old behaviour took 100 s and died of a stack overflow: a generous bound, not a sleep.
const QUICK = { timeout: 60_000 };

test('a YAML alias bomb is refused with file:line and exit 2', QUICK, () => {
  const rig = new Rig(bomb());
  for (const verb of ['run', 'status']) {
    const r = rig.cli([verb]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^pipeline\.yaml:5:10 the pipeline file's YAML aliases expand too much \(more than 100 aliased nodes: an alias bomb\)/m, r.stderr);
  }
});

const wide = (n: number, name = 's'): string => `  ${name}:\n    run: "true"\n    outs: ["o-${name}-\${a}\${b}\${c}\${d}\${e}\${f}"]\n    matrix:\n${'abcdef'.split('').map((v) => `      ${v}: [${Array.from({ length: n }, (_, i) => i).join(', ')}]`).join('\n')}\n`;

test('a matrix past the instance limit is refused at once with the count', QUICK, () => {
  const rig = new Rig(`stages:\n${wide(10)}`);
  const r = rig.cli(['status']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^pipeline\.yaml:5:5 stage "s": its matrix would expand to 1,000,000 instances, more than the limit of 100,000 \(--max-stages\)/m, r.stderr);
});

test('the limit counts every stage, and --max-stages sets it', QUICK, () => {
  // 5^6 = 15,625 instances each: 31,250 in all.
  const rig = new Rig(`stages:\n${wide(5, 's')}${wide(5, 't')}`);
  const r = rig.cli(['--max-stages', '20000', 'status']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /the pipeline's stages would expand to 31,250 instances, more than the limit of 20,000 \(--max-stages\)/, r.stderr);
  const small = new Rig(`stages:\n${wide(2, 's')}`);
  assert.equal(small.cli(['--max-stages', '64', 'run', '--dry-run']).code, 0);
  const over = small.cli(['--max-stages', '63', 'run', '--dry-run']);
  assert.equal(over.code, 2);
  assert.match(over.stderr, /would expand to 64 instances, more than the limit of 63/);
  assert.match(small.cli(['--max-stages', 'lots', 'status']).stderr, /--max-stages expects a whole number ≥ 1, got "lots"/);
});

test('a pipeline file nested thousands of levels deep is a located error (exit 2), its line shown clipped', QUICK, () => {
  const rig = new Rig(`stages: ${'['.repeat(20000)}${']'.repeat(20000)}\n`);
  const r = rig.cli(['status']);
  assert.equal(r.code, 2, r.stderr.slice(0, 500));
  assert.match(r.stderr, /^pipeline\.yaml:1:\d+ the pipeline file nests too deeply/m);
  assert.ok(r.stderr.length < 2000, `the message stays short (${r.stderr.length} characters)`);
});
