// Damaged metadata never wedges a run or makes status lie: a run record, stage pointer,
// fingerprint, failure note or materialized.json that cannot be parsed is moved to
// <store>/quarantine/meta/ (kept for a post-mortem), a warning says so, and the caller treats it
// as absent — so the stage it described simply re-runs.
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';

type Warn = (message: string) => void;
const roots = new Map<string, Warn>();

/** Where damage under a store root is quarantined and who hears about it: the first Store of a
 * root, unless a later one routes its warnings somewhere on purpose (`override`, the engine's). */
export function registerStoreRoot(root: string, warn: Warn, override = false): void {
  if (override || !roots.has(resolve(root))) roots.set(resolve(root), warn);
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Move a damaged file aside and warn; returns where it went. Never throws. */
export function quarantineDamaged(path: string, why: string): string | undefined {
  const abs = resolve(path);
  let root: string | undefined;
  for (const r of roots.keys()) if (abs.startsWith(r + sep) && (!root || r.length > root.length)) root = r;
  const rel = root ? relative(root, abs) : basename(abs);
  const to = root ? join(root, 'quarantine', 'meta', `${rel.split(sep).join('__')}.${stamp()}`) : `${abs}.damaged-${stamp()}`;
  try {
    if (root) mkdirSync(join(root, 'quarantine', 'meta'), { recursive: true });
    renameSync(abs, to);
  } catch {
    return undefined; // another process moved it first, or it is gone: absent either way
  }
  const warn = (root && roots.get(root)) || ((m: string) => void process.stderr.write(`warning: ${m}\n`));
  warn(`${path} was unreadable (${why}); moved it to ${to} and treated it as absent — what it described is recomputed`);
  return to;
}

/** Read JSON metadata: undefined when absent; when damaged (or not of the expected shape),
 * quarantined and undefined. */
export function readMetaSync<T>(path: string, valid?: (v: unknown) => boolean): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    quarantineDamaged(path, (e as Error).message);
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e: unknown) {
    quarantineDamaged(path, text.length === 0 ? 'empty file' : (e as Error).message);
    return undefined;
  }
  if (valid && !valid(v)) {
    quarantineDamaged(path, 'not the expected JSON');
    return undefined;
  }
  return v as T;
}
