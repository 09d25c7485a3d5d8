// The analysis on the paper's own score files (/work/shared/data/paper-outputs: 13 models, and
// OLMo-7B at 9 revisions for digit_mat and lambada). Row counts follow from the specification
// (docs/analysis.md, "Row counts"); the digit_mat log-odds differences are the paper's published
// ones (its analysis notebook, to 6 decimals).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { aggregateDomain, type AggregateResult } from '../../src/analysis/aggregate-domain.js';
import { parseCsv } from '../../src/analysis/csv-io.js';
import { DOMAINS, type Domain } from '../../src/analysis/domains.js';
import { DEFAULT_FAMILY_ORDER, ModelRegistry } from '../../src/analysis/models.js';
import { plotDomain } from '../../src/analysis/plot-domain.js';
import { loadScoreFile, scanOutputLayout, type ScoreFile } from '../../src/analysis/score-files.js';
import { paperModels } from './paper-models.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PAPER = resolve(repoRoot, '../shared/data/paper-outputs');

const MODELS = 13;
const REVISIONS = 9;
const expected: Record<Domain, Record<string, number>> = {
  digit_mat: {
    digit_mat_wide_size: MODELS * 1216, digit_mat_long_size: MODELS * 1216 * 2, digit_mat_log_odds_diff: MODELS,
    digit_mat_wide_training_time: (REVISIONS + 1) * 1216, digit_mat_long_training_time: (REVISIONS + 1) * 1216 * 2,
    digit_mat_regression_training_time: 4,
  },
  crt: { crt_wide_size: MODELS * 3 * 50, crt_long_size: MODELS * 3 * 50 * 2, crt_log_odds_diff: MODELS },
  lambada: {
    lambada_wide_size: MODELS * 5153, lambada_long_size: MODELS * 5153 * 2, lambada_logprob_diff: MODELS,
    lambada_wide_training_time: (REVISIONS + 1) * 5153, lambada_long_training_time: (REVISIONS + 1) * 5153 * 2,
    lambada_regression_training_time: 4,
  },
  // 650 BLiMP pairs + 80 DGL pairs less the 5 duplicates; 4 long rows (2 per method) per pair.
  syntax: { syntax_wide_size: MODELS * (650 + 75), syntax_long_size: MODELS * (650 + 75) * 4, syntax_log_odds_diff: MODELS },
};

let files: ScoreFile[] = [];
const results = new Map<Domain, AggregateResult>();

before(() => {
  assert.ok(existsSync(PAPER), `paper outputs not found at ${PAPER}`);
  const scan = scanOutputLayout(PAPER, new ModelRegistry(paperModels()));
  assert.deepEqual(scan.skipped, []);
  files = scan.files.map(loadScoreFile);
  for (const d of DOMAINS) results.set(d, aggregateDomain(d, files, {}));
});

test('all 109 paper files are attributed to the declared models', () => {
  assert.equal(files.length, 109);
  assert.equal(files.filter((f) => f.revision !== '').length, 2 * REVISIONS);
  assert.ok(files.every((f) => f.table.rows.every((r) => r.model === f.model.id)), 'each file\'s rows carry its model\'s hub id');
});

for (const d of DOMAINS) {
  test(`${d}: tables and their row counts`, () => {
    const r = results.get(d)!;
    assert.deepEqual(r.counts, expected[d]);
    for (const f of r.files.filter((x) => x.file.endsWith('.csv'))) {
      assert.equal(parseCsv(f.content, f.file).rows.length, r.counts[f.name], `${f.file} reads back with its row count`);
    }
  });
}

test('digit_mat log-odds differences equal the paper\'s', () => {
  const paper: Record<string, number> = {
    'Gemma 2B': 0.526905, 'Gemma 7B': 0.204013, 'Llama-2 13B': 0.536023, 'Llama-2 70B': 0.357115, 'Llama-2 7B': 0.634000,
    'Mistral 7B': 0.328892, 'OLMo 1B': 0.777068, 'OLMo 7B': 0.556693, 'Pythia 1.4B': 0.534037, 'Pythia 12B': 0.498512,
    'Pythia 1B': 0.481661, 'Pythia 2.8B': 0.528569, 'Pythia 6.9B': 0.539483,
  };
  const rows = results.get('digit_mat')!.tables.digit_mat_log_odds_diff!.rows;
  for (const r of rows) assert.ok(Math.abs((r.log_odds_diff as number) - paper[String(r.model)]!) < 5e-7, `${r.model}: ${r.log_odds_diff}`);
});

