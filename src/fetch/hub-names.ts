// Names a hub (or a mirror, or a cached answer of either) hands us are checked here, where they
// enter: repo ids, revisions, commit ids, ref names, listing file names and their sizes/digests.
// A hub that sends `sha: "../../x"` or a listing entry `a/../../x` is refused, naming the repo,
// the revision and the name, before anything is joined into a path.

import { assertSafeRelativeName, isValidCommitId, isValidRefName, resolveInside, UnsafePathError } from '../util/safe-path.js';
import { FetchError } from './errors.js';
import type { RevisionInfo, Sibling } from './hub-client.js';
import type { Refs } from './revisions.js';

function unsafe(message: string): FetchError {
  return new FetchError('unsafe-name', message);
}

/** An UnsafePathError from the shared validators as this module's FetchError (other errors pass). */
export function asFetchError(err: unknown): unknown {
  return err instanceof UnsafePathError ? new FetchError('unsafe-name', err.message, { cause: err }) : err;
}

/** `resolveInside` whose refusal is a FetchError('unsafe-name'). */
export function insideOrRefuse(root: string, rel: string, what: string): string {
  try {
    return resolveInside(root, rel, what);
  } catch (err) {
    throw asFetchError(err);
  }
}

const ID_PART = '[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?';
const HUB_ID_RE = new RegExp(`^(?:${ID_PART}/)?${ID_PART}$`);

/** huggingface_hub's validate_repo_id: `[org/]name` of letters, digits, `_.-`, no `--` or `..`, at most 96 characters. */
export function isValidHubId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 96 && HUB_ID_RE.test(id) && !id.includes('--') && !id.includes('..') && !id.endsWith('.git');
}

export function checkHubId(id: string, kind: 'model' | 'dataset' = 'model'): void {
  if (!isValidHubId(id)) {
    throw unsafe(`${kind} id ${JSON.stringify(id)} is not a hub id: use <org>/<name> of letters, digits, "_", "." and "-" (no "--" or "..", at most 96 characters)`);
  }
}

/** A revision the user (or a pipeline file) names: a ref name or a commit id; never a path. */
export function checkRevision(id: string, revision: string, kind: 'model' | 'dataset' = 'model'): void {
  if (revision === '' || isValidRefName(revision) || isValidCommitId(revision)) return;
  throw unsafe(`${kind} ${id}: revision ${JSON.stringify(revision)} is not a valid git ref name or commit id `
    + '(letters, digits and "._-+=,@/", no "..", no leading "-" or "/", no "//", not ending in "/", "." or ".lock")');
}

function checkCommit(what: string, sha: unknown): asserts sha is string {
  if (!isValidCommitId(sha)) throw unsafe(`${what}: the hub answered commit ${JSON.stringify(sha)}, which is not 40 hex digits; refusing it`);
}

const HEX64 = /^[0-9a-f]{64}$/i;
const HEX40 = /^[0-9a-f]{40}$/i;

function checkSibling(what: string, s: unknown): asserts s is Sibling {
  const x = s as Partial<Sibling> | null;
  if (!x || typeof x !== 'object') throw unsafe(`${what}: a listing entry is not an object`);
  try {
    assertSafeRelativeName(x.rfilename as string, `${what}: listing entry`);
  } catch (err) {
    throw asFetchError(err);
  }
  const name = JSON.stringify(x.rfilename);
  const size = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  if (!size(x.size)) throw unsafe(`${what}: listing entry ${name} has size ${JSON.stringify(x.size)}, not a whole number of bytes`);
  if (x.blobId !== undefined && !(typeof x.blobId === 'string' && HEX40.test(x.blobId))) {
    throw unsafe(`${what}: listing entry ${name} has blobId ${JSON.stringify(x.blobId)}, not 40 hex digits`);
  }
  if (x.lfs !== undefined) {
    if (!x.lfs || typeof x.lfs !== 'object' || typeof x.lfs.sha256 !== 'string' || !HEX64.test(x.lfs.sha256) || !size(x.lfs.size) || x.lfs.size === undefined) {
      throw unsafe(`${what}: listing entry ${name} has an lfs record without a 64-hex sha256 and a size`);
    }
  }
}

/**
 * Check a revision answer (from the hub or a cached copy) before any of it is used: its commit is
 * 40 hex digits and every listed name is a safe relative path with sane sizes and digests.
 */
export function checkRevisionInfo(kind: 'model' | 'dataset', id: string, rev: string, info: Partial<RevisionInfo>): RevisionInfo {
  const what = `${kind} ${id} revision ${rev}`;
  checkCommit(what, info.sha);
  if (!Array.isArray(info.siblings)) throw unsafe(`${what}: the answer has no file listing`);
  for (const s of info.siblings) checkSibling(what, s);
  return { id, sha: info.sha, siblings: info.siblings };
}

/** Branch and tag names are refused unless valid ref names, their commits unless 40 hex digits. */
export function checkRefs(id: string, refs: { branches?: unknown; tags?: unknown }): Refs {
  const out: Refs = { branches: [], tags: [] };
  for (const key of ['branches', 'tags'] as const) {
    const list = refs[key] ?? [];
    if (!Array.isArray(list)) throw unsafe(`model ${id} refs: ${key} is not a list`);
    for (const r of list as { name?: unknown; targetCommit?: unknown }[]) {
      if (!isValidRefName(r?.name)) {
        throw unsafe(`model ${id} refs: the hub lists ${key === 'branches' ? 'branch' : 'tag'} ${JSON.stringify(r?.name)}, which is not a valid git ref name; refusing the repo's refs`);
      }
      if (!isValidCommitId(r.targetCommit)) {
        throw unsafe(`model ${id} refs: ${r.name} points at ${JSON.stringify(r.targetCommit)}, which is not a 40-hex commit id`);
      }
      out[key].push({ ...(r as object), name: r.name, targetCommit: r.targetCommit });
    }
  }
  return out;
}
