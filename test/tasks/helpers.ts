// Paths shared by the task tests: the repo root (from dist/test/tasks/) and ../shared beside it.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const shared = path.resolve(repoRoot, '../shared');
export const stimuliDir = path.join(shared, 'data/stimuli');
export const paperDir = path.join(shared, 'data/paper-outputs');

export function stimulus(task: string): string {
  const file = { blimp: 'stimuli.csv', dgl: 'stimuli.csv', crt: 'stimuli.csv', digit_mat: 'problems.json', lambada: 'stimuli.jsonl' }[task];
  if (!file) throw new Error(`no stimuli for ${task}`);
  return path.join(stimuliDir, task, file);
}

/** The paper's CSV as text and parsed records (header first). */
export function paperCsv(rel: string): { text: string; records: string[][] } {
  const text = readFileSync(path.join(paperDir, rel), 'utf8');
  return { text, records: parse(text) as string[][] };
}
