// Errors that point at the line: `pipeline.yaml:12:5 unknown stage kind "socre" (did you mean
// "score"?)`, then the source line underlined. Positions come from the yaml Document's node ranges.
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';

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

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col} ${d.message}`;
  if (d.source === undefined) return head;
  const num = String(d.line);
  const pad = ' '.repeat(num.length);
  return `${head}\n ${num} | ${d.source}\n ${pad} | ${' '.repeat(Math.max(0, d.col - 1))}${'^'.repeat(Math.max(1, d.length))}`;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(word, candidates as string[]);
  if (distance(word, best) <= Math.max(2, Math.floor(best.length / 3))) return ` (did you mean "${best}"?)`;
  // A prefix or part of a longer name (pythia-1b → pythia-1b-deduped) is a likely slip too.
  const part = word.length >= 3 ? candidates.find((c) => c.startsWith(word) || c.includes(word)) : undefined;
  return part ? ` (did you mean "${part}"?)` : '';
}

/** Locates paths of a parsed YAML document and turns them into diagnostics. */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The node at `path`, or its key when `key` is set; falls back to the nearest existing parent. */
  private find(path: readonly (string | number)[], key: boolean): Node | undefined {
    let node: unknown = this.doc.contents;
    let found: Node | undefined = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return found;
        if (last && key) return pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        return found;
      }
      if (node && typeof node === 'object' && 'range' in node) found = node as Node;
    }
    return found;
  }

  at(path: readonly (string | number)[], message: string, opts: { key?: boolean } = {}): Diagnostic {
    const node = this.find(path, opts.key ?? false);
    const offset = node?.range?.[0] ?? 0;
    const end = node?.range?.[1] ?? offset + 1;
    const pos = this.lines.linePos(offset);
    const source = this.text.split('\n')[pos.line - 1] ?? '';
    const length = Math.max(1, Math.min(end, offset + source.length - pos.col + 1) - offset);
    return { file: this.file, line: pos.line, col: pos.col, length, message, source };
  }
}

/** A readable path for messages: stages.score.matrix.model */
export function showPath(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}
