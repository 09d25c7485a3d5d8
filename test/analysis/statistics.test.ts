// The statistics stage kind (the paper's size mixed models through Rscript + lme4/lmerTest), driven
// with hand-made contexts: plan() fails without R or a package, naming the install command; the
// crt fit on the paper's own score files reproduces the paper's analysis/lmers/crt_lmer_size.txt.
// (All four domains are fitted by the reanalyse pipeline in test/e2e/pipelines.test.ts.)

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PlanContext, StageContext, StageInput } from '../../src/engine/kind.js';
import { aggregateDomain } from '../../src/analysis/aggregate-domain.js';
import { parseCsv, toCsv } from '../../src/analysis/csv-io.js';
import { ModelRegistry } from '../../src/analysis/models.js';
import { loadScoreFile, scanOutputLayout } from '../../src/analysis/score-files.js';
import statistics from '../../stages/statistics.js';
import { Rig } from '../engine/rig.js';
import { digitMat } from './fixtures.js';
import { paperModels } from './paper-models.js';
import { PAPER_LMERS, tolerance } from './paper-lmers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PAPER = resolve(repoRoot, '../shared/data/paper-outputs');
const root = mkdtempSync(join(tmpdir(), 'statistics-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function context(vars: Record<string, string>, params: Record<string, unknown> = {}, inputs: StageInput[] = []): StageContext & { warnings: string[]; records: Record<string, unknown> } {
  const outDir = join(root, `out-${++n}`);
  mkdirSync(outDir);
  const plan: PlanContext = {
    instance: { id: `statistics/${vars.domain}`, kind: 'statistics', name: 'statistics', vars, params },
    spec: { projectDir: root, models: paperModels(), tasks: [], vars: {}, offline: true },
    digest: async () => ({ digest: 'x', type: 'file' }),
  };
  const warnings: string[] = [];
  const records: Record<string, unknown> = {};
  return {
    ...plan, inputs, planned: {}, outDir, tmpDir: join(root, `tmp-${n}`), gpus: [], cpus: 1,
    log: () => undefined, warn: (m: string) => warnings.push(m), record: (k: string, v: unknown) => { records[k] = v; },
    signal: new AbortController().signal, processCache: new Map(), cacheDir: (name: string) => join(root, 'caches', name), warnings, records,
  };
}

const INSTALL = 'apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest';

test('statistics: outputs are the summary text and the effects CSV, materialised under lmers/', () => {
  assert.deepEqual(statistics.outputs(context({ domain: 'lambada' })), [
    { name: 'lambada_lmer_size', type: 'file', materialize: 'lmers/lambada_lmer_size.txt' },
    { name: 'lambada_lmer_size_effects', type: 'file', materialize: 'lmers/lambada_lmer_size.csv' },
  ]);
  assert.throws(() => statistics.outputs(context({ domain: 'blimp' })), /unknown analysis domain "blimp"/);
});

test('statistics: without Rscript, or without a package, plan() fails with the install command', async () => {
  await assert.rejects(async () => statistics.plan!(context({ domain: 'crt' }, { rscript: join(root, 'no-such-Rscript') })),
    (e: Error) => e.message.includes('no-such-Rscript was not found') && e.message.includes(INSTALL));
  // An R that has lme4 but not lmerTest (what the check program prints, imitated).
  const fake = join(root, 'fake-Rscript');
  writeFileSync(fake, '#!/bin/sh\nprintf "lme4 1.1.31 \\nlmerTest MISSING \\nR 4.2.2 \\n"\n');
  chmodSync(fake, 0o755);
  await assert.rejects(async () => statistics.plan!(context({ domain: 'crt' }, { rscript: fake })),
    (e: Error) => e.message.startsWith('stage statistics/crt (statistics): R package lmerTest is not installed;') && e.message.includes(INSTALL));
});

test('statistics: Rscript runs with one BLAS thread whatever the environment says, and the BLAS enters the key', async () => {
  // A fake Rscript that answers the check program with the thread settings it was started with.
  const fake = join(root, 'threads-Rscript');
  writeFileSync(fake, '#!/bin/sh\nprintf "lme4 1.1.31 \\nlmerTest 3.1.3 \\nR 4.2.2 \\nBLAS threads=$OPENBLAS_NUM_THREADS,$OMP_NUM_THREADS,$MKL_NUM_THREADS,$BLIS_NUM_THREADS \\n"\n');
  chmodSync(fake, 0o755);
  const saved = { o: process.env['OPENBLAS_NUM_THREADS'], m: process.env['OMP_NUM_THREADS'] };
  process.env['OPENBLAS_NUM_THREADS'] = '8';
  process.env['OMP_NUM_THREADS'] = '8';
  try {
    const planned = await statistics.plan!(context({ domain: 'crt' }, { rscript: fake }));
    assert.equal(planned.blas, 'threads=1,1,1,1');
  } finally {
    for (const [k, v] of [['OPENBLAS_NUM_THREADS', saved.o], ['OMP_NUM_THREADS', saved.m]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('statistics: the crt glmer on the paper\'s score files gives the paper\'s fixed effects (within 1 % of their standard errors) and AIC', { timeout: 300_000 }, async () => {
  const planned = await Promise.resolve(statistics.plan!(context({ domain: 'crt' })))
    .catch((e: Error) => assert.fail(`this test needs R with lme4 and lmerTest (${INSTALL}): ${e.message}`));
  assert.equal(planned.formula, 'response_correct ~ model_n_params_log*eval_method + (model_n_params_log*eval_method | model_family)');
  assert.match(String(planned.r), /^\d+\.\d+\.\d+$/);
  assert.deepEqual(Object.keys(planned.packages as object), ['lme4', 'lmerTest']);
  assert.match(String(planned.blas), /\S/, 'the BLAS R uses is part of the key');

  const scan = scanOutputLayout(PAPER, new ModelRegistry(paperModels()));
  const crt = aggregateDomain('crt', scan.files.filter((f) => f.task === 'crt').map(loadScoreFile), {});
  const longPath = join(root, 'crt_long_size.csv');
  writeFileSync(longPath, crt.files.find((f) => f.name === 'crt_long_size')!.content);
  const input: StageInput = { stageId: 'aggregate/crt', kind: 'aggregate', name: 'aggregate', vars: { domain: 'crt' }, info: {},
    outputs: { crt_long_size: { digest: 'x', type: 'file', path: longPath } } };

  const missing = context({ domain: 'crt' });
  await assert.rejects(statistics.execute(missing), /no input has an output named crt_long_size/);

  const ctx = context({ domain: 'crt' }, {}, [input]);
  await statistics.execute(ctx);
  const text = readFileSync(join(ctx.outDir, 'crt_lmer_size'), 'utf8');
  assert.match(text, /^Generalized linear mixed model fit by maximum likelihood \(Laplace Approximation\)/);
  assert.match(text, /Data: df\n/);
  assert.match(text, /Number of obs: 3900, groups:  model_family, 5/);
  const effects = parseCsv(readFileSync(join(ctx.outDir, 'crt_lmer_size_effects'), 'utf8'), 'crt_lmer_size.csv');
  assert.deepEqual(effects.columns, ['effect', 'group', 'term', 'term2', 'estimate', 'std_error', 'statistic', 'df', 'p_value', 'variance', 'std_dev', 'correlation']);
  const paper = PAPER_LMERS.crt;
  const fixed = effects.rows.filter((r) => r.effect === 'fixed');
  assert.deepEqual(fixed.map((r) => r.term), Object.keys(paper.fixed));
  for (const r of fixed) {
    const want = paper.fixed[String(r.term)]!;
    const tol = tolerance('crt', Number(r.std_error));
    assert.ok(Math.abs(Number(r.estimate) - want) < tol, `${r.term}: ${r.estimate}, paper ${want} (tolerance ${tol.toPrecision(2)}: 1 % of its standard error)`);
    assert.ok(Number(r.std_error) > 0 && Number.isFinite(Number(r.statistic)) && Number(r.p_value) >= 0 && Number(r.p_value) <= 1);
  }
  const fit = Object.fromEntries(effects.rows.filter((r) => r.effect === 'fit').map((r) => [r.term, r.estimate]));
  assert.ok(Math.abs(Number(fit.AIC) - paper.value) < 0.1, `AIC ${fit.AIC}, paper ${paper.value}`);
  assert.equal(Number(fit.nobs), paper.nobs);
  // Random effects: a variance per term of model_family, and the six correlations between them.
  const random = effects.rows.filter((r) => r.effect === 'random');
  assert.deepEqual(random.filter((r) => r.term2 === '').map((r) => r.term), Object.keys(paper.fixed));
  assert.ok(random.filter((r) => r.term2 === '').every((r) => r.group === 'model_family' && Number(r.variance) >= 0));
  assert.equal(random.filter((r) => r.term2 !== '').length, 6);
  assert.equal(typeof ctx.records.fit_seconds, 'number');
});

test('statistics without R in a pipeline run: only the statistics stage fails, at plan time, with the install command', { timeout: 300_000 }, () => {
  const rig = new Rig(`version: 1
models:
  - { id: org/alpha-1b, display: { name: Alpha 1B } }
  - { id: org/alpha-10b, display: { name: Alpha 10B } }
stages:
  import: { uses: import, params: { dir: scores } }
  aggregate: { uses: aggregate, id: "aggregate/\${domain}", matrix: { domain: [digit_mat] }, needs: [import] }
  statistics: { uses: statistics, id: "statistics/\${domain}", matrix: { domain: [digit_mat] }, needs: [aggregate] }
`);
  rig.write('scores/digit_mat/alpha-1b.csv', toCsv(digitMat('alpha-1b', '', [[true, false], [false, true]]).table));
  rig.write('scores/digit_mat/alpha-10b.csv', toCsv(digitMat('alpha-10b', '', [[true, true], [false, true]]).table));
  const r = rig.cli(['run'], { RSCRIPT: join(root, 'no-such-Rscript') });
  assert.notEqual(r.code, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /statistics\/digit_mat/);
  assert.ok(out.includes(INSTALL), out);
  assert.ok(rig.exists('processed_data/digit_mat_long_size.csv'), 'the aggregate ran and was materialised');
  assert.ok(!rig.exists('lmers'));
});
