// GPUs for scoring: device ordinals inside a worker, execution providers per part, the CUDA
// provider check (this machine has no CUDA provider installed: the offline default), the plan-time
// failure of a score stage that asks for GPUs on a host that has them but not the provider, and
// `pipeline doctor`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import type { ModelSpec, PlanContext } from '../../src/engine/kind.js';
import { cudaProviderProblem, cudaProviderStatus, deviceOrdinals, gpuStageProblem } from '../../src/engine/gpus.js';
import { executionProviders } from '../../src/lm/score-graph.js';
import { repoRoot } from './helpers.js';

function withVisible<T>(value: string | undefined, fn: () => T): T {
  const old = process.env['CUDA_VISIBLE_DEVICES'];
  if (value === undefined) delete process.env['CUDA_VISIBLE_DEVICES'];
  else process.env['CUDA_VISIBLE_DEVICES'] = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env['CUDA_VISIBLE_DEVICES'];
    else process.env['CUDA_VISIBLE_DEVICES'] = old;
  }
}

test('a worker started with CUDA_VISIBLE_DEVICES=2,3 addresses its GPUs as 0 and 1; without it, by id', () => {
  assert.deepEqual(withVisible('2,3', () => deviceOrdinals(['2', '3'])), [0, 1]);
  assert.deepEqual(withVisible('2,3', () => deviceOrdinals(['3'])), [1]);
  assert.deepEqual(withVisible(undefined, () => deviceOrdinals(['1', '4'])), [1, 4]);
});

test('each part gets its own CUDA device in the session options', () => {
  assert.deepEqual(executionProviders('cuda', 1), [{ name: 'cuda', deviceId: 1 }, 'cpu']);
  assert.deepEqual(executionProviders('cpu', 3), ['cpu']);
});

test('the CUDA provider check names the missing libraries, the folder and the fix', () => {
  const st = cudaProviderStatus();
  assert.ok(st.binDir.endsWith(path.join('onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch)), st.binDir);
  if (st.present) return; // a GPU host with the provider installed: nothing to report
  assert.deepEqual(st.missing, ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']);
  const msg = cudaProviderProblem()!;
  assert.match(msg, /libonnxruntime_providers_cuda\.so.*missing in .*onnxruntime-node/);
  assert.match(msg, /npm run install-cuda/);
  assert.match(msg, /CUDA 12\.x runtime and cuDNN 9\.x/);
});

const big: ModelSpec = { id: 'meta-llama/Llama-2-13b-hf', name: 'Llama-2-13b-hf', revisions: [''], display: { name: 'Llama-2 13B' }, resources: { gpu: 2 } } as ModelSpec;

function planCtx(model: ModelSpec): PlanContext {
  return {
    instance: { id: 'score/lambada/Llama-2-13b-hf', kind: 'score', name: 'score', vars: { task: 'lambada', model: model.name }, params: {} },
    spec: { projectDir: repoRoot, models: [model], tasks: [], vars: {}, offline: true },
    model,
    digest: async () => ({ digest: 'x', type: 'file' }),
  };
}

test('a score stage asking for GPUs on a host with GPUs but no CUDA provider fails at plan time with the fix', async () => {
  if (cudaProviderStatus().present) return;
  // GPUs "present" (the detection honours CUDA_VISIBLE_DEVICES, as the engine's does).
  process.env['CUDA_VISIBLE_DEVICES'] = '0,1';
  try {
    assert.match((await gpuStageProblem(2))!, /CUDA provider of onnxruntime-node is not installed/);
    assert.equal(await gpuStageProblem(0), null, 'a CPU stage is not affected');
    const { scoreKind } = await import('../../stages/score.js');
    await assert.rejects(async () => scoreKind.plan!(planCtx(big)), /stage score\/lambada\/Llama-2-13b-hf asks for GPUs: the CUDA provider .*npm run install-cuda/);
    // A model without GPUs plans as before.
    await scoreKind.plan!(planCtx({ ...big, resources: { cpu: 1 } } as ModelSpec));
  } finally {
    delete process.env['CUDA_VISIBLE_DEVICES'];
  }
});

test('pipeline doctor reports GPUs, the provider and the CUDA libraries, and exits 0 on a host without GPUs', () => {
  const env = { ...process.env };
  delete env['CUDA_VISIBLE_DEVICES'];
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pipeline.js'), 'doctor', '--json'], { encoding: 'utf8', env, cwd: repoRoot });
  const report = JSON.parse(r.stdout) as { gpus: unknown[]; cudaProvider: { present: boolean; binDir: string }; cudaRuntimeLibs: Record<string, boolean> | null; ready: boolean; fixes: string[] };
  assert.equal(report.cudaProvider.present, cudaProviderStatus().present);
  if (report.cudaRuntimeLibs) assert.ok('libcudnn.so.9' in report.cudaRuntimeLibs && 'libcudart.so.12' in report.cudaRuntimeLibs);
  if (report.gpus.length === 0) {
    assert.equal(r.status, 0);
    assert.equal(report.ready, false);
    const text = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pipeline.js'), 'doctor'], { encoding: 'utf8', env, cwd: repoRoot });
    assert.match(text.stdout, /GPUs: none found/);
    assert.match(text.stdout, /CUDA provider \(onnxruntime-node\): (installed|missing libonnxruntime_providers_cuda\.so)/);
  }
});
