// Names that come from outside (a hub's listing and refs, a checkpoint's index, a zip's entries, a
// pipeline file) are data until checked here: a relative name never climbs out of its folder, a
// commit is 40 hex digits, a ref name is one git would accept and no shell could misread.

import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve, sep } from 'node:path';

/** A name refused as a path; `what` names where it came from (repo, revision, file). */
export class UnsafePathError extends Error {
  readonly kind = 'unsafe-path';
  constructor(readonly what: string, readonly unsafeName: string, readonly why: string) {
    super(`${what}: refusing ${JSON.stringify(unsafeName)}: ${why}`);
    this.name = 'UnsafePathError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/; // C0, DEL and C1 controls

/** Why `name` is not a safe relative path (posix separators), or null when it is. */
function relativeNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'not a string';
  if (name === '') return 'empty';
  if (name.length > 4096) return 'longer than 4096 characters';
  if (CONTROL.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/') || isAbsolute(name) || /^[A-Za-z]:/.test(name)) return 'is an absolute path';
  for (const seg of name.split('/')) {
    if (seg === '') return 'has an empty path segment';
    if (seg === '..' || seg === '.') return `has a "${seg}" path segment`;
  }
  return null;
}

/** Throw unless `name` is a relative path that stays where it is joined: no `..`, `.`, empty segment, absolute path, backslash or control character. */
export function assertSafeRelativeName(name: string, what: string): void {
  const problem = relativeNameProblem(name);
  if (problem) throw new UnsafePathError(what, String(name), problem);
}

/** The real path of `p`: its deepest existing ancestor resolved (symlinks included), the rest appended. */
function realpathOfExisting(p: string, what: string, name: string): string {
  const tail: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return resolve(realpathSync(cur), ...tail);
    } catch {
      // A symlink that points nowhere could still be written through: refuse it rather than guess.
      let link = false;
      try {
        link = lstatSync(cur).isSymbolicLink();
      } catch { /* does not exist: climb */ }
      if (link) throw new UnsafePathError(what, name, `${cur} is a dangling symbolic link`);
      const up = dirname(cur);
      if (up === cur) return resolve(cur, ...tail);
      tail.unshift(basename(cur));
      cur = up;
    }
  }
}

/**
 * `root/rel` as an absolute path, after checking that `rel` is a safe relative name and that the
 * path, with every existing part resolved (symlinks included), is still inside `root` (itself
 * resolved). Throws UnsafePathError otherwise. The returned path is the lexical one.
 */
export function resolveInside(root: string, rel: string, what: string): string {
  assertSafeRelativeName(rel, what);
  const base = resolve(root);
  const abs = resolve(base, ...rel.split('/'));
  const realRoot = realpathOfExisting(base, what, rel);
  const real = realpathOfExisting(abs, what, rel);
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new UnsafePathError(what, rel, `resolves to ${real}, outside ${realRoot}`);
  }
  return abs;
}

/** A full git commit id: 40 lowercase hex digits. */
export function isValidCommitId(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{40}$/.test(s);
}

/**
 * A ref name git's check-ref-format accepts (one-level names allowed, as for branches), narrowed
 * to characters no shell treats specially: letters, digits and `. _ - + = , @ /`. Hub branches
 * (`main`, `step143000`, `step10000-tokens44B`, `v1.0`) all fit; `step1$(touch x)` does not.
 */
export function isValidRefName(s: unknown): s is string {
  if (typeof s !== 'string' || s === '' || s.length > 255) return false;
  if (!/^[A-Za-z0-9._\-+=,@/]+$/.test(s)) return false; // also rules out control chars, space, ~^:?*[\ and shell syntax
  if (s === '@' || s.includes('@{')) return false;
  if (s.startsWith('-') || s.startsWith('/') || s.endsWith('/') || s.includes('//')) return false;
  if (s.includes('..') || s.endsWith('.')) return false;
  for (const seg of s.split('/')) {
    if (seg.startsWith('.') || seg.endsWith('.lock')) return false;
  }
  return true;
}
