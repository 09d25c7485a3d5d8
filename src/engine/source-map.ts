// Positions of a parsed pipeline file: a path (stages.score.uses) → file:line:col and the line.
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Diagnostic, SourceLocator } from './diagnostics.js';

/** Locates paths of a parsed YAML document and turns them into diagnostics. */
export class SourceMap implements SourceLocator {
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

