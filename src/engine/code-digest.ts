// A kind's code key from what it really runs: the module, every project file it imports
// (statically, by `export … from`, by `import('…')` — kinds hide heavy libraries behind dynamic
// imports — or by `new URL('./x.js', import.meta.url)`, how a kind names a process it forks),
// each hashed without its comments or layout. A comment edit or a file the kind never reaches
// changes nothing; a file it does reach changes exactly its kinds.
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import { tokenizer, type Token } from 'acorn';
import { sha256 } from './canonical.js';
import { writeFileAtomicSync } from './store/fs-util.js';

export interface CodeFile {
  path: string;
  /** sha256 of the code with comments removed and whitespace runs collapsed. */
  digest: string;
  /** Project files it names (absolute paths, existing or not). */
  imports: string[];
}

/** JavaScript source without comments; whitespace runs between tokens collapse to one space, or a
 * newline where the run (comments removed) held one — a line break can matter (ASI), its amount
 * cannot. Tokens come from acorn's lexer, which knows a regular expression from a division and a
 * template literal's `${}` from a brace: strings, templates and regular expressions are kept as
 * written, so a `//` inside one is never taken for a comment. */
export function stripComments(src: string): { code: string; specifiers: string[] } {
  const out: string[] = [];
  const recent: Tok[] = [];
  const specifiers: string[] = [];
  let prevEnd = -1;
  const lexer = tokenizer(src, {
    ecmaVersion: 'latest',
    sourceType: 'module',
    allowHashBang: true,
    allowReturnOutsideFunction: true,
    allowAwaitOutsideFunction: true,
    allowImportExportEverywhere: true,
  });
  for (const token of lexer) {
    if (prevEnd >= 0) out.push(gap(src.slice(prevEnd, token.start)));
    prevEnd = token.end;
    const tok = classify(token, src);
    out.push(src.slice(token.start, token.end));
    recent.push(tok);
    if (recent.length > 64) recent.splice(0, 48);
    if (tok.t === 'str') noteSpecifier(recent, specifiers);
    else if (tok.v === ')' || tok.v === ',') noteUrl(recent, specifiers);
  }
  return { code: out.join('').trim(), specifiers };
}

/** What separates two tokens: nothing, a space, or a newline (comments count as a space; a line
 * comment's end of line counts as a newline). */
function gap(text: string): string {
  if (text === '') return '';
  let nl = false;
  for (let i = 0; i < text.length; ) {
    if (text.startsWith('/*', i)) {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? text.length : e + 2;
    } else if (text.startsWith('//', i)) {
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e;
    } else {
      if (text[i] === '\n') nl = true;
      i++;
    }
  }
  return nl ? '\n' : ' ';
}

type Tok = { t: 'word' | 'str' | 'punct'; v: string };

/** A token as the specifier scan sees it: names and keywords are words; strings, templates and
 * regular expressions are literals (a string's value is its cooked text); the rest punctuation. */
function classify(token: Token, src: string): Tok {
  const label = token.type.label;
  if (label === 'string') return { t: 'str', v: String((token as Token & { value?: unknown }).value) };
  if (label === 'template' || label === 'regexp' || label === 'invalidTemplate') return { t: 'str', v: src.slice(token.start, token.end) };
  if (label === 'name' || token.type.keyword !== undefined || label === 'num' || label === 'privateId') return { t: 'word', v: src.slice(token.start, token.end) };
  return { t: 'punct', v: src.slice(token.start, token.end) };
}

/** `from '…'`, `import '…'`, `import('…')`: the string just read is a module specifier. */
function noteSpecifier(r: Tok[], specifiers: string[]): void {
  const v = r[r.length - 1]!.v;
  const a = r[r.length - 2];
  const b = r[r.length - 3];
  if (a?.t === 'word' && (a.v === 'from' || a.v === 'import')) specifiers.push(v);
  else if (a?.v === '(' && b?.t === 'word' && b.v === 'import') specifiers.push(v);
}

