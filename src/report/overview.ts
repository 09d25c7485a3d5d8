// Per analysis domain: the figures from plot-data's series (the same rows the SVGs were drawn
// from), and the table of every model × task × method with mean, bootstrap CI and item count.
import { readFileSync } from 'node:fs';
import { bootstrapMeanCI } from '../analysis/bootstrap.js';
import type { Table } from '../analysis/csv-io.js';
import { byMethodSpec, gapVsSizeSpec, trainingSpec } from '../analysis/figure-specs.js';
import type { Domain } from '../analysis/domains.js';
import type { SeriesRow } from '../analysis/series.js';
import type { Store } from '../engine/store/store.js';
import { prettyMethod, type ReportDomain } from './domains.js';
import type { DomainView, FigureView, ItemSetIndex, StageProvenance, TableRow } from './types.js';

const FIGURES = ['by_method', 'gap_vs_size', 'training_time'] as const;

function specFor(fig: (typeof FIGURES)[number], domain: string, rows: SeriesRow[], familyOrder: string[]): Record<string, unknown> {
  const d = domain as Domain;
  return fig === 'by_method' ? byMethodSpec(d, rows, familyOrder) : fig === 'gap_vs_size' ? gapVsSizeSpec(d, rows, familyOrder) : trainingSpec(d, rows);
}

/** Does this stage work on `domain` (its matrix var, or all domains when it has none)? */
export function stageDomains(p: StageProvenance): string[] | 'all' {
  const v = p.vars['domain'];
  if (v !== undefined) return Array.isArray(v) ? v.map(String) : [String(v)];
  const d = p.run?.plan['domains'];
  return Array.isArray(d) ? d.map(String) : 'all';
}

function covers(p: StageProvenance, domain: string): boolean {
  const d = stageDomains(p);
  return d === 'all' || d.includes(domain);
}

export interface OverviewInput {
  store: Store;
  stages: StageProvenance[];
  itemSets: ItemSetIndex[];
  /** Long tables per domain (size, training time) from fresh aggregate stages. */
  long: Map<string, { size?: Table; trainingTime?: Table }>;
}

export function domainView(def: ReportDomain, inp: OverviewInput): DomainView {
  const view: DomainView = { name: def.name, title: def.title, tasks: def.tasks, methods: def.methods, metric: def.metric, figures: [], table: [], problems: [] };
  for (const p of inp.stages) {
    if ((p.kind === 'aggregate' || p.kind === 'plot-data') && covers(p, def.name) && p.state !== 'fresh') view.problems.push({ id: p.id, state: p.state, reasons: p.reasons });
  }
  const sets = (display: string, revision: string, task?: string): number[] =>
    inp.itemSets.filter((s) => s.domain === def.name && s.display === display && s.revision === revision && (!task || s.task === task)).map((s) => s.index);
  for (const p of inp.stages) {
    if (p.kind !== 'plot-data' || p.state !== 'fresh' || !p.run) continue;
    const familyOrder = Array.isArray(p.run.plan['familyOrder']) ? (p.run.plan['familyOrder'] as string[]) : [];
    for (const fig of FIGURES) {
      const out = p.run.outputs[`${def.name}_${fig}_json`];
      if (!out) continue;
      const series = JSON.parse(readFileSync(inp.store.objectPath(out.digest), 'utf8')) as { rows: SeriesRow[] };
      const rows = series.rows.map((r) => (fig === 'training_time' ? r : { revision: 'main', ...r }));
      const csv = p.run.outputs[`${def.name}_${fig}_csv`]?.materialize;
      view.figures.push({ name: fig, stage: p.id, spec: specFor(fig, def.name, rows, familyOrder), rows, ...(csv ? { csv } : {}) });
      if (fig === 'gap_vs_size') continue;
      for (const r of rows) {
        const revision = fig === 'training_time' ? String(r['revision'] ?? '') : '';
        view.table.push({
          domain: def.name, figure: fig, model: String(r['model']), revision, task: def.tasks.join('+'), method: String(r['eval_method']),
          methodLabel: String(r['method_label'] ?? prettyMethod(String(r['eval_method']))), mean: Number(r['mean']), ciLow: Number(r['ci_low']), ciHigh: Number(r['ci_high']), n: Number(r['n']),
          stage: p.id, source: csv ?? `${def.name}_${fig}.csv`, items: sets(String(r['model']), revision),
        });
      }
    }
  }
  if (def.tasks.length > 1) view.table.push(...perTaskRows(def, inp, sets));
  return view;
}

/**
 * A domain of several tasks (syntax: blimp + dgl) has one series row per model and method; the
 * table also splits it by task, from the same long table with the same bootstrap (its own stream).
 */
function perTaskRows(def: ReportDomain, inp: OverviewInput, sets: (d: string, r: string, t?: string) => number[]): TableRow[] {
  const long = inp.long.get(def.name)?.size;
  if (!long || !long.columns.includes('dataset')) return [];
  const agg = inp.stages.find((p) => p.kind === 'aggregate' && p.state === 'fresh' && covers(p, def.name));
  const groups = new Map<string, { model: string; task: string; method: string; values: number[] }>();
  for (const r of long.rows) {
    const c = String(r['response_correct'] ?? '');
    const v = def.metric === 'logprob' ? Number(r['logprob']) : c === 'True' ? 1 : c === 'False' ? 0 : NaN;
    if (!Number.isFinite(v)) continue;
    const k = `${String(r['model'])}\u0000${String(r['dataset'])}\u0000${String(r['eval_method'])}`;
    const g = groups.get(k) ?? { model: String(r['model']), task: String(r['dataset']), method: String(r['eval_method']), values: [] };
    g.values.push(v);
    groups.set(k, g);
  }
  return [...groups.entries()].map(([k, g]) => {
    const mean = g.values.reduce((a, b) => a + b, 0) / g.values.length;
    const [lo, hi] = bootstrapMeanCI(g.values, `report_by_task\u0000${def.name}\u0000${k}`);
    return {
      domain: def.name, figure: 'by_task', model: g.model, revision: '', task: g.task, method: g.method, methodLabel: prettyMethod(g.method),
      mean, ciLow: lo, ciHigh: hi, n: g.values.length, stage: agg?.id ?? '', source: `${def.name}_long_size.csv (split by task by the report)`, items: sets(g.model, '', g.task),
    };
  });
}
