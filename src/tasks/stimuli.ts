// Readers for the paper's stimuli files: CSV (blimp, dgl, crt), JSON lines (lambada) and the
// digit-matrix problems, either as problems.json or as the original numpy `all_problems.npz`.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { NdArray, parseNpz } from './npz.js';

export interface CsvTable {
  header: string[];
  /** Cells as text, exactly as in the file (so they are written back unchanged). */
  rows: Record<string, string>[];
}

export function parseCsvText(text: string, source = 'stimuli.csv'): CsvTable {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: false, skip_empty_lines: true }) as string[][];
  } catch (e) {
    throw new Error(`${source}: not a readable CSV file (${(e as Error).message})`);
  }
  const [header, ...body] = records;
  if (!header) throw new Error(`${source}: empty file (expected a header line and at least one row)`);
  // A header with no rows would score nothing and write a header-only table: refuse it here.
  if (body.length === 0) throw new Error(`${source}: no rows under the header (${header.join(', ')}); the stimuli file has no items`);
  return {
    header,
    rows: body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']))),
  };
}

export function readCsvFile(path: string): CsvTable {
  return parseCsvText(readFileSync(path, 'utf8'), path);
}

/** Check a table has the columns a task needs, naming the file and the missing columns. */
export function requireColumns(table: CsvTable, columns: readonly string[], source: string): void {
  const missing = columns.filter((c) => !table.header.includes(c));
  if (missing.length > 0) throw new Error(`${source}: missing column(s) ${missing.join(', ')} (has ${table.header.join(', ')})`);
}

export interface LambadaItem {
  /** The item id as written in the file (a JSON number or string). */
  itemId: string;
  text: string;
}

export function readLambada(path: string): LambadaItem[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const items: LambadaItem[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const rec = obj as { text?: unknown; item_id?: unknown };
    if (typeof rec.text !== 'string') throw new Error(`${path}:${i + 1}: expected a string field "text"`);
    const id = rec.item_id === undefined ? String(items.length) : String(rec.item_id);
    items.push({ itemId: id, text: rec.text });
  });
  if (items.length === 0) throw new Error(`${path}: empty file (expected one JSON object per line, with a "text" field)`);
  return items;
}

export interface DigitMatProblem {
  /** 3 × 3 cells, each a list of digits; -1 is a blank. */
  grid: number[][][];
  /** 8 answer choices, each a list of digits. */
  answer_choices: number[][];
  correct_ind: number;
}

export interface DigitMatType {
  name: string;
  perm_invariant: boolean;
  problems: DigitMatProblem[];
}

function asDigits(x: unknown, where: string): number[] {
  const v = plain(x);
  if (typeof v === 'number') return [v];
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isInteger(d))) {
    throw new Error(`${where}: expected a list of digits, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

/** numpy arrays, bigints and Maps → plain nested arrays and numbers. */
function plain(x: unknown): unknown {
  if (x instanceof NdArray) return plain(x.toNested());
  if (Array.isArray(x)) return x.map(plain);
  if (typeof x === 'bigint') return Number(x);
  return x;
}

function validateTypes(types: DigitMatType[], source: string): DigitMatType[] {
  for (const t of types) {
    t.problems.forEach((p, i) => {
      const where = `${source}: ${t.name} problem ${i}`;
      if (p.grid.length !== 3 || p.grid.some((row) => row.length !== 3)) throw new Error(`${where}: grid is not 3 × 3`);
      if (p.answer_choices.length !== 8) throw new Error(`${where}: expected 8 answer choices, got ${p.answer_choices.length}`);
      if (!Number.isInteger(p.correct_ind) || p.correct_ind < 0 || p.correct_ind >= 8) throw new Error(`${where}: correct_ind ${p.correct_ind} out of range`);
    });
  }
  return types;
}

export function parseProblemsJson(text: string, source = 'problems.json'): DigitMatType[] {
  const doc = JSON.parse(text) as { problem_types?: unknown };
  if (!Array.isArray(doc.problem_types)) throw new Error(`${source}: expected a "problem_types" list`);
  const types = (doc.problem_types as Record<string, unknown>[]).map((t, ti) => {
    const where = `${source}: problem_types[${ti}]`;
    if (typeof t.name !== 'string' || !Array.isArray(t.problems)) throw new Error(`${where}: needs "name" and "problems"`);
    return {
      name: t.name,
      perm_invariant: Boolean(t.perm_invariant),
      problems: (t.problems as Record<string, unknown>[]).map((p, pi) => ({
        grid: (p.grid as unknown[][]).map((row) => row.map((cell) => asDigits(cell, `${where}.problems[${pi}].grid`))),
        answer_choices: (p.answer_choices as unknown[]).map((a) => asDigits(a, `${where}.problems[${pi}].answer_choices`)),
        correct_ind: Number(p.correct_ind),
      })),
    };
  });
  return validateTypes(types, source);
}

/**
 * The original `all_problems.npz` (Webb et al.): key `all_problems` is a 0-d object array holding a
 * dict type → {prob: [N,3,3,(k)], answer_choices: [N,8,(k)], correct_ind: [N], perm_invariant}.
 * Blank padding inside cells (-1) is kept: the prompt writes it as a space.
 */
export function parseProblemsNpz(bytes: Uint8Array, source = 'all_problems.npz'): DigitMatType[] {
  const arrays = parseNpz(bytes, source);
  const holder = arrays.get('all_problems');
  if (!holder) throw new Error(`${source}: no array "all_problems" (has ${[...arrays.keys()].join(', ')})`);
  const dict = holder.size === 1 ? holder.data[0] : undefined;
  if (!(dict instanceof Map)) throw new Error(`${source}: "all_problems" does not hold a dict of problem types`);
  const types: DigitMatType[] = [];
  for (const [name, entry] of dict as Map<unknown, unknown>) {
    if (!(entry instanceof Map)) throw new Error(`${source}: problem type ${String(name)} is not a dict`);
    const where = `${source}: ${String(name)}`;
    const prob = plain(entry.get('prob')) as unknown[];
    const choices = plain(entry.get('answer_choices')) as unknown[];
    const correct = plain(entry.get('correct_ind'));
    const correctList = Array.isArray(correct) ? correct : [correct];
    if (!Array.isArray(prob) || !Array.isArray(choices)) throw new Error(`${where}: needs "prob" and "answer_choices" arrays`);
    types.push({
      name: String(name),
      perm_invariant: Boolean(plain(entry.get('perm_invariant'))),
      problems: prob.map((grid, i) => ({
        grid: (grid as unknown[][]).map((row) => row.map((cell) => asDigits(cell, `${where} problem ${i} grid`))),
        answer_choices: ((choices[i] ?? []) as unknown[]).map((a) => asDigits(a, `${where} problem ${i} answer_choices`)),
        correct_ind: Number(correctList[i]),
      })),
    });
  }
  return validateTypes(types, source);
}

export function readDigitMatProblems(path: string): DigitMatType[] {
  const bytes = readFileSync(path);
  // Sniff the content (a zip starts with "PK"): stored artifacts have no meaningful extension.
  if (path.endsWith('.npz') || (bytes[0] === 0x50 && bytes[1] === 0x4b)) return parseProblemsNpz(new Uint8Array(bytes), path);
  return parseProblemsJson(bytes.toString('utf8'), path);
}
