// The score stage on a model converted by the project: it scores through the scoring graph by
// default, `parts` splits it (here on CPU) with the same CSV, `plain=true` stays the reference, and
// the run record names the path. Hand-made stage contexts, as test/tasks/stages.test.ts does.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { convertCheckpoint } from '../../src/convert/convert.js';
import type { ModelSpec, StageContext, StageInput } from '../../src/engine/kind.js';
import scoreKind from '../../stages/score.js';
import { repoRoot, sharedDir } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'lm-score-stage-'));
const folder = path.join(work, 'gpt2-tiny');
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', 'gpt2-tiny'), folder, { dtype: 'fp32', scoringParts: 2 });
});

const model: ModelSpec = { id: 'local/gpt2-tiny', name: 'gpt2-tiny', revisions: [''], display: { name: 'tiny', family: 'tiny', params_b: 0 } };

function input(stageId: string, output: string, p: string, type: 'file' | 'dir' = 'file'): StageInput {
  return { stageId, kind: stageId.split('/')[0]!, name: stageId.split('/')[0]!, vars: {}, outputs: { [output]: { digest: 'd', type, path: p } }, info: {} };
}

async function score(params: Record<string, unknown>): Promise<{ csv: string; records: Record<string, unknown> }> {
  const dir = mkdtempSync(path.join(work, 'in-'));
  writeFileSync(path.join(dir, 'config'), 'task: blimp\nmodel: local/gpt2-tiny\ncondition: null\nmax_new_tokens: 100\n');
  const records: Record<string, unknown> = {};
  const processCache = new Map<string, unknown>();
  const ctx: StageContext = {
    instance: { id: 'score/blimp/gpt2-tiny', kind: 'score', name: 'score', vars: { task: 'blimp', condition: '', model: 'gpt2-tiny', revision: '' }, params: { limit: 3, ...params } },
    spec: { projectDir: repoRoot, models: [model], tasks: [], vars: {}, offline: true },
    model,
    digest: async () => ({ digest: 'x', type: 'file' }),
    inputs: [
      input('convert-model/gpt2-tiny', 'model', folder, 'dir'),
      input('fetch-stimuli/blimp', 'stimuli', path.join(sharedDir, 'data', 'stimuli', 'blimp', 'stimuli.csv')),
      input('build-config/blimp/gpt2-tiny', 'config', path.join(dir, 'config')),
    ],
    planned: {},
    outDir: mkdtempSync(path.join(work, 'out-')),
    tmpDir: mkdtempSync(path.join(work, 'tmp-')),
    gpus: [],
    cpus: 1,
    log: () => undefined,
    warn: () => undefined,
    record: (k, v) => (records[k] = v),
    signal: new AbortController().signal,
    processCache,
    // A fresh cache folder per call: each call computes every request.
    cacheDir: (name) => mkdtempSync(path.join(work, `cache-${name}-`)),
  };
  await scoreKind.execute(ctx);
  for (const [, v] of processCache) if (v && typeof v === 'object' && 'lm' in v) await (v as { lm: { dispose(): Promise<void> } }).lm.dispose();
  return { csv: readFileSync(path.join(ctx.outDir, 'csv'), 'utf8'), records };
}

const numbers = (csv: string): number[] => csv.split(/[\n,]/).map(Number).filter((x) => Number.isFinite(x) && !Number.isInteger(x));

test('score on a converted model: scoring graph by default, 2 parts and plain give the same scores', async () => {
  const graph = await score({});
  const info = graph.records['model_info'] as { scoringPath: string; parts: number };
  assert.equal(info.scoringPath, 'graph');
  assert.equal(info.parts, 1);
  const split = await score({ parts: 2 });
  assert.equal((split.records['model_info'] as { parts: number }).parts, 2);
  const plain = await score({ plain: true });
  assert.equal((plain.records['model_info'] as { scoringPath: string }).scoringPath, 'plain');
  const g = numbers(graph.csv);
  assert.ok(g.length >= 3 * 6, `scores in the CSV: ${g.length}`);
  for (const other of [split, plain]) {
    const o = numbers(other.csv);
    assert.equal(o.length, g.length);
    o.forEach((v, i) => assert.ok(Math.abs(v - g[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `value ${i}: ${v} vs ${g[i]}`));
  }
  await assert.rejects(score({ parts: 3 }), /score\.part0of3\.onnx is missing/);
});
