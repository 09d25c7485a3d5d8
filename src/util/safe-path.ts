// Names that come from outside (a hub's listing, a checkpoint's index, a zip's entries, a ref
// name) are data until checked here: a relative name has no `..`, no absolute or drive part, no
// backslash and no control character, and a path built from one stays inside its root after
// symbolic links are resolved. Errors name the offending name (JSON-quoted), never a file's content.

import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

// C0 controls, DEL and C1 controls: never part of a file name we accept.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Throw unless `name` is a plain relative name ("a/b.safetensors"); `what` says what it names. */
export function assertSafeRelativeName(name: string, what: string): void {
  const bad = unsafeReason(name);
  if (bad) throw new Error(`${what} ${JSON.stringify(name)} is refused: ${bad}`);
}

function unsafeReason(name: string): string | null {
  if (typeof name !== 'string' || name === '') return 'it is empty';
  if (name.length > 1024) return 'it is longer than 1024 characters';
  if (CONTROL.test(name)) return 'it holds a control character';
  if (name.includes('\\')) return 'it holds a backslash';
  if (name.startsWith('/') || isAbsolute(name) || /^[A-Za-z]:/.test(name)) return 'it is an absolute path';
  const parts = name.split('/');
  if (parts.some((p) => p === '..')) return 'it holds a ".." part';
  if (parts.some((p) => p === '' || p === '.')) return 'it holds an empty or "." part';
  return null;
}

/** The deepest existing ancestor of `p` with its links resolved, plus the rest of the path. */
function realpathOfExisting(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return p;
      rest.push(basename(head));
      head = up;
    }
  }
}

/**
 * The absolute path of `rel` under `root`, after checking `rel` with assertSafeRelativeName and
 * that the path, with the symbolic links of its existing parts resolved, is still inside `root`
 * (itself resolved). `what` names the thing in the error.
 */
export function resolveInside(root: string, rel: string, what: string): string {
  assertSafeRelativeName(rel, what);
  const path = resolve(root, rel);
  const realRoot = realpathOfExisting(resolve(root));
  const real = realpathOfExisting(path);
  const r = relative(realRoot, real);
  if (r === '' || r.startsWith(`..${sep}`) || r === '..' || isAbsolute(r)) {
    throw new Error(`${what} ${JSON.stringify(rel)} is refused: it resolves outside ${root}`);
  }
  return path;
}

/** A git commit id as the hub gives it: exactly 40 lowercase hex digits. */
export function isValidCommitId(s: unknown): boolean {
  return typeof s === 'string' && /^[0-9a-f]{40}$/.test(s);
}

/**
 * A git ref name (git check-ref-format's rules, one-level names allowed): no control characters,
 * space, ~ ^ : ? * [ \, no "..", "@{", "//", no part starting with "." or ending with ".lock",
 * not "@", not starting or ending with "/" and not ending with ".".
 */
export function isValidRefName(s: unknown): boolean {
  if (typeof s !== 'string' || s === '' || s.length > 255 || s === '@') return false;
  if (CONTROL.test(s) || /[ ~^:?*[\\]/.test(s)) return false;
  if (s.includes('..') || s.includes('@{') || s.includes('//')) return false;
  if (s.startsWith('/') || s.endsWith('/') || s.endsWith('.')) return false;
  return s.split('/').every((p) => p !== '' && !p.startsWith('.') && !p.endsWith('.lock'));
}
