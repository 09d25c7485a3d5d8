// The run record carries its stage's fingerprint (one file per run); a store written before, with
// the fingerprint in a file of its own beside the record, still reads: status explains staleness
// from it, and run, inspect and verify work on it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHAIN } from '../engine/chain-fixture.js';
import { Rig } from '../engine/rig.js';
import { keyOf, toOldFormat } from './helpers.js';

function runFiles(r: Rig): string[] {
  return readdirSync(join(r.dir, 'cache', 'runs'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

/** Stage id → its verdict's state and reasons, from status --json. */
function verdicts(r: Rig): Record<string, string> {
  const st = r.cli(['status', '--json']);
  assert.equal(st.code, 0, st.stderr);
  const rows = JSON.parse(st.stdout) as { id: string; verdict: { state: string; reasons?: { reason: string }[] } }[];
  return Object.fromEntries(rows.map((x) => [x.id, [x.verdict.state, ...(x.verdict.reasons ?? []).map((y) => y.reason)].join(':')]));
}

test('a run record carries its fingerprint: one file per run, and why-stale reads it', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  const files = runFiles(r);
  assert.equal(files.length, 3, files.join(', '));
  assert.ok(files.every((f) => /^[0-9a-f]{64}\.json$/.test(f)), `no fingerprint file beside a record: ${files.join(', ')}`);
  const key = keyOf(r, 'three');
  const rec = JSON.parse(readFileSync(join(r.dir, 'cache', 'runs', key.slice(0, 2), `${key}.json`), 'utf8')) as { stageId: string; fingerprint: { kind: string; inputs: Record<string, unknown> } };
  assert.equal(rec.stageId, 'three');
  assert.equal(rec.fingerprint.kind, 'run');
  assert.ok(rec.fingerprint.inputs['two'], 'the fingerprint names the upstream stage');
  const inspect = r.cli(['inspect', 'three', '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const shown = JSON.parse(inspect.stdout) as { stageId: string; fingerprint: { kind: string; inputs: Record<string, unknown> } };
  assert.equal(shown.stageId, 'three');
  assert.ok(shown.fingerprint.inputs['two'], 'inspect shows the fingerprint read from the record');
  r.write('pipeline.yaml', CHAIN.replace('wc -c < two.txt', 'wc -l < two.txt'));
  assert.deepEqual(verdicts(r), { one: 'fresh', two: 'fresh', three: 'stale:param' });
});

test('a store from before (fingerprints in files of their own) still reads: fresh stays fresh, a change is explained, verify and run work', () => {
  const r = new Rig(CHAIN);
  assert.equal(r.cli(['run']).code, 0);
  for (const id of ['one', 'two', 'three']) toOldFormat(r, keyOf(r, id));
  assert.equal(runFiles(r).filter((f) => f.endsWith('.fingerprint.json')).length, 3);
  assert.deepEqual(verdicts(r), { one: 'fresh', two: 'fresh', three: 'fresh' });
  r.write('pipeline.yaml', CHAIN.replace('wc -c < two.txt', 'wc -l < two.txt'));
  assert.deepEqual(verdicts(r), { one: 'fresh', two: 'fresh', three: 'stale:param' }, 'the reason comes from the old fingerprint file');
  const v = r.cli(['verify']);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  r.resetCalls();
  const run = r.cli(['run']);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.deepEqual(r.calls(), ['three']);
  assert.deepEqual(verdicts(r), { one: 'fresh', two: 'fresh', three: 'fresh' });
});
