// `pipeline score` keeps one-off scores apart from the folder's pipeline: each call has its own
// folder (pipeline file and outputs) under .pipeline-score/, all calls share one store there, and
// the printed paths are the CSV in that folder and a working inspect command.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { REPO, Rig } from '../engine/rig.js';

const SHARED = join(REPO, '..', 'shared');
const TINY = join(SHARED, 'models', 'tiny-gpt2');
const STIMULI = join(SHARED, 'data', 'stimuli');

test('pipeline score: every call keeps its own folder under .pipeline-score/, nothing lands in the project root', { timeout: 300_000 }, () => {
  const rig = new Rig('version: 1\nstages: {}\n');
  const call = (limit: string): { csv: string; pipeline: string; requests: string; cached: boolean } => {
    const r = rig.cli(['--stimuli-dir', STIMULI, 'score', '--model', TINY, '--task', 'crt', '--condition', 'crt2', '--limit', limit, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { csv: string; pipeline: string; requests: string; cached: boolean };
  };
  const two = call('2');
  const three = call('3');
  assert.notEqual(two.pipeline, three.pipeline, 'a call with other params keeps its own pipeline file');
  for (const [out, rows] of [[two, 2], [three, 3]] as const) {
    assert.ok(out.pipeline.startsWith(join(rig.dir, '.pipeline-score', 'crt-crt2-tiny-gpt2-')), out.pipeline);
    assert.equal(out.csv, join(out.pipeline, '..', 'output', 'crt', 'crt2', 'tiny-gpt2.csv'), 'the CSV in the call\'s folder');
    assert.equal((parse(readFileSync(out.csv, 'utf8'), { columns: true }) as unknown[]).length, rows);
    assert.ok(out.requests.startsWith(join(rig.dir, '.pipeline-score', 'cache')), out.requests);
  }
  assert.equal(readdirSync(join(rig.dir, '.pipeline-score')).filter((d) => d.startsWith('crt-')).length, 2);
  // The project root's own pipeline, store and folders are untouched.
  for (const p of ['cache', 'output', 'configs', '.pipeline-score.yaml']) assert.equal(existsSync(join(rig.dir, p)), false, p);
  assert.equal(rig.read('pipeline.yaml'), 'version: 1\nstages: {}\n');
  // The same call again is a cache hit in its own folder; the printed inspect command works.
  const again = rig.cli(['--stimuli-dir', STIMULI, 'score', '--model', TINY, '--task', 'crt', '--condition', 'crt2', '--limit', '2']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^cached score\/crt\/crt2\/tiny-gpt2\n {2}csv: {6}\S+\/output\/crt\/crt2\/tiny-gpt2\.csv\n/);
  const inspect = /inspect: {2}npx pipeline (.*)$/m.exec(again.stdout)?.[1];
  assert.ok(inspect, again.stdout);
  const ins = rig.cli(inspect.split(' '));
  assert.equal(ins.code, 0, ins.stderr);
  assert.match(ins.stdout, /score\/crt\/crt2\/tiny-gpt2/);
  assert.match(ins.stdout, /limit/);
});
