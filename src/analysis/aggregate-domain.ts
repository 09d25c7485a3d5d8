// Everything aggregate computes for one domain, as named files (pure: score tables in, CSV/text
// out). The stage kind only finds the inputs and writes these.

import { toCsv, type Table } from './csv-io.js';
import { mergeAnnotations, type Annotations } from './annotations.js';
import { aggregateTableNames, domainDef, type Domain } from './domains.js';
import { logOddsDiff, logprobDiff } from './log-odds.js';
import { buildLong } from './long.js';
import type { ScoreFile } from './score-files.js';
import { regressTrainingTime } from './training-regression.js';
import { buildWide } from './wide.js';

export interface AggregateOptions {
  /** Final-weights step for models that declare no `display.final_step` (default: see wide.ts finalSteps). */
  finalStep?: number;
  /** Produce the training-time tables (digit_mat, lambada); default: when any file has a revision. */
  trainingTime?: boolean;
  annotations?: Annotations;
}

export interface AggregateFile {
  /** Output name, also the file name without extension (`digit_mat_wide_size`). */
  name: string;
  /** File name (`digit_mat_wide_size.csv`). */
  file: string;
  content: string;
}

export interface AggregateResult {
  files: AggregateFile[];
  tables: Record<string, Table>;
  counts: Record<string, number>;
  warnings: string[];
}

export function aggregateDomain(domain: Domain, files: ScoreFile[], opts: AggregateOptions = {}): AggregateResult {
  const def = domainDef(domain);
  const finalStep = opts.finalStep;
  const inDomain = files.filter((f) => def.tasks.includes(f.task));
  const warnings: string[] = [];
  for (const f of inDomain) {
    if (f.table.renamed) warnings.push(`${f.shown ?? f.path}: repeated header name(s) read as pandas reads them: ${f.table.renamed.join(', ')}`);
    if (def.annotatedColumn && def.unlabelledWithoutColumn && !f.table.columns.includes(def.annotatedColumn)) {
      warnings.push(`${f.shown ?? f.path}: no generated_response_label column: its productions are unlabelled (label empty, not correct) unless annotations label them, as the paper's analysis read it`);
    }
  }
  if (!inDomain.some((f) => f.revision === '')) {
    throw new Error(`${domain}: no score files for the final weights of any model (tasks ${def.tasks.join(', ')}); check the aggregate's inputs`);
  }

  if (def.annotatedColumn && opts.annotations && opts.annotations.size > 0) {
    // Annotation files name a condition (crt1…) or, for a task without conditions, the task.
    const labelled = inDomain.filter((f) => f.table.columns.includes(def.annotatedColumn!) || def.unlabelledWithoutColumn);
    const rows = labelled.flatMap((f) => f.table.rows.map((row) => ({ row, condition: f.condition || String(row.condition ?? '') || f.task, model: f.model.name })));
    const { applied, unused } = mergeAnnotations(rows, opts.annotations);
    if (unused.length) warnings.push(`${unused.length} annotation(s) matched no ${domain} row, e.g. ${unused.slice(0, 3).join(', ')}`);
    warnings.push(`${domain}: ${applied} generated_response_label value(s) taken from annotations`);
  }

  const tables: Record<string, Table> = {};
  const wideSize = buildWide(domain, inDomain, { scope: 'size', finalStep });
  tables[`${domain}_wide_size`] = wideSize;
  const longSize = buildLong(domain, wideSize, 'size');
  tables[`${domain}_long_size`] = longSize;
  if (def.metric === 'correct') tables[`${domain}_log_odds_diff`] = logOddsDiff(domain, longSize);
  else tables[`${domain}_logprob_diff`] = logprobDiff(wideSize);

  const wantTraining = def.trainingTime && (opts.trainingTime ?? inDomain.some((f) => f.revision !== ''));
  let regressionText: string | undefined;
  if (wantTraining) {
    if (!inDomain.some((f) => f.revision !== '')) {
      throw new Error(`${domain}: training-time tables were asked for but no input has a revision; declare the model's revisions or set trainingTime: false`);
    }
    const wideTT = buildWide(domain, inDomain, { scope: 'training_time', finalStep });
    const longTT = buildLong(domain, wideTT, 'training_time');
    tables[`${domain}_wide_training_time`] = wideTT;
    tables[`${domain}_long_training_time`] = longTT;
    const reg = regressTrainingTime(domain, longTT);
    tables[`${domain}_regression_training_time`] = reg.table;
    regressionText = reg.text;
    if (reg.fit.converged === false) warnings.push(`${domain}: the training-time logistic regression did not converge`);
    if (reg.fit.separation) warnings.push(`${domain}: the training-time logistic regression has fitted probabilities of 0 or 1 (separation); its estimates are unreliable`);
  }

  const names = aggregateTableNames(domain, wantTraining);
  const out: AggregateFile[] = names.map((name) => ({ name, file: `${name}.csv`, content: toCsv(tables[name]!) }));
  if (regressionText !== undefined) {
    out.push({ name: `${domain}_regression_training_time_summary`, file: `${domain}_regression_training_time.txt`, content: regressionText });
  }
  const counts: Record<string, number> = {};
  for (const [name, t] of Object.entries(tables)) counts[name] = t.rows.length;
  return { files: out, tables, counts, warnings };
}

/** The files aggregate writes for a domain, known before running (the stage's outputs()). */
export function aggregateOutputFiles(domain: Domain, trainingTime: boolean): Array<{ name: string; file: string }> {
  const def = domainDef(domain);
  const withTT = def.trainingTime && trainingTime;
  const out = aggregateTableNames(domain, withTT).map((name) => ({ name, file: `${name}.csv` }));
  if (withTT) out.push({ name: `${domain}_regression_training_time_summary`, file: `${domain}_regression_training_time.txt` });
  return out;
}