test('crt: spreadsheet booleans come out as True/False; the file with a doubled header is unlabelled, as pandas read it', () => {
  const crt = results.get('crt')!;
  const wide = crt.files.find((f) => f.name === 'crt_wide_size')!.content;
  assert.doesNotMatch(wide, /,TRUE,|,FALSE,/);
  const wideTable = crt.tables.crt_wide_size!;
  // pandas names the second generated_response_naive_label `….1`; the file has no hand labels.
  assert.ok(wideTable.columns.includes('generated_response_naive_label.1'));
  const llama3 = wideTable.rows.filter((r) => r.model === 'Llama-2 7B' && r.condition === 'crt3');
  assert.equal(llama3.length, 50);
  assert.ok(llama3.every((r) => r.generated_response_label === null && r.generated_response_correct === false));
  assert.equal(llama3.filter((r) => r.generated_response_naive_label === 'intuitive').length, 22);
  assert.ok(crt.warnings.some((w) => w.includes('crt3/Llama-2-7b-hf.csv') && w.includes('generated_response_naive_label.1')), 'the renamed header is reported with its file');
  assert.ok(crt.warnings.some((w) => w.includes('crt3/Llama-2-7b-hf.csv') && w.includes('unlabelled')));
  // Pythia 1B never produced a correct crt answer: its production log odds are −∞ and the gap +∞.
  const p1b = crt.tables.crt_log_odds_diff!.rows.find((r) => r.model === 'Pythia 1B')!;
  assert.equal(p1b.p_high, 0);
  assert.equal(p1b.log_odds_diff, Infinity);
});

test('crt tables equal the paper\'s row for row (its processed_data/crt_long_size.csv and its notebook\'s gaps)', () => {
  const crt = results.get('crt')!;
  const long = parseCsv(crt.files.find((f) => f.name === 'crt_long_size')!.content, 'crt_long_size.csv');
  // sha256 of the paper's crt_long_size.csv (commit 726e068) reduced to these columns, one tab-separated
  // line per row, lines sorted: the same rows with the same labels and verdicts, whatever the order.
  const lines = long.rows.map((r) => ['condition', 'model', 'item_id', 'eval_method', 'response_label', 'response_correct'].map((c) => String(r[c] ?? '')).join('\t')).sort();
  assert.equal(lines.length, 3900);
  assert.equal(createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex'), 'd8f8a75f47aab774c5d35633f2760a1cf21d72a842a6cc5514209d7720d1f3d4');
  // 163 correct productions in all; none for Llama-2 7B in crt3.
  const correct = long.rows.filter((r) => r.eval_method === 'generated' && r.response_correct === 'True');
  assert.equal(correct.length, 163);
  assert.equal(correct.filter((r) => r.model === 'Llama-2 7B' && r.condition === 'crt3').length, 0);
  const paper: Record<string, number> = {
    'Gemma 2B': 2.058388, 'Gemma 7B': 0.348307, 'Llama-2 13B': 0.297896, 'Llama-2 70B': 0.332706, 'Llama-2 7B': 0.626284,
    'Mistral 7B': 1.540176, 'OLMo 1B': 3.393964, 'OLMo 7B': 2.358442, 'Pythia 1.4B': 2.831578, 'Pythia 12B': 2.514760,
    'Pythia 1B': Infinity, 'Pythia 2.8B': 3.730844, 'Pythia 6.9B': 3.623981,
  };
  for (const r of crt.tables.crt_log_odds_diff!.rows) {
    const want = paper[String(r.model)]!;
    if (want === Infinity) assert.equal(r.log_odds_diff, Infinity);
    else assert.ok(Math.abs((r.log_odds_diff as number) - want) < 5e-7, `${r.model}: ${r.log_odds_diff}, paper ${want}`);
  }
});

test('training-time regressions have R\'s terms and the fits converge', () => {
  const dm = results.get('digit_mat')!.tables.digit_mat_regression_training_time!;
  assert.deepEqual(dm.rows.map((r) => r.term), ['(Intercept)', 'training_step_log', 'eval_methodmc', 'training_step_log:eval_methodmc']);
  assert.ok((dm.rows[1]!.estimate as number) > 0, 'digit_mat improves with training');
  const lb = results.get('lambada')!.tables.lambada_regression_training_time!;
  assert.deepEqual(lb.rows.map((r) => r.term), ['(Intercept)', 'training_step_log', 'eval_methodmeta', 'training_step_log:eval_methodmeta']);
  assert.ok(results.get('digit_mat')!.files.some((f) => f.file === 'digit_mat_regression_training_time.txt' && /Fisher scoring iterations: \d+\n/.test(f.content)));
});

test('figures render to SVG for every domain', async () => {
  for (const d of DOMAINS) {
    const t = results.get(d)!.tables;
    const out = await plotDomain(d, {
      longSize: t[`${d}_long_size`]!,
      gap: t[d === 'lambada' ? 'lambada_logprob_diff' : `${d}_log_odds_diff`]!,
      longTrainingTime: t[`${d}_long_training_time`],
    }, { familyOrder: DEFAULT_FAMILY_ORDER, trainingTime: d === 'digit_mat' || d === 'lambada' });
    const svgs = out.filter((f) => f.file.endsWith('.svg'));
    assert.equal(svgs.length, d === 'digit_mat' || d === 'lambada' ? 3 : 2);
    for (const s of svgs) {
      assert.match(s.content, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, s.file);
      assert.match(s.content, /<\/svg>\s*$/, s.file);
      assert.doesNotMatch(s.content, /NaN|Infinity/, `${s.file} has no invalid coordinates`);
    }
    const byMethod = svgs.find((s) => s.file === `${d}_by_method.svg`)!.content;
    for (const family of ['Pythia', 'OLMo', 'Gemma', 'Llama-2', 'Mistral']) assert.match(byMethod, new RegExp(`>${family}<`), `${d}: panel ${family}`);
    assert.match(byMethod, /low task demands/);
    assert.match(byMethod, /high task demands/);
  }
});
