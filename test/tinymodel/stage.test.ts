// The build-model stage kind: coerces a string seed, reads sizes from params (or the model's
// `build:` block), writes the folder to <outDir>/model exactly as buildTinyModel does, records the
// config, and keys its code on the tinymodel modules.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ModelSpec, StageContext } from '../../src/engine/kind.js';
import { KindRegistry } from '../../src/engine/registry.js';
import { tinyModelConfig } from '../../src/tinymodel/index.js';
import { buildModel } from '../../stages/build-model.js';
import { buildInTemp, type Built } from './fixture.js';

const temps: string[] = [];
const builds: Built[] = [];
after(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
  for (const b of builds) await b.cleanup();
});

function fakeContext(outDir: string, params: Record<string, unknown>, vars: Record<string, string> = {}, model?: Partial<ModelSpec>) {
  const records: Record<string, unknown> = {};
  const logs: string[] = [];
  const ctx = {
    instance: { id: 'build-model@tiny', kind: 'build-model', name: 'build-model', vars, params },
    spec: { projectDir: outDir, models: [], tasks: [], vars: {}, offline: true },
    model: model as ModelSpec | undefined,
    digest: async () => ({ digest: 'x', type: 'dir' as const }),
    inputs: [],
    planned: {},
    outDir,
    tmpDir: outDir,
    gpus: [],
    cpus: 1,
    log: (m: string) => logs.push(m),
    warn: (m: string) => logs.push(`warn: ${m}`),
    record: (k: string, v: unknown) => { records[k] = v; },
    signal: new AbortController().signal,
    processCache: new Map(),
    cacheDir: (name: string) => join(outDir, 'caches', name),
  } satisfies StageContext;
  return { ctx, records, logs };
}

test('declares one dir output, inline isolation and the tinymodel code', async () => {
  const { ctx } = fakeContext('/unused', { seed: 1 });
  assert.equal(buildModel.name, 'build-model');
  assert.equal(buildModel.isolation, 'inline');
  assert.deepEqual(buildModel.outputs(ctx), [{ name: 'model', type: 'dir' }]);
  // the tinymodel modules enter the key through the kind's import closure
  const files = (await new KindRegistry().codeFiles('build-model')).map((f) => f.replace(/^.*\/dist\//, ''));
  for (const m of ['index', 'weights', 'onnx-graph']) assert.ok(files.includes(`src/tinymodel/${m}.js`), files.join(' '));
  assert.ok(files.includes('stages/build-model.js'), files.join(' '));
});

test('execute: string seed coerced, output equals buildTinyModel, config recorded', async () => {
  const out = await mkdtemp(join(tmpdir(), 'tinymodel-stage-'));
  temps.push(out);
  const { ctx, records, logs } = fakeContext(out, { seed: '7', nEmbd: '16' });
  const planned = await buildModel.plan!(ctx);
  assert.deepEqual(planned, { options: { nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 1024, vocabSize: 50257, seed: 7, variant: '' } });
  await buildModel.execute({ ...ctx, planned });
  const direct = await buildInTemp({ seed: 7, nEmbd: 16 });
  builds.push(direct);
  for (const f of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
    assert.ok((await readFile(join(out, 'model', f))).equals(await readFile(join(direct.dir, f))), `${f} differs from buildTinyModel's`);
  }
  assert.deepEqual(records['model'], tinyModelConfig({ seed: 7, nEmbd: 16 }));
  assert.equal(typeof records['build_ms'], 'number');
  assert.match(logs.join('\n'), /built tiny GPT-2 \(seed 7\)/);
});

test('revision var becomes the variant; model build block supplies params', () => {
  const { ctx } = fakeContext('/unused', {}, { revision: 'step2' }, { build: { seed: 3, nLayer: 1 } });
  const planned = buildModel.plan!(ctx) as { options: Record<string, unknown> };
  assert.equal(planned.options['seed'], 3);
  assert.equal(planned.options['nLayer'], 1);
  assert.equal(planned.options['variant'], 'step2');
});

test('bad params fail at plan time naming the stage and param', () => {
  assert.throws(() => buildModel.plan!(fakeContext('/unused', {}).ctx), /stage build-model@tiny \(build-model\): param "seed" is required/);
  assert.throws(() => buildModel.plan!(fakeContext('/unused', { seed: 'abc' }).ctx), /param "seed" must be a number, got "abc"/);
  assert.throws(() => buildModel.plan!(fakeContext('/unused', { seed: 1, nHead: 3 }).ctx), /"nEmbd" \(32\) must be a multiple of "nHead" \(3\)/);
});