/** `new URL('…', import.meta.url)`: seen when the `)` after `url` arrives. */
function noteUrl(r: Tok[], specifiers: string[]): void {
  const n = r.length;
  const want = ['new', 'URL', '(', '*', ',', 'import', '.', 'meta', '.', 'url', ')'];
  if (n < want.length) return;
  for (let k = 0; k < want.length; k++) {
    const tok = r[n - want.length + k]!;
    if (want[k] === '*' ? tok.t !== 'str' : tok.v !== want[k]) return;
  }
  specifiers.push(r[n - 8]!.v);
}

const cache = new Map<string, CodeFile>();

/** Digests of unchanged files, kept between processes (tokenizing the score kind's ~25 files cold
 * costs a no-op run hundreds of ms): path → size, mtime and the file's CodeFile. */
interface Persisted {
  [path: string]: { size: number; mtimeMs: number; ino: number; digest: string; imports: string[] };
}
let persisted: { file: string; entries: Persisted; dirty: boolean } | undefined;

/** Keep file digests in `file` (under the store) from now on; call saveCodeDigestCache() to write. */
export function useCodeDigestCache(file: string): void {
  if (persisted?.file === file) return;
  let entries: Persisted = {};
  try {
    entries = JSON.parse(readFileSync(file, 'utf8')) as Persisted;
  } catch {
    /* absent or damaged: start empty, it is only a cache */
  }
  persisted = { file, entries, dirty: false };
}

export function saveCodeDigestCache(): void {
  if (!persisted?.dirty) return;
  try {
    writeFileAtomicSync(persisted.file, JSON.stringify(persisted.entries));
    persisted.dirty = false;
  } catch {
    /* a read-only store only costs the next process the tokenizing */
  }
}

/** One file's code digest and the project files it names (cached for the life of the process). */
export function codeFile(path: string): CodeFile {
  const hit = cache.get(path);
  if (hit) return hit;
  let st: { size: number; mtimeMs: number; ino: number } | undefined;
  if (persisted) {
    st = statSync(path);
    const p = persisted.entries[path];
    if (p && p.size === st.size && p.mtimeMs === st.mtimeMs && p.ino === st.ino) {
      const f = { path, digest: p.digest, imports: p.imports };
      cache.set(path, f);
      return f;
    }
  }
  const f = digestFile(path);
  cache.set(path, f);
  if (persisted && st) {
    persisted.entries[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest: f.digest, imports: f.imports };
    persisted.dirty = true;
  }
  return f;
}

function digestFile(path: string): CodeFile {
  const text = readFileSync(path, 'utf8');
  if (['.js', '.mjs', '.cjs'].includes(extname(path))) {
    const { code, specifiers } = stripComments(text);
    // A folder URL (`new URL('../src/tasks/', …)`, an old `code:` entry) names no code by itself.
    const imports = specifiers.filter((x) => (x.startsWith('./') || x.startsWith('../')) && !x.endsWith('/')).map((x) => resolve(dirname(path), x.split(/[?#]/)[0]!));
    return { path, digest: sha256(code), imports };
  }
  return { path, digest: sha256(text), imports: [] };
}

/** Every project file reachable from `entry` by its imports; files under node_modules are
 * libraries (their versions are keyed by name) and are not followed. A named file that does not
 * exist is keyed as missing rather than failing the plan. */
export function importClosure(entry: string): { path: string; digest: string }[] {
  const seen = new Map<string, string>();
  const todo = [resolve(entry)];
  while (todo.length) {
    const p = todo.pop()!;
    if (seen.has(p) || p.includes('/node_modules/')) continue;
    let f: CodeFile;
    try {
      f = codeFile(p);
    } catch {
      seen.set(p, 'missing');
      continue;
    }
    seen.set(p, f.digest);
    todo.push(...f.imports);
  }
  return [...seen].map(([path, digest]) => ({ path, digest })).sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The digest of a kind's code: its closure, each file named relative to the kind's module (so
 * the same code keys alike wherever the project is checked out), plus library versions. */
export function kindCodeDigest(entry: string, libraries: Record<string, string>): { digest: string; files: string[] } {
  const base = dirname(resolve(entry));
  const closure = importClosure(entry);
  const parts = closure.map((f) => `${relative(base, f.path)}:${f.digest}`);
  for (const [lib, v] of Object.entries(libraries).sort()) parts.push(`lib:${lib}@${v}`);
  return { digest: sha256(parts.join('\n')), files: closure.map((f) => f.path) };
}
