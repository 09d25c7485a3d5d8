// Errors about stimuli name the user's file, not the store object the stage read; an empty
// stimuli file is an error (issue 12, "Damage never wedges or lies").
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scoreStagesYaml } from '../support/score-stages.js';
import { REPO, Rig } from '../engine/rig.js';

const SHARED = join(REPO, '..', 'shared', 'data', 'stimuli', 'crt', 'stimuli.csv');

const PIPELINE = `models:
  - id: demo/demo-gpt-small
    build: { seed: 1, nEmbd: 32 }
tasks:
  crt: { conditions: [crt1] }
${scoreStagesYaml({ model: 'build-model', conditions: true, params: '{ limit: 2 }' })}`;

function mirror(r: Rig, csv: string): string {
  const dir = join(r.dir, 'mirror');
  mkdirSync(join(dir, 'crt'), { recursive: true });
  writeFileSync(join(dir, 'crt', 'stimuli.csv'), csv);
  return dir;
}

test('a stimuli file missing a column: the message names the --stimuli-dir file, not cache/objects/…', () => {
  const r = new Rig(PIPELINE);
  const lines = readFileSync(SHARED, 'utf8').trim().split('\n').slice(0, 4);
  const drop = lines[0]!.split(',').indexOf('intuitive');
  assert.ok(drop > 0);
  // Drop the column (these rows quote no commas in the cells before it).
  const csv = lines.map((l) => { const c = l.split(','); c.splice(drop, 1); return c.join(','); }).join('\n') + '\n';
  const dir = mirror(r, csv);
  const res = r.cli(['--stimuli-dir', dir, 'run']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const out = res.stdout + res.stderr;
  assert.match(out, new RegExp(`${join(dir, 'crt', 'stimuli.csv').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: missing column\\(s\\) intuitive`));
  assert.doesNotMatch(out, /cache\/objects\//);
});

test('an empty stimuli file is an error naming it', () => {
  const r = new Rig(PIPELINE);
  const dir = mirror(r, '');
  const res = r.cli(['--stimuli-dir', dir, 'run']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout + res.stderr, /mirror\/crt\/stimuli\.csv: empty stimuli file \(task crt\)/);
});
