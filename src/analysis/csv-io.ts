// Reading score CSVs and writing analysis tables. Score files come from our own score stages and
// from the paper, whose crt files went through a spreadsheet (TRUE/FALSE, rounded numbers, one file
// with a duplicated header), so reading is lenient about spelling but strict about shape.
// Writing targets pandas `read_csv` and R `read.csv` unchanged: booleans `True`/`False`, missing
// values empty, infinities `inf`/`-inf`, fields with commas, quotes or newlines quoted.
// Headers are read as pandas reads them: a repeated name becomes `name.1`, `name.2`, …, because the
// paper's analysis saw its files that way (docs/analysis.md, "Reading score files made elsewhere").

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { toCsv as csvText } from '../tasks/csv-write.js';

import type { Cell, Row } from '../util/row.js';

export type { Cell, Row };

export interface Table {
  columns: string[];
  rows: Row[];
  /** Header names that were repeated in the file, as `name → name.1` (set by parseCsv only when some were). */
  renamed?: string[];
}

/** Parse CSV text into a table of strings. `source` names the file in error messages. */
export function parseCsv(text: string, source: string): Table {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new Error(`${source}: not a readable CSV file: ${(err as Error).message}`);
  }
  const header = records[0];
  if (!header) throw new Error(`${source}: empty CSV file (no header row)`);
  if (header.some((c) => c === '')) throw new Error(`${source}: the header has an empty column name`);
  const columns = dedupHeader(header);
  const rows: Row[] = [];
  for (let i = 1; i < records.length; i++) {
    const rec = records[i]!;
    if (rec.length !== columns.length) {
      throw new Error(`${source}: row ${i + 1} has ${rec.length} fields but the header has ${columns.length}; fix the file`);
    }
    const row: Row = {};
    for (let j = 0; j < columns.length; j++) row[columns[j]!] = rec[j]!;
    rows.push(row);
  }
  const renamed = columns.flatMap((c, i) => (c === header[i] ? [] : [`${header[i]} → ${c}`]));
  return renamed.length ? { columns, rows, renamed } : { columns, rows };
}

export function readCsvFile(path: string): Table {
  return parseCsv(readFileSync(path, 'utf8'), path);
}

/**
 * pandas' `dedup_names` (read_csv's duplicate-column handling): the k-th repeat of `x` becomes
 * `x.k`; when that name is itself taken (`x, x, x.1`), the suffixing repeats on it (`x.1.1`).
 * Nothing is renamed by meaning: the paper's crt3/Llama-2-7b-hf.csv, whose hand-label column is a
 * second `generated_response_naive_label`, yields `generated_response_naive_label.1` as it did for
 * the paper, and so has no `generated_response_label`.
 */
export function dedupHeader(header: string[]): string[] {
  const counts = new Map<string, number>();
  return header.map((name) => {
    let col = name;
    let cur = counts.get(col) ?? 0;
    while (cur > 0) {
      counts.set(col, cur + 1);
      col = `${col}.${cur}`;
      cur = counts.get(col) ?? 0;
    }
    counts.set(col, cur + 1);
    return col;
  });
}

const TRUE_SPELLINGS = new Set(['True', 'TRUE', 'true']);
const FALSE_SPELLINGS = new Set(['False', 'FALSE', 'false']);

/** A boolean cell as written by Python (`True`), a spreadsheet (`TRUE`) or JS; null when empty. */
export function parseBool(value: Cell, where: string): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === null || value === '') return null;
  const s = String(value).trim();
  if (TRUE_SPELLINGS.has(s)) return true;
  if (FALSE_SPELLINGS.has(s)) return false;
  throw new Error(`${where}: expected True or False, found ${JSON.stringify(value)}`);
}

/** A numeric cell (`-1.25`, `1e-5`, `inf`, `-inf`, `nan`); null when empty. */
export function parseNum(value: Cell, where: string): number | null {
  if (typeof value === 'number') return value;
  if (value === null || value === '') return null;
  const s = String(value).trim().toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity') return Infinity;
  if (s === '-inf' || s === '-infinity') return -Infinity;
  if (s === 'nan') return NaN;
  const n = Number(s);
  if (s === '' || Number.isNaN(n)) throw new Error(`${where}: expected a number, found ${JSON.stringify(value)}`);
  return n;
}

/** True when every non-empty value of the column is a boolean spelling (and there is at least one). */
export function isBooleanColumn(rows: Row[], column: string): boolean {
  let any = false;
  for (const r of rows) {
    const v = r[column];
    if (v === null || v === undefined || v === '') continue;
    if (typeof v === 'boolean') { any = true; continue; }
    const s = String(v);
    if (!TRUE_SPELLINGS.has(s) && !FALSE_SPELLINGS.has(s)) return false;
    any = true;
  }
  return any;
}

/** Rewrite spreadsheet booleans (`TRUE`) as Python's (`True`) in every boolean column, in place. */
export function normaliseBooleans(table: Table): void {
  for (const c of table.columns) {
    if (!isBooleanColumn(table.rows, c)) continue;
    for (const r of table.rows) {
      const v = r[c];
      if (v === null || v === undefined || v === '') continue;
      r[c] = parseBool(v, c);
    }
  }
}

/** One cell as CSV text: True/False, inf/-inf, empty for null/NaN, shortest round-trip numbers. */
export function formatCell(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '';
    if (v === Infinity) return 'inf';
    if (v === -Infinity) return '-inf';
    return String(v);
  }
  return v;
}

/** The table as CSV text, by the one CSV writer (tasks/csv-write.ts: pandas' quoting, '\n' line ends). */
export function toCsv(table: Table): string {
  return csvText(table.columns, table.rows.map((r) => Object.fromEntries(table.columns.map((c) => [c, formatCell(r[c])]))));
}
