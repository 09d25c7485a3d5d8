// A model worker's environment and Node flags (workerProcessOptions): what Worker forks with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerProcessOptions } from '../../src/engine/executors/worker.js';

test('a worker gets its grant, malloc on huge pages and a 32 MB semi-space, unless the user chose them', () => {
  const plain = workerProcessOptions({ PATH: '/bin' }, ['--enable-source-maps'], 'model:a', { cpus: 0, gpus: [] });
  assert.deepEqual(plain.env, { PATH: '/bin', PIPELINE_WORKER_AFFINITY: 'model:a', PIPELINE_CPUS: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  assert.deepEqual(plain.execArgv, ['--enable-source-maps', '--max-semi-space-size=32']);

  const gpu = workerProcessOptions({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, [], 'model:b', { cpus: 4, gpus: ['1', '3'] });
  assert.equal(gpu.env['CUDA_VISIBLE_DEVICES'], '1,3');
  assert.equal(gpu.env['PIPELINE_CPUS'], '4');
  assert.equal(gpu.env['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');

  // The user's own choices are kept: a tunable, a semi-space on the command line or in NODE_OPTIONS.
  assert.equal(workerProcessOptions({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, [], 'm', { cpus: 1, gpus: [] }).env['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=0');
  assert.deepEqual(workerProcessOptions({}, ['--max-semi-space-size=64'], 'm', { cpus: 1, gpus: [] }).execArgv, ['--max-semi-space-size=64']);
  assert.deepEqual(workerProcessOptions({ NODE_OPTIONS: '--trace-gc --max-semi-space-size=8' }, [], 'm', { cpus: 1, gpus: [] }).execArgv, []);
});
