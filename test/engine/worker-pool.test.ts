// The local executor's placement without processes: model affinity (one worker per model, stages
// of a model go to it), the worker limit, eviction (a model no stage needs before the least
// recently used) and grants from the pools (a worker holds one for its life; death returns it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Grant } from '../../src/engine/executor.js';
import { ResourcePools } from '../../src/engine/pools.js';
import { WorkerPool } from '../../src/engine/executors/worker-pool.js';

interface Fake {
  affinity: string;
  grant: Grant;
  busy: boolean;
  lastUsed: number;
  stopped: boolean;
  die: () => void;
  stop(): void;
}

function rig(pools: { cpu: number; gpu?: string[]; memory?: number }, maxWorkers: number): { pool: WorkerPool<Fake>; pools: ResourcePools; started: Fake[] } {
  const rp = new ResourcePools({ cpu: pools.cpu, gpu: pools.gpu ?? [], memory: pools.memory ?? 1000, workers: maxWorkers });
  const started: Fake[] = [];
  let clock = 0;
  const pool = new WorkerPool<Fake>(rp, maxWorkers, (affinity, grant, died) => {
    const w: Fake = { affinity, grant, busy: false, lastUsed: ++clock, stopped: false, die: () => died(w), stop: () => { w.stopped = true; } };
    started.push(w);
    return w;
  });
  return { pool, pools: rp, started };
}

describe('worker pool', () => {
  it('gives the stages of one model the same worker, and makes them wait while it is busy', () => {
    const { pool, started } = rig({ cpu: 4 }, 4);
    const w = pool.claim('m1', { cpu: 1 })!;
    assert.equal(pool.claim('m1', { cpu: 1 }), w);
    assert.equal(started.length, 1);
    w.busy = true;
    assert.equal(pool.claim('m1', { cpu: 1 }), undefined, 'a busy worker is waited for, not doubled');
    assert.equal(pool.warm('m1'), false);
    w.busy = false;
    assert.equal(pool.warm('m1'), true);
    assert.equal(pool.warm('m2'), false);
  });

  it('holds each worker\'s grant for its life and gives it back when the worker stops or dies', () => {
    const { pool, pools } = rig({ cpu: 2, gpu: ['0', '1'] }, 4);
    const a = pool.claim('m1', { cpu: 1, gpu: 1 })!;
    const b = pool.claim('m2', { cpu: 1, gpu: 1 })!;
    assert.deepEqual([a.grant.gpus, b.grant.gpus], [['0'], ['1']]);
    a.busy = b.busy = true;
    assert.equal(pool.claim('m3', { cpu: 1 }), undefined, 'no room while both are busy');
    assert.equal(pool.acquire({ cpu: 1 }), undefined);
    b.die();
    assert.deepEqual(pool.live(), ['m1']);
    const g = pool.acquire({ cpu: 1, gpu: 1 })!;
    assert.deepEqual(g.gpus, ['1'], 'the dead worker\'s device is free again');
    pool.stop('m2'); // already gone: nothing released twice
    assert.equal(pools.tryAcquire({ cpu: 1 }), undefined);
  });

  it('evicts an idle worker whose model no remaining stage needs before the least recently used one', () => {
    const { pool } = rig({ cpu: 4 }, 2);
    const old = pool.claim('old', { cpu: 1 })!;
    const done = pool.claim('done', { cpu: 1 })!;
    pool.setDemand('old', 3);
    pool.setDemand('done', 1);
    done.busy = true;
    pool.setDemand('done', 0); // its last stage is running: it stays
    assert.equal(done.stopped, false);
    done.busy = false;
    const next = pool.claim('next', { cpu: 1 });
    assert.ok(next);
    assert.equal(done.stopped, true, 'the model nobody needs goes first');
    assert.equal(old.stopped, false);
    // both remaining are needed: the least recently used goes
    pool.setDemand('next', 1);
    const last = pool.claim('last', { cpu: 1 });
    assert.ok(last);
    assert.equal(old.stopped, true);
    assert.deepEqual(pool.live().sort(), ['last', 'next']);
  });

  it('evicts idle workers to make room for a stage run outside them', () => {
    const { pool } = rig({ cpu: 2 }, 4);
    const a = pool.claim('m1', { cpu: 2 })!;
    const g = pool.acquire({ cpu: 1 });
    assert.ok(g);
    assert.equal(a.stopped, true);
    pool.release(g);
  });

  it('stops an idle worker once no stage of its model remains', () => {
    const { pool, pools } = rig({ cpu: 1 }, 1);
    const w = pool.claim('m1', { cpu: 1 })!;
    pool.setDemand('m1', 0);
    assert.equal(w.stopped, true);
    assert.deepEqual(pool.live(), []);
    assert.ok(pools.tryAcquire({ cpu: 1 }), 'its cpu is free');
  });
});
