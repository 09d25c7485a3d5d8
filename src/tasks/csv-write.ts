// CSV output identical to pandas' `DataFrame.to_csv(index=False)` (Python csv module,
// QUOTE_MINIMAL, '"' doubled inside quotes, '\n' line ends): a field is quoted only when it holds
// the delimiter, a quote or a line break. Cells arrive already formatted (py-format.ts; analysis
// tables by analysis/csv-io.ts's formatCell). The project's one CSV writer: pandas and R read it.

import type { Cell } from './py-format.js';

function field(value: Cell): string {
  if (value === null) return '';
  if (/[",\n\r]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One CSV line (without its line end). */
export function csvLine(cells: readonly Cell[]): string {
  // The csv module quotes a lone empty field so that the line is not read as blank.
  if (cells.length === 1 && (cells[0] === null || cells[0] === '')) return '""';
  return cells.map(field).join(',');
}

/** The whole file: header, then one line per row in header order; missing keys are empty cells. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<Record<string, Cell>>): string {
  const lines = [csvLine(header)];
  for (const row of rows) lines.push(csvLine(header.map((h) => row[h] ?? null)));
  return lines.join('\n') + '\n';
}
