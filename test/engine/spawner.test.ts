// The spawners that run `run:` commands (src/run/spawner.ts): a pool that gives a command to an
// idle spawner or starts one (up to its limit), and the environment sent as a difference from the
// one the spawner inherited.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEnvDiff, envDiff, Spawner, SpawnerPool } from '../../src/run/spawner.js';

test('a command\'s environment travels as a difference and arrives whole: set, changed and removed variables', () => {
  const base = { HOME: '/home/u', PATH: '/bin', LANG: 'C', GONE: 'x' };
  const env = { HOME: '/home/u', PATH: '/usr/bin:/bin', LANG: 'C', PIPELINE_STAGE_ID: 'fetch/a', EMPTY: '' };
  const d = envDiff(base, env);
  assert.deepEqual(d, { set: { PATH: '/usr/bin:/bin', PIPELINE_STAGE_ID: 'fetch/a', EMPTY: '' }, unset: ['GONE'] });
  assert.deepEqual(applyEnvDiff(base, JSON.parse(JSON.stringify(d)) as typeof d), env);
  assert.deepEqual(envDiff(base, { ...base }), { set: {}, unset: [] }, 'nothing to send for an unchanged environment');
});

/** A stand-in spawner: only what the pool reads. */
function fake(): Spawner {
  return { inFlight: 0, alive: true } as unknown as Spawner;
}

test('the pool: an idle spawner is reused, a busy one gets a sibling up to the limit, then the least busy takes it; a dead one is replaced', () => {
  let started = 0;
  const pool = new SpawnerPool(2, () => {
    started++;
    return fake();
  });
  const a = pool.pick();
  assert.equal(pool.pick(), a, 'idle: reused');
  (a as { inFlight: number }).inFlight = 1;
  const b = pool.pick();
  assert.notEqual(b, a, 'busy: a second spawner');
  (b as { inFlight: number }).inFlight = 2;
  assert.equal(pool.pick(), a, 'at the limit: the least busy');
  assert.equal(started, 2);
  (a as { alive: boolean }).alive = false;
  const c = pool.pick();
  assert.ok(c !== a && c !== b, 'a dead spawner is replaced');
  assert.equal(pool.size, 2);
});
