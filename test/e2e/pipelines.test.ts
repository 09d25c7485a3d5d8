// The shipped pipeline files: the paper's pipeline.yaml declares what the paper ran, and
// examples/reanalyse/pipeline.yaml turns the paper's own score CSVs into tables and figures.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Engine } from '../../src/engine/engine.js';
import { REPO, Rig } from '../engine/rig.js';
import { PAPER_LMERS, tolerance } from '../analysis/paper-lmers.js';

test('pipeline.yaml: the paper — 13 models (and gpt2 on crt1), 5 tasks (crt ×3), the OLMo-7B sweep, aggregates, figures and mixed models', async () => {
  const rig = new Rig();
  copyFileSync(join(REPO, 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  const engine = await Engine.open({ file: join(rig.dir, 'pipeline.yaml') });
  const ids = engine.graph.order.map((i) => i.id);
  const count = (prefix: string): number => ids.filter((id) => id.startsWith(prefix)).length;
  assert.equal(engine.spec.models.length, 14);
  assert.equal(count('fetch-model/'), 14 + 9);
  // Every model and revision is converted from its PyTorch checkpoint.
  assert.equal(count('convert-model/'), 14 + 9);
  assert.equal(count('fetch-stimuli/'), 5);
  assert.equal(count('build-config/'), 13 * 7 + 1);
  // 13 models × 7 task/condition pairs, plus 9 revisions × lambada and digit_mat: the paper's 109
  // files; and gpt2 on crt1 only (configs/crt/crt1/gpt2.yaml), left out of the analysis.
  assert.equal(count('score/'), 13 * 7 + 9 * 2 + 1);
  assert.ok(ids.includes('score/crt/crt2/pythia-1b-deduped'));
  assert.ok(ids.includes('score/crt/crt1/gpt2') && !ids.some((id) => id.startsWith('score/') && id.includes('gpt2') && id !== 'score/crt/crt1/gpt2'));
  assert.deepEqual(engine.graph.byId.get('aggregate/crt')!.params['leaveOut'], ['gpt2']);
  const olmo = engine.spec.models.find((m) => m.name === 'OLMo-7B')!;
  assert.equal(olmo.display.final_step, 557000);
  assert.ok(engine.spec.models.filter((m) => m.name !== 'OLMo-7B').every((m) => m.display.final_step === undefined), 'only OLMo-7B declares a final step');
  // The size mixed models, one per domain, each after its aggregate; stimuli from public sources.
  assert.deepEqual(engine.graph.byId.get('statistics/syntax')?.needs, ['aggregate/syntax']);
  assert.deepEqual(engine.spec.tasks.find((t) => t.name === 'lambada')!.stimuli, { dataset: { id: 'EleutherAI/lambada_openai', file: 'data/lambada_test_en.jsonl', revision: 'main' }, file: 'stimuli.jsonl' });
  assert.match(String(engine.spec.tasks.find((t) => t.name === 'digit_mat')!.stimuli?.url), /726e068841c1305bd313ca25345aa1c08f9ec39d\/external_stimuli\/digit_mat\/all_problems\.npz$/);
  assert.ok(ids.includes('score/lambada/OLMo-7B@step10000-tokens44B'));
  assert.ok(ids.includes('aggregate/syntax') && ids.includes('plot-data/digit_mat'));
  const big = engine.graph.byId.get('score/blimp/Llama-2-70b-hf')!;
  assert.deepEqual(big.resources, { gpu: 4 });
  assert.equal(big.model?.dtype, 'fp16');
  const pythia = engine.spec.models.find((m) => m.name === 'pythia-1.4b-deduped')!;
  assert.deepEqual(pythia.display, { name: 'Pythia 1.4B', family: 'Pythia', params_b: 1.4 });
  // Every score needs its converted model, its stimuli and its config.
  const sweep = engine.graph.byId.get('score/digit_mat/OLMo-7B@step541000-tokens2393B')!;
  assert.deepEqual(sweep.needs.sort(), ['build-config/digit_mat/OLMo-7B', 'convert-model/OLMo-7B@step541000-tokens2393B', 'fetch-stimuli/digit_mat']);
  assert.deepEqual(engine.graph.byId.get('convert-model/OLMo-7B@step541000-tokens2393B')!.needs, ['fetch-model/OLMo-7B@step541000-tokens2393B']);
  // --only selects the way the README says.
  assert.equal(engine.selection({ only: ['OLMo-7B'] }).filter((i) => i.kind === 'score').length, 7 + 18);
  assert.ok(engine.selection({ only: ['lambada'] }).every((i) => i.kind !== 'score' || i.vars['task'] === 'lambada'));
});

// The four size mixed models run in R (lme4): digit_mat and syntax glmers take about a minute each
// on an idle core, more on a loaded machine.
test('examples/reanalyse/pipeline.yaml on the paper outputs: every table, with the row counts the specification implies, and the paper\'s mixed models', { timeout: 1_800_000 }, () => {
  const rig = new Rig();
  copyFileSync(join(REPO, 'examples', 'reanalyse', 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  const r = rig.cli(['run', '--set', `import_dir=${join(REPO, '..', 'shared', 'data', 'paper-outputs')}`]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rows = (f: string): number => (parse(readFileSync(join(rig.dir, 'processed_data', f)), { columns: true }) as unknown[]).length;
  // 13 models × 1,216 digit-matrix rows; 10 OLMo-7B checkpoints (9 + final) × 1,216; two methods in long form.
  assert.equal(rows('digit_mat_wide_size.csv'), 13 * 1216);
  assert.equal(rows('digit_mat_long_size.csv'), 2 * 13 * 1216);
  assert.equal(rows('digit_mat_wide_training_time.csv'), 10 * 1216);
  assert.equal(rows('crt_wide_size.csv'), 13 * 150);
  assert.equal(rows('lambada_wide_size.csv'), 13 * 5153);
  // syntax: (650 blimp + 75 dgl after dropping 5 duplicates) × 13; four long rows per pair.
  assert.equal(rows('syntax_wide_size.csv'), 13 * (650 + 75));
  assert.equal(rows('syntax_long_size.csv'), 4 * 13 * (650 + 75));
  assert.equal(rows('digit_mat_log_odds_diff.csv'), 13);
  const reg = parse(readFileSync(join(rig.dir, 'processed_data', 'digit_mat_regression_training_time.csv')), { columns: true }) as { term: string }[];
  assert.deepEqual(reg.map((x) => x.term), ['(Intercept)', 'training_step_log', 'eval_methodmc', 'training_step_log:eval_methodmc']);
  // The size mixed models: the paper's fixed-effect estimates (1 % of their standard errors, at
  // least 1e-3, lambada 2e-3: paper-lmers.ts) and AIC / REML criterion (0.1); docs/analysis.md,
  // "Size mixed models", gives the agreement measured per model.
  for (const [domain, paper] of Object.entries(PAPER_LMERS) as [keyof typeof PAPER_LMERS, (typeof PAPER_LMERS)['crt']][]) {
    const effects = parse(readFileSync(join(rig.dir, 'lmers', `${domain}_lmer_size.csv`)), { columns: true }) as Record<string, string>[];
    const fixed = effects.filter((r) => r.effect === 'fixed');
    assert.deepEqual(fixed.map((r) => r.term), Object.keys(paper.fixed), domain);
    for (const r of fixed) {
      const tol = tolerance(domain, Number(r.std_error));
      assert.ok(Math.abs(Number(r.estimate) - paper.fixed[r.term!]!) < tol, `${domain} ${r.term}: ${r.estimate}, paper ${paper.fixed[r.term!]} (tolerance ${tol.toPrecision(2)})`);
    }
    const crit = effects.find((r) => r.effect === 'fit' && r.term === paper.criterion)!;
    assert.ok(Math.abs(Number(crit.estimate) - paper.value) < 0.1, `${domain} ${paper.criterion}: ${crit.estimate}, paper ${paper.value}`);
    assert.equal(Number(effects.find((r) => r.effect === 'fit' && r.term === 'nobs')!.estimate), paper.nobs);
    const text = readFileSync(join(rig.dir, 'lmers', `${domain}_lmer_size.txt`), 'utf8');
    assert.match(text, domain === 'lambada' ? /^Linear mixed model fit by REML\. t-tests use Satterthwaite's method/ : /^Generalized linear mixed model fit by maximum likelihood/);
  }
  const svgs = readdirSync(join(rig.dir, 'figures')).filter((f) => f.endsWith('.svg'));
  assert.ok(svgs.length >= 10, svgs.join(','));
  assert.match(rig.cli(['run', '--set', `import_dir=${join(REPO, '..', 'shared', 'data', 'paper-outputs')}`]).stdout, /Nothing to do/);
});

test('the README\'s pipeline.yaml example is valid and links the R stage to the crt aggregate', async () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('```yaml\n# yaml-language-server');
  assert.ok(start >= 0, 'the README has its pipeline.yaml example');
  const text = readme.slice(start + 8, readme.indexOf('```', start + 8)).replace('https://…/stimuli.csv', 'https://example.org/stimuli.csv').replace(/sha256: 23f6…/, `sha256: ${'a'.repeat(64)}`);
  const rig = new Rig(text);
  const engine = await Engine.open({ file: join(rig.dir, 'pipeline.yaml') });
  assert.deepEqual(engine.graph.byId.get('my-r-analysis')?.needs, ['aggregate/crt']);
  assert.ok(engine.graph.byId.has('score/crt/crt1/OLMo-7B'));
});
