// A task's stimuli file: an explicit path, a local mirror `<stimuliDir>/<task>/<file>` (the layout
// of shared/data/stimuli), a URL pinned by sha256, or a file of a Hugging Face dataset repo at a
// revision. Choosing the source is a few stat() calls and no network; the pin is the key of a URL
// source, the commit the revision resolves to (like a model revision) the key of a dataset file.

import { copyFile, mkdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { cachedFileProblem, downloadFile, type Expected } from './download.js';
import { FetchError } from './errors.js';
import { sha256File } from './hash.js';
import type { HubClient, RevisionInfo } from './hub-client.js';
import { asFetchError, checkHubId, checkRevision, checkRevisionInfo, insideOrRefuse } from './hub-names.js';
import { assertSafeRelativeName, isValidCommitId } from '../util/safe-path.js';
import { DEFAULT_RETRY, type RetryOptions } from './hub-config.js';

/** A file of a hub dataset repo (`EleutherAI/lambada_openai`, `data/lambada_test_en.jsonl`) at a revision. */
export interface DatasetDecl {
  id: string;
  file: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
}

export interface StimuliDecl {
  url?: string;
  sha256?: string;
  path?: string;
  file?: string;
  dataset?: DatasetDecl;
}

export type StimuliSource =
  | { source: 'path' | 'mirror'; path: string; file: string; sha256?: string }
  | { source: 'url'; url: string; sha256: string; file: string }
  /** `commit` is set once the revision is resolved (resolveDatasetCommit). */
  | { source: 'dataset'; id: string; revision: string; repoFile: string; file: string; sha256?: string; commit?: string };

export interface StimuliResolveOptions {
  projectDir: string;
  stimuliDir?: string;
  offline: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The file name the stimuli are kept under: `file:`, else the last part of the path or URL. */
export function stimuliFileName(task: string, decl: StimuliDecl): string {
  if (decl.file) return decl.file;
  if (decl.path) return basename(decl.path);
  if (decl.dataset?.file) return basename(decl.dataset.file);
  if (decl.url) {
    const name = basename(new URL(decl.url).pathname);
    if (name) return name;
  }
  throw new FetchError('bad-spec', `task ${task}: stimuli need a file:, path:, url: or dataset: to name the file`);
}

const SHA256_RE = /^[0-9a-f]{64}$/i;

/** A pinned URL states no size: its download stops here (stimuli files are megabytes). */
export const STIMULI_MAX_BYTES = 1024 ** 3;

/** Choose the source: explicit path, then the mirror, then the pinned URL. */
export async function resolveStimuliSource(task: string, decl: StimuliDecl, opts: StimuliResolveOptions): Promise<StimuliSource> {
  const file = stimuliFileName(task, decl);
  try {
    assertSafeRelativeName(file, `task ${task}: stimuli file`);
  } catch (err) {
    throw asFetchError(err);
  }
  const pin = decl.sha256?.toLowerCase();
  if (pin !== undefined && !SHA256_RE.test(pin)) {
    throw new FetchError('bad-spec', `task ${task}: stimuli sha256 "${decl.sha256}" is not 64 hex digits`);
  }
  if (decl.path) {
    const path = isAbsolute(decl.path) ? decl.path : resolve(opts.projectDir, decl.path);
    if (!(await isFile(path))) {
      throw new FetchError('file-not-found', `task ${task}: stimuli path ${decl.path} (${path}) is not a file`);
    }
    return { source: 'path', path, file, sha256: pin };
  }
  const tried: string[] = [];
  if (opts.stimuliDir) {
    const path = join(resolve(opts.projectDir, opts.stimuliDir), task, file);
    if (await isFile(path)) return { source: 'mirror', path, file, sha256: pin };
    tried.push(path);
  }
  const where = tried.length > 0 ? `not found at ${tried.join(', ')}` : 'no stimuli mirror is set';
  const howTo = `put it at <dir>/${task}/${file} and pass --stimuli-dir <dir> (or set PIPELINE_STIMULI_DIR), or give the task stimuli.path:`;
  if (decl.dataset) {
    const d = decl.dataset;
    if (decl.url) throw new FetchError('bad-spec', `task ${task}: stimuli declare both url: and dataset:; keep one`);
    if (typeof d.id !== 'string' || !d.id.includes('/') || typeof d.file !== 'string' || d.file === '') {
      throw new FetchError('bad-spec', `task ${task}: stimuli dataset: needs id: <org>/<name> and file: <path in the dataset repo>`);
    }
    // The id, file and revision become URL and cache paths: names, never paths of their own.
    checkHubId(d.id, 'dataset');
    try {
      assertSafeRelativeName(d.file, `task ${task}: stimuli dataset ${d.id} file`);
    } catch (err) {
      throw asFetchError(err);
    }
    if (d.revision) checkRevision(d.id, d.revision, 'dataset');
    return { source: 'dataset', id: d.id, revision: d.revision || 'main', repoFile: d.file, file, sha256: pin };
  }
  if (!decl.url) {
    throw new FetchError('file-not-found', `task ${task}: stimuli ${file}: ${where} and no url: is declared; ${howTo}`);
  }
  if (!pin) {
    throw new FetchError('bad-spec',
      `task ${task}: stimuli url ${decl.url} has no sha256: pin; add sha256: <hex> (sha256sum of the file) so the download can be verified`);
  }
  if (opts.offline) {
    throw new FetchError('offline-missing', `task ${task}: stimuli ${file}: ${where}, and offline mode forbids downloading ${decl.url}; ${howTo}`);
  }
  return { source: 'url', url: decl.url, sha256: pin, file };
}

/** Check a file against a pinned sha256; the error states both digests. */
export async function verifyPinned(task: string, path: string, pin: string, from: string): Promise<string> {
  const got = await sha256File(path);
  if (got !== pin.toLowerCase()) {
    throw new FetchError('digest-mismatch',
      `task ${task}: stimuli from ${from} do not match the pinned sha256: expected ${pin.toLowerCase()}, got ${got}; `
      + `if the file changed on purpose, update sha256: in the task's stimuli declaration`);
  }
  return got;
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

/** huggingface_hub's cache folder of a dataset repo: `<cacheDir>/datasets--<org>--<name>`. */
export function datasetCacheDir(cacheDir: string, id: string): string {
  return join(cacheDir, `datasets--${id.split('/').join('--')}`);
}

function describeDataset(src: { id: string; revision: string; repoFile: string }): string {
  return `dataset ${src.id}@${src.revision} file ${src.repoFile}`;
}

function listingPath(client: HubClient, id: string, commit: string): string {
  return insideOrRefuse(datasetCacheDir(client.config.cacheDir, id), `listings/${commit}.json`, `dataset ${id} revision ${commit}`);
}

/** Keep a dataset commit's listing (sizes and digests) so that a cached file can be checked offline too. */
async function rememberDatasetListing(client: HubClient, info: RevisionInfo): Promise<void> {
  try {
    const file = listingPath(client, info.id, info.sha);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(info));
  } catch { /* a read-only cache only costs a later check */ }
}

async function cachedDatasetListing(client: HubClient, id: string, commit: string): Promise<RevisionInfo | undefined> {
  let cached: unknown;
  try {
    cached = JSON.parse(await readFile(listingPath(client, id, commit), 'utf8'));
  } catch {
    return undefined;
  }
  return checkRevisionInfo('dataset', id, commit, cached as Partial<RevisionInfo>);
}

/** huggingface_hub names a blob by its digest (sha256 for LFS, git blob id otherwise): a snapshot link says what its file must hash to. */
async function blobNameDigest(snapshot: string): Promise<Expected | null> {
  const target = await readlink(snapshot).catch(() => null);
  const name = target === null ? '' : basename(target);
  if (/^[0-9a-f]{64}$/.test(name)) return { sha256: name };
  if (/^[0-9a-f]{40}$/.test(name)) return { gitSha1: name };
  return null;
}

/**
 * The commit a dataset source's revision points at, as for a model revision: a commit is itself;
 * otherwise the hub is asked (and the answer kept in the hub cache's `refs/<revision>`, as
 * huggingface_hub keeps it), or, offline, that cached answer is used.
 */
export async function resolveDatasetCommit(task: string, src: Extract<StimuliSource, { source: 'dataset' }>, client: HubClient): Promise<string> {
  if (COMMIT_RE.test(src.revision)) return src.revision;
  checkHubId(src.id, 'dataset');
  checkRevision(src.id, src.revision, 'dataset');
  const refFile = insideOrRefuse(datasetCacheDir(client.config.cacheDir, src.id), `refs/${src.revision}`, `task ${task}: stimuli ${describeDataset(src)}`);
  if (client.config.offline) {
    try {
      const commit = (await readFile(refFile, 'utf8')).trim();
      if (COMMIT_RE.test(commit)) return commit;
    } catch { /* not cached */ }
    throw new FetchError('offline-missing',
      `task ${task}: stimuli ${describeDataset(src)}: offline, and which commit "${src.revision}" is was never resolved here (${refFile}); `
      + `run once with network, give dataset.revision as a commit, or put the file at <dir>/${task}/${src.file} and pass --stimuli-dir <dir>`);
  }
  const info = await client.datasetRevisionInfo(src.id, src.revision);
  await rememberDatasetListing(client, info);
  if (!info.siblings.some((f) => f.rfilename === src.repoFile)) {
    const near = info.siblings.map((f) => f.rfilename).filter((f) => f.endsWith(basename(src.repoFile)) || dirname(f) === dirname(src.repoFile)).slice(0, 5);
    throw new FetchError('file-not-found', `task ${task}: stimuli ${describeDataset(src)}: no such file at commit ${info.sha}`
      + (near.length ? `; the repo has ${near.join(', ')}` : ''));
  }
  try {
    await mkdir(dirname(refFile), { recursive: true });
    await writeFile(refFile, info.sha);
  } catch { /* a read-only cache only costs the offline resolution */ }
  return info.sha;
}

export interface StimuliFetchOptions {
  retry?: RetryOptions;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** The hub client (endpoint, token, cache, offline) for dataset sources. */
  client?: HubClient;
}

/**
 * A dataset file at its commit into `tmp`: from the hub cache's snapshot when there, else
 * downloaded (verified against the listing's size and LFS sha256 or git blob id) and kept in
 * the snapshot, laid out as huggingface_hub lays it out.
 */
async function fetchDatasetFile(task: string, src: Extract<StimuliSource, { source: 'dataset' }>, tmp: string, opts: StimuliFetchOptions): Promise<string> {
  const client = opts.client;
  if (!client) throw new FetchError('bad-spec', `task ${task}: stimuli ${describeDataset(src)}: no hub client was given`);
  const commit = src.commit ?? await resolveDatasetCommit(task, src, client);
  checkHubId(src.id, 'dataset');
  if (!isValidCommitId(commit)) throw new FetchError('unsafe-name', `task ${task}: stimuli ${describeDataset(src)}: commit ${JSON.stringify(commit)} is not 40 hex digits`);
  const what = `task ${task}: stimuli ${describeDataset(src)}`;
  const snapshot = insideOrRefuse(datasetCacheDir(client.config.cacheDir, src.id), `snapshots/${commit}/${src.repoFile}`, what);
  let info = await cachedDatasetListing(client, src.id, commit);
  if (!info && !client.config.offline) {
    info = await client.datasetRevisionInfo(src.id, commit);
    await rememberDatasetListing(client, info);
  }
  const sib = info?.siblings.find((f) => f.rfilename === src.repoFile);
  if (info && !sib) throw new FetchError('file-not-found', `${what}: no such file at commit ${commit}`);
  const expected: Expected | null = sib
    ? { size: sib.lfs?.size ?? sib.size, sha256: sib.lfs?.sha256, gitSha1: sib.lfs ? undefined : sib.blobId }
    : await blobNameDigest(snapshot);
  if (await isFile(snapshot)) {
    // A shared cache's copy is used only when it is the listed file (same size is not enough).
    const problem = expected ? await cachedFileProblem(snapshot, expected) : src.sha256 ? null : 'nothing to check it against';
    if (problem === null) {
      await copyFile(snapshot, tmp);
      return `${snapshot} (hub cache of ${src.id}@${commit})`;
    }
    if (client.config.offline) {
      throw new FetchError(expected ? 'digest-mismatch' : 'offline-missing', `${what}: the copy in the hub cache (${snapshot}) cannot be used (${problem}); `
        + `run once with network to download it again, pin it with sha256:, or put the file at <dir>/${task}/${src.file} and pass --stimuli-dir <dir>`);
    }
  } else if (client.config.offline) {
    throw new FetchError('offline-missing', `${what}: offline and not in the hub cache (${snapshot}); `
      + `run once with network, or put the file at <dir>/${task}/${src.file} and pass --stimuli-dir <dir>`);
  }
  if (!sib) throw new FetchError('file-not-found', `${what}: no such file at commit ${commit}`);
  const url = client.datasetFileUrl(src.id, commit, src.repoFile);
  await downloadFile({
    url,
    dest: tmp,
    what: `task ${task}: stimuli ${describeDataset(src)} (${commit})`,
    headers: client.headers(),
    expected: { size: sib.lfs?.size ?? sib.size, sha256: sib.lfs?.sha256, gitSha1: sib.lfs ? undefined : sib.blobId },
    retry: opts.retry ?? client.config.retry,
    idleTimeoutMs: client.config.idleTimeoutMs,
    firstByteTimeoutMs: client.config.firstByteTimeoutMs,
    signal: opts.signal,
    fetchImpl: opts.fetchImpl,
  });
  try {
    await mkdir(dirname(snapshot), { recursive: true });
    // Copied beside and renamed, so a link in the cache (huggingface_hub's snapshot → blob) is replaced, never written through.
    await copyFile(tmp, `${snapshot}.tmp-${process.pid}`);
    await rename(`${snapshot}.tmp-${process.pid}`, snapshot);
  } catch {
    await rm(`${snapshot}.tmp-${process.pid}`, { force: true }); // a read-only cache only costs a later download
  }
  return url;
}

/** Put the stimuli at dest: copied from a local source or downloaded to a temp file, verified, renamed. */
export async function fetchStimuli(task: string, src: StimuliSource, dest: string, opts: StimuliFetchOptions = {}): Promise<{ sha256: string; bytes: number; from: string }> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
  let from = src.source === 'url' ? src.url : src.source === 'dataset' ? describeDataset(src) : src.path;
  try {
    if (src.source === 'url') {
      await downloadFile({
        url: src.url,
        dest: tmp,
        what: `task ${task}: stimuli ${src.url}`,
        retry: opts.retry ?? DEFAULT_RETRY,
        maxBytes: STIMULI_MAX_BYTES,
        ...(opts.client ? { idleTimeoutMs: opts.client.config.idleTimeoutMs, firstByteTimeoutMs: opts.client.config.firstByteTimeoutMs } : {}),
        signal: opts.signal,
        fetchImpl: opts.fetchImpl,
      });
    } else if (src.source === 'dataset') {
      from = await fetchDatasetFile(task, src, tmp, opts);
    } else {
      await copyFile(src.path, tmp);
    }
    const sha256 = src.sha256 ? await verifyPinned(task, tmp, src.sha256, from) : await sha256File(tmp);
    const { size } = await stat(tmp);
    await rename(tmp, dest);
    return { sha256, bytes: size, from };
  } finally {
    await rm(tmp, { force: true });
    await rm(`${tmp}.part`, { force: true });
  }
}
