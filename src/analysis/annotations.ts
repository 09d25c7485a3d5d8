// Hand labels for crt productions. The paper's authors labelled each generated response by hand;
// here the user keeps those labels in annotation files, which aggregate merges over the score rows
// (so editing a label re-runs aggregation, never scoring).
//
// Formats (docs/analysis.md):
// - a folder: `<condition>/<model>.csv` (model = short name), columns `item_id,label`;
// - one file: columns `condition,model,item_id,label` (model = short name or hub id).
// An empty label means "no label" (the response matched no option).

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv, type Row, type Table } from './csv-io.js';
import type { ModelRegistry } from './models.js';
import { listCsvFiles } from './score-files.js';

export type Annotations = Map<string, string>;

export function annotationKey(condition: string, model: string, itemId: string): string {
  return `${condition}\u0000${model}\u0000${itemId}`;
}

function requireColumns(t: Table, cols: string[], source: string): void {
  const missing = cols.filter((c) => !t.columns.includes(c));
  if (missing.length) throw new Error(`${source}: annotation file lacks column(s) ${missing.join(', ')}; expected ${cols.join(',')}`);
}

function resolveModel(name: string, models: ModelRegistry, source: string): string {
  if (models.get(name)) return name;
  const byId = models.all().find((m) => m.id === name);
  if (byId) return byId.name;
  throw new Error(`${source}: annotation for unknown model ${JSON.stringify(name)}; use a declared model's short name`);
}

function add(out: Annotations, key: string, label: string, source: string): void {
  if (out.has(key) && out.get(key) !== label) {
    throw new Error(`${source}: conflicting labels for ${key.split('\u0000').join('/')}: ${JSON.stringify(out.get(key))} and ${JSON.stringify(label)}`);
  }
  out.set(key, label);
}

/** Read annotations from a file or folder (see the formats above) into `out`. `shownAs` is how
 * errors name `path` (the user's `annotations/` rather than the store copy aggregation reads). */
export function readAnnotations(path: string, models: ModelRegistry, out: Annotations = new Map(), shownAs: string = path): Annotations {
  if (statSync(path).isDirectory()) {
    for (const rel of listCsvFiles(path)) {
      const parts = rel.split('/');
      const shown = join(shownAs, rel);
      if (parts.length < 2) throw new Error(`${shown}: annotation files go in <condition>/<model>.csv`);
      const condition = parts[parts.length - 2]!;
      const model = resolveModel(parts[parts.length - 1]!.replace(/\.csv$/, ''), models, shown);
      const t = parseCsv(readFileSync(join(path, rel), 'utf8'), shown);
      requireColumns(t, ['item_id', 'label'], shown);
      for (const r of t.rows) add(out, annotationKey(condition, model, String(r.item_id)), String(r.label ?? ''), shown);
    }
  } else {
    const t = parseCsv(readFileSync(path, 'utf8'), shownAs);
    requireColumns(t, ['condition', 'model', 'item_id', 'label'], shownAs);
    for (const r of t.rows) {
      const model = resolveModel(String(r.model), models, shownAs);
      add(out, annotationKey(String(r.condition), model, String(r.item_id)), String(r.label ?? ''), shownAs);
    }
  }
  return out;
}

/**
 * Replace `generated_response_label` of crt rows by their annotation, where one exists. Returns
 * how many rows were relabelled and which annotation keys matched no row.
 */
export function mergeAnnotations(
  rows: Array<{ row: Row; condition: string; model: string }>,
  annotations: Annotations,
): { applied: number; unused: string[] } {
  const used = new Set<string>();
  let applied = 0;
  for (const { row, condition, model } of rows) {
    const key = annotationKey(condition, model, String(row.item_id));
    const label = annotations.get(key);
    if (label === undefined) continue;
    row.generated_response_label = label;
    used.add(key);
    applied++;
  }
  const unused = [...annotations.keys()].filter((k) => !used.has(k)).map((k) => k.split('\u0000').join('/'));
  return { applied, unused };
}
