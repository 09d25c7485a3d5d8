// Local model folders: an explicit `path:` or a mirror root laid out `<root>/<hub id>` (with or
// without the org folder), earlier checkpoints under `<model>/revisions/<rev>/` (the layout of
// shared/models). Everything here is a few stat() calls, because plan() runs on every run.

import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { assertSafeRelativeName } from '../util/safe-path.js';
import { asFetchError, insideOrRefuse } from './hub-names.js';

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `<base>` for the final weights (revision ''), `<base>/revisions/<rev>` otherwise. */
export function revisionFolder(base: string, revision: string): string {
  // Symlinks included, a revision's folder stays inside the model's folder.
  return revision === '' ? base : insideOrRefuse(base, `revisions/${revision}`, `model folder ${base} revision ${revision}`);
}

function inMirror(root: string, name: string, what: string): string {
  try {
    assertSafeRelativeName(name, what);
  } catch (err) {
    throw asFetchError(err);
  }
  return join(root, ...name.split('/'));
}

/** Candidate folders for a model under a mirror root, in the order they are tried. */
export function mirrorCandidates(root: string, id: string, name?: string): string[] {
  const last = id.split('/').pop() ?? id;
  // The model folder itself may be a link (a mirror of links is common); what is read for a
  // revision is then kept inside it (revisionFolder, listModelFiles).
  const what = `models mirror ${root}`;
  const out = [inMirror(root, id, what), inMirror(root, last, what)];
  if (name) out.push(inMirror(root, name, `${what} (model name)`));
  return [...new Set(out)];
}

export interface LocalLookup {
  /** The folder holding config.json etc. for the revision, or null. */
  folder: string | null;
  /** Every folder looked at, for the error message. */
  tried: string[];
}

/** Find the revision's folder under a model folder (explicit path). */
export async function findLocalRevision(base: string, revision: string): Promise<LocalLookup> {
  const folder = revisionFolder(base, revision);
  return { folder: (await isDir(folder)) ? folder : null, tried: [folder] };
}

/** Find the revision's folder under a mirror root; the first candidate holding it wins. */
export async function findMirrorRevision(root: string, id: string, revision: string, name?: string): Promise<LocalLookup> {
  const tried: string[] = [];
  for (const base of mirrorCandidates(root, id, name)) {
    const folder = revisionFolder(base, revision);
    tried.push(folder);
    if (await isDir(folder)) return { folder, tried };
  }
  return { folder: null, tried };
}

/** Revision names available under a model folder (for "did you mean" messages). */
export async function localRevisions(base: string): Promise<string[]> {
  try {
    const entries = await readdir(join(base, 'revisions'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * Every file under a folder as repo-style relative paths (posix separators), skipping the
 * `revisions/` subtree of a root folder: it holds other checkpoints, not this one's files.
 */
export async function listModelFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = relative(folder, full).split(sep).join('/');
      if (e.isDirectory()) {
        if (rel !== 'revisions') await walk(full);
      } else if (e.isFile() || e.isSymbolicLink()) {
        // A link may point anywhere: what is read for a model stays inside its folder.
        if (e.isSymbolicLink()) insideOrRefuse(folder, rel, `model folder ${folder}`);
        out.push(rel);
      }
    }
  };
  await walk(folder);
  return out.sort();
}
