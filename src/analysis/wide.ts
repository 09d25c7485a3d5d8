// Wide tables: the score rows of a domain, with the model's display metadata and the columns the
// analysis derives per domain (TASKS.md, "Analysis").

import { normaliseBooleans, parseNum, type Row, type Table } from './csv-io.js';
import { domainDef, type Domain } from './domains.js';
import type { ScoreFile } from './score-files.js';
import { defaultFinalStep, trainingStep } from './training-step.js';

export type Scope = 'size' | 'training_time';

export interface WideOptions {
  scope: Scope;
  /**
   * Training step of the final weights for models that declare none (`display.final_step` wins);
   * default: defaultFinalStep of the model's revisions among the files.
   */
  finalStep?: number;
}

/** Each model's final step: declared, else the option, else one sweep interval past its last revision. */
export function finalSteps(files: ScoreFile[], fallback?: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) {
    if (out.has(f.model.name)) continue;
    const declared = f.model.finalStep ?? fallback;
    const revisions = files.filter((g) => g.model.name === f.model.name).map((g) => g.revision);
    if (declared !== undefined) out.set(f.model.name, declared);
    else if (revisions.some((r) => r !== '')) out.set(f.model.name, defaultFinalStep(revisions));
  }
  return out;
}

export interface WideTable extends Table {
  /** Where each row came from (`file row n`), for error messages downstream. */
  sources: string[];
}

export { isDglDuplicate } from '../tasks/grammaticality.js';

/**
 * The files a table of this scope uses: size — final weights of every model; training time —
 * every revision of the models that have revisions, plus their final weights.
 */
export function selectFiles(domain: Domain, files: ScoreFile[], scope: Scope): ScoreFile[] {
  const tasks = domainDef(domain).tasks;
  const inDomain = files.filter((f) => tasks.includes(f.task));
  if (scope === 'size') return inDomain.filter((f) => f.revision === '');
  const withRevisions = new Set(inDomain.filter((f) => f.revision !== '').map((f) => f.model.name));
  return inDomain.filter((f) => withRevisions.has(f.model.name));
}

/**
 * The documented, stable row order of every table: the domain's tasks in their order (syntax:
 * blimp, dgl), condition, the models by short name (code-unit order, as a sorted listing of an
 * output/ folder gives them), training step; within a file its own row order. It does not depend
 * on how the files arrived (import folder or score stages) nor on the declaration order, so a glmer
 * at a singular fit — whose standard errors, and at crt's flat optimum its estimates by ~1e-3, move
 * with the row order — always sees the same data.
 */
function sortFiles(domain: Domain, files: ScoreFile[], steps: Map<string, number>): ScoreFile[] {
  const tasks = domainDef(domain).tasks;
  const step = (f: ScoreFile): number => (f.revision === '' ? steps.get(f.model.name) ?? Number.MAX_SAFE_INTEGER : trainingStep(f.revision, 0));
  return [...files].sort((a, b) =>
    tasks.indexOf(a.task) - tasks.indexOf(b.task) ||
    (a.condition < b.condition ? -1 : a.condition > b.condition ? 1 : 0) ||
    (a.model.name < b.model.name ? -1 : a.model.name > b.model.name ? 1 : 0) ||
    step(a) - step(b));
}

function unionColumns(files: ScoreFile[]): string[] {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const f of files) for (const c of f.table.columns) if (!seen.has(c)) { seen.add(c); cols.push(c); }
  return cols;
}

/** Build the wide table of a domain and scope from already-read (and annotated) score files. */
export function buildWide(domain: Domain, allFiles: ScoreFile[], opts: WideOptions): WideTable {
  const selected = selectFiles(domain, allFiles, opts.scope);
  const steps = finalSteps(selected, opts.finalStep);
  const files = sortFiles(domain, selected, steps);
  const columns = unionColumns(files);
  if (!columns.includes('model')) columns.push('model');
  if (!columns.includes('revision')) columns.push('revision');
  const extra = ['model_family', 'model_n_params'];
  if (opts.scope === 'training_time') extra.push('training_step');
  const def = domainDef(domain);
  extra.push(...def.wideColumns);
  for (const c of extra) if (!columns.includes(c)) columns.push(c);

  const rows: Row[] = [];
  const sources: string[] = [];
  for (const f of files) {
    const step = opts.scope === 'training_time' ? trainingStep(f.revision, steps.get(f.model.name)!) : null;
    f.table.rows.forEach((src, i) => {
      if (def.dropRow?.(f.task, src)) return;
      const where = `${f.shown ?? f.path} row ${i + 2}`;
      const row: Row = {};
      for (const c of columns) row[c] = src[c] ?? null;
      row.model = f.model.display;
      row.revision = f.revision;
      row.model_family = f.model.family;
      row.model_n_params = f.model.paramsB;
      if (step !== null) row.training_step = step;
      def.deriveWide?.(row, src, { task: f.task, condition: f.condition, num: (c) => parseNum(src[c] ?? null, `${where} column ${c}`) });
      rows.push(row);
      sources.push(where);
    });
  }
  const table: WideTable = { columns, rows, sources };
  normaliseBooleans(table);
  return table;
}
