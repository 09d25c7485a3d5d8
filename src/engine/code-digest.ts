// A kind's code key from what it really runs: the module, every project file it imports
// (statically, by `export … from`, by `import('…')` — kinds hide heavy libraries behind dynamic
// imports — or by `new URL('./x.js', import.meta.url)`, how a kind names a process it forks),
// each hashed without its comments or layout. A comment edit or a file the kind never reaches
// changes nothing; a file it does reach changes exactly its kinds.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import { sha256 } from './canonical.js';

export interface CodeFile {
  path: string;
  /** sha256 of the code with comments removed and whitespace runs collapsed. */
  digest: string;
  /** Project files it names (absolute paths, existing or not). */
  imports: string[];
}

/** JavaScript source without comments; whitespace runs outside literals collapse to one space or
 * newline. Strings, template literals (with nested `${}`) and regular expressions are kept as
 * written, so a `//` inside a string or a regex is not mistaken for a comment. */
export function stripComments(src: string): { code: string; specifiers: string[] } {
  const t = new Tokenizer(src);
  t.run();
  return { code: t.out.join('').trim(), specifiers: t.specifiers };
}

// After one of these keywords a `/` starts a regular expression, not a division.
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029;
}

/** Identifier and number characters (every non-ASCII character counts: enough for hashing). */
function isWord(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || (c >= 0x80 && !isSpace(c));
}

type Tok = { t: 'word' | 'str' | 'punct'; v: string };

class Tokenizer {
  out: string[] = [];
  specifiers: string[] = [];
  private i = 0;
  /** Significant tokens so far, most recent last (only the last few are kept). */
  private recent: Tok[] = [];
  /** Brace depth at each open `${` of an enclosing template literal. */
  private templates: number[] = [];
  private depth = 0;
  constructor(private readonly s: string) {}

  private push(tok: Tok, text: string): void {
    this.out.push(text);
    this.recent.push(tok);
    if (this.recent.length > 64) this.recent.splice(0, 48);
    if (tok.t === 'str') this.noteSpecifier(tok.v);
    else if (tok.v === ')' || tok.v === ',') this.noteUrl();
  }

  private back(n: number): Tok | undefined {
    return this.recent[this.recent.length - 1 - n];
  }

  /** `from '…'`, `import '…'`, `import('…')`: the string just pushed is a module specifier. */
  private noteSpecifier(v: string): void {
    const a = this.back(1);
    const b = this.back(2);
    if (a?.t === 'word' && (a.v === 'from' || a.v === 'import')) this.specifiers.push(v);
    else if (a?.v === '(' && b?.t === 'word' && b.v === 'import') this.specifiers.push(v);
  }

  /** `new URL('…', import.meta.url)`: seen when the `)` after `url` arrives. */
  private noteUrl(): void {
    const r = this.recent;
    const n = r.length;
    const want = ['new', 'URL', '(', '*', ',', 'import', '.', 'meta', '.', 'url', ')'];
    if (n < want.length) return;
    for (let k = 0; k < want.length; k++) {
      const tok = r[n - want.length + k]!;
      if (want[k] === '*' ? tok.t !== 'str' : tok.v !== want[k]) return;
    }
    this.specifiers.push(r[n - 8]!.v);
  }

  private space(): void {
    let nl = false;
    while (this.i < this.s.length && isSpace(this.s.charCodeAt(this.i))) {
      if (this.s.charCodeAt(this.i) === 10) nl = true;
      this.i++;
    }
    const last = this.out[this.out.length - 1];
    if (last === ' ' || last === '\n') {
      if (nl) this.out[this.out.length - 1] = '\n';
    } else if (this.out.length) this.out.push(nl ? '\n' : ' ');
  }

  private regexAllowed(): boolean {
    const p = this.back(0);
    if (!p) return true;
    if (p.t === 'str') return false;
    if (p.t === 'word') return REGEX_AFTER_WORD.has(p.v);
    return ![')', ']', '}'].includes(p.v);
  }

  run(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      const d = s[this.i + 1];
      if (isSpace(s.charCodeAt(this.i))) this.space();
      else if (c === '/' && d === '/') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
        this.space();
      } else if (c === '/' && d === '*') {
        const end = s.indexOf('*/', this.i + 2);
        this.i = end < 0 ? s.length : end + 2;
        // A block comment separates tokens: keep a space so `a/**/b` does not become `ab`.
        const last = this.out[this.out.length - 1];
        if (this.out.length && last !== ' ' && last !== '\n') this.out.push(' ');
        this.space();
      } else if (c === '"' || c === "'") this.quoted(c);
      else if (c === '`') this.template();
      else if (c === '/' && this.regexAllowed()) this.regex();
      else if (isWord(s.charCodeAt(this.i))) {
        let j = this.i + 1;
        while (j < s.length && isWord(s.charCodeAt(j))) j++;
        const w = s.slice(this.i, j);
        this.i = j;
        this.push({ t: 'word', v: w }, w);
      } else {
        this.i++;
        if (c === '{') this.depth++;
        else if (c === '}') {
          if (this.templates.length && this.templates[this.templates.length - 1] === this.depth) {
            this.templates.pop();
            this.template(true);
            continue;
          }
          this.depth--;
        }
        this.push({ t: 'punct', v: c }, c);
      }
    }
  }

  private quoted(q: string): void {
    const s = this.s;
    let j = this.i + 1;
    let escaped = false;
    while (j < s.length && s[j] !== q && s[j] !== '\n') {
      if (s[j] === '\\') {
        escaped = true;
        j += 2;
      } else j++;
    }
    const text = s.slice(this.i, j + 1);
    // The value matters only for module specifiers, which have no escapes worth decoding.
    const v = escaped ? text.slice(1, -1).replace(/\\(.)/g, '$1') : text.slice(1, -1);
    this.i = j + 1;
    this.push({ t: 'str', v }, text);
  }

  /** A template literal from its opening backtick (or from the `}` that closes a `${`). */
  private template(resume = false): void {
    const s = this.s;
    let j = resume ? this.i : this.i + 1;
    const start = resume ? this.i - 1 : this.i;
    while (j < s.length) {
      if (s[j] === '\\') j += 2;
      else if (s[j] === '`') {
        j++;
        break;
      } else if (s[j] === '$' && s[j + 1] === '{') {
        j += 2;
        this.templates.push(this.depth);
        this.out.push(s.slice(start, j));
        this.i = j;
        this.recent.push({ t: 'punct', v: '${' });
        return;
      } else j++;
    }
    this.out.push(s.slice(start, j));
    this.i = j;
    this.recent.push({ t: 'str', v: '`' });
  }

  private regex(): void {
    const s = this.s;
    let j = this.i + 1;
    let cls = false;
    while (j < s.length && s[j] !== '\n') {
      if (s[j] === '\\') j += 2;
      else if (s[j] === '[') (cls = true), j++;
      else if (s[j] === ']') (cls = false), j++;
      else if (s[j] === '/' && !cls) break;
      else j++;
    }
    j++;
    while (j < s.length && /[a-z]/.test(s[j]!)) j++;
    const text = s.slice(this.i, j);
    this.i = j;
    this.out.push(text);
    this.recent.push({ t: 'str', v: '/re/' });
  }
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
    mkdirSync(dirname(persisted.file), { recursive: true });
    const tmp = `${persisted.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(persisted.entries));
    renameSync(tmp, persisted.file);
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
