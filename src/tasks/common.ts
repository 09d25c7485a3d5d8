// What every task module shares: the arguments a task runs with, its output, and row helpers.

import type { LmSession } from './lm-session.js';
import type { Cell } from './py-format.js';

export interface TaskArgs {
  session: LmSession;
  stimuliPath: string;
  /** crt: crt1 | crt2 | crt3; unused elsewhere. */
  condition?: string;
  /** Only the first N items (digit_mat: the first N rows in output order). */
  limit?: number;
  maxNewTokens: number;
  /** Hub id written in the `model` column. */
  model: string;
  /** Revision written in the `revision` column ('' for the final weights). */
  revision: string;
}

export interface TaskOutput {
  header: string[];
  rows: Record<string, Cell>[];
}

export type Row = Record<string, Cell>;

/** The first `limit` items (all when limit is undefined). */
export function applyLimit<T>(items: T[], limit: number | undefined): T[] {
  if (limit === undefined) return items;
  if (!Number.isInteger(limit) || limit < 0) throw new Error(`limit must be a non-negative integer, got ${limit}`);
  return items.slice(0, limit);
}

/** Empty the score cells (everything from `firstScore` up to, not including, model/revision) of a failed item's row. */
export function blankScores(row: Row, header: readonly string[], firstScore: string): void {
  const start = header.indexOf(firstScore);
  if (start < 0) throw new Error(`blankScores: no column ${firstScore}`);
  for (const col of header.slice(start)) if (col !== 'model' && col !== 'revision') row[col] = null;
}

/** Index of the first maximum (numpy argmax). */
export function firstArgmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
