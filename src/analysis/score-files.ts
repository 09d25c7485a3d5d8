// Finding score CSVs: either one file per score stage (vars say task, condition, model, revision)
// or a folder laid out like output/: `<task>[/<condition>]/<model>[_<revision>].csv`.

import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { readCsvFile, type Table } from './csv-io.js';
import type { ModelInfo, ModelRegistry } from './models.js';

export interface ScoreFileRef {
  task: string;
  /** '' for tasks without conditions. */
  condition: string;
  model: ModelInfo;
  /** '' for the final weights. */
  revision: string;
  path: string;
  /** The file to name in messages when `path` is a store copy: its working-tree copy or the imported original. */
  shown?: string;
}

export interface ScoreFile extends ScoreFileRef {
  table: Table;
}

/** Every `.csv` below `dir`, as paths relative to it with `/` separators, sorted. */
export function listCsvFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.csv')) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

export interface LayoutScan {
  files: ScoreFileRef[];
  /** Files that matched no declared model or do not fit the layout (reported, not read). */
  skipped: string[];
}

/** Interpret a folder laid out like output/ against the declared models. */
export function scanOutputLayout(dir: string, models: ModelRegistry): LayoutScan {
  const files: ScoreFileRef[] = [];
  const skipped: string[] = [];
  for (const rel of listCsvFiles(dir)) {
    const parts = rel.split('/');
    if (parts.length < 2 || parts.length > 3) { skipped.push(`${rel} (not <task>[/<condition>]/<model>.csv)`); continue; }
    const stem = parts[parts.length - 1]!.replace(/\.csv$/, '');
    const match = models.matchStem(stem);
    if (!match) { skipped.push(`${rel} (no declared model named ${JSON.stringify(stem.split('_')[0])})`); continue; }
    files.push({
      task: parts[0]!,
      condition: parts.length === 3 ? parts[1]! : '',
      model: match.model,
      revision: match.revision,
      path: join(dir, ...parts),
    });
  }
  return { files, skipped };
}

export function loadScoreFile(ref: ScoreFileRef): ScoreFile {
  return { ...ref, table: readCsvFile(ref.path) };
}
