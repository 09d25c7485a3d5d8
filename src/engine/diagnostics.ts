// Errors that point at the line: `pipeline.yaml:12:5 unknown stage kind "socre" (did you mean
// "score"?)`, then the source line underlined. Positions come from the yaml Document's node ranges.
import { createRequire } from 'node:module';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Length of the underline. */
  length: number;
  message: string;
  source?: string;
}

export class PipelineError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n\n'));
    this.name = 'PipelineError';
    this.diagnostics = diagnostics;
  }
}

const WIDTH = 160;

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col} ${d.message}`;
  if (d.source === undefined) return head;
  const num = String(d.line);
  const pad = ' '.repeat(num.length);
  // A very long line (a minified or hostile file) is shown as a window around the column.
  const from = d.source.length > WIDTH ? Math.max(0, Math.min(d.col - 1 - 40, d.source.length - WIDTH)) : 0;
  const shown = (from > 0 ? '…' : '') + d.source.slice(from, from + WIDTH) + (from + WIDTH < d.source.length ? '…' : '');
  const caret = Math.max(0, d.col - 1 - from) + (from > 0 ? 1 : 0);
  const width = Math.max(1, Math.min(d.length, WIDTH - caret));
  return `${head}\n ${num} | ${shown}\n ${pad} | ${' '.repeat(caret)}${'^'.repeat(width)}`;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  // Only error paths need it: loaded on first use.
  const { closest, distance } = createRequire(import.meta.url)('fastest-levenshtein') as typeof import('fastest-levenshtein');
  const best = closest(word, candidates as string[]);
  if (distance(word, best) <= Math.max(2, Math.floor(best.length / 3))) return ` (did you mean "${best}"?)`;
  // A prefix or part of a longer name (pythia-1b → pythia-1b-deduped) is a likely slip too.
  const part = word.length >= 3 ? candidates.find((c) => c.startsWith(word) || c.includes(word)) : undefined;
  return part ? ` (did you mean "${part}"?)` : '';
}

/** Anything that turns a path of the pipeline file into a located diagnostic. */
export interface SourceLocator {
  readonly file: string;
  at(path: readonly (string | number)[], message: string, opts?: { key?: boolean }): Diagnostic;
}

/** A readable path for messages: stages.score.matrix.model */
export function showPath(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}
