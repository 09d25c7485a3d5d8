// Where a model revision comes from and how its files get into a folder: an explicit path, a local
// mirror, or the hub (through a download cache). Used by stages/fetch-model.ts for plan and execute.

import { copyFile, link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { selectFetchFiles, type FetchSelection, type ModelLayout } from './dtype.js';
import { downloadFile, type DownloadResult } from './download.js';
import { FetchError, HttpStatusError } from './errors.js';
import { HubClient, hubRevision, noteOfflineFallback, unreachableEndpoint, type RevisionInfo, type Sibling } from './hub-client.js';
import { repoCacheDir } from './hub-config.js';
import { findLocalRevision, findMirrorRevision, listModelFiles, localRevisions } from './mirror.js';
import { closeRefs } from './revisions.js';

export interface ModelRef {
  id: string;
  name?: string;
  path?: string;
}

export type ModelSource =
  | { source: 'local'; via: 'path' | 'mirror'; folder: string }
  | { source: 'hub'; id: string; revision: string; commit: string };

export interface ResolveOptions {
  modelsDir?: string;
  offline: boolean;
  client: HubClient;
}

/** `model X revision R` / `model X (final weights)` for messages. */
export function describeRevision(id: string, revision: string): string {
  return revision === '' ? `model ${id} (final weights)` : `model ${id} revision ${revision}`;
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

/** Commit of a revision remembered from an earlier online resolution (huggingface_hub's refs/ files). */
async function cachedCommit(cacheDir: string, id: string, revision: string): Promise<string | null> {
  const rev = hubRevision(revision);
  if (COMMIT_RE.test(rev)) return rev;
  try {
    const sha = (await readFile(join(repoCacheDir(cacheDir, id), 'refs', ...rev.split('/')), 'utf8')).trim();
    return COMMIT_RE.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

async function rememberResolution(cacheDir: string, id: string, revision: string, info: RevisionInfo): Promise<void> {
  const repo = repoCacheDir(cacheDir, id);
  const rev = hubRevision(revision);
  const refFile = join(repo, 'refs', ...rev.split('/'));
  await mkdir(dirname(refFile), { recursive: true });
  if (!COMMIT_RE.test(rev)) await writeFile(refFile, info.sha);
  await mkdir(join(repo, 'listings'), { recursive: true });
  await writeFile(join(repo, 'listings', `${info.sha}.json`), JSON.stringify(info));
}

/** The listing of a commit: from the cache when there is one (commits never change), else the hub. */
export async function commitListing(client: HubClient, id: string, commit: string): Promise<RevisionInfo> {
  const file = join(repoCacheDir(client.config.cacheDir, id), 'listings', `${commit}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as RevisionInfo;
  } catch {
    if (client.config.offline) {
      throw new FetchError('offline-missing', `${describeRevision(id, commit)}: offline and no file listing is cached in ${file}`);
    }
    const info = await client.revisionInfo(id, commit);
    await rememberResolution(client.config.cacheDir, id, commit, info);
    return info;
  }
}

function offlineMissing(model: ModelRef, revision: string, tried: string[], modelsDir: string | undefined, cacheDir: string): FetchError {
  const layout = `<dir>/${model.id}${revision === '' ? '' : `/revisions/${revision}`}`;
  return new FetchError('offline-missing',
    `${describeRevision(model.id, revision)} is not available offline. Looked in: `
    + `${tried.length > 0 ? tried.join(', ') : '(no models mirror set)'} and the hub cache ${repoCacheDir(cacheDir, model.id)}. `
    + `Provide it as a mirror folder ${layout} (the org folder may be left out) and pass --models-dir <dir> `
    + `(or set PIPELINE_MODELS_DIR), or give the model a path: to its folder (revisions under <path>/revisions/<rev>), `
    + `or run once online to fill the cache`);
}

/** Pick the source of a model revision: explicit path, then mirror, then the hub (or its cache when offline). */
export async function resolveModelSource(model: ModelRef, revision: string, opts: ResolveOptions): Promise<ModelSource> {
  if (model.path) {
    const found = await findLocalRevision(model.path, revision);
    if (found.folder) return { source: 'local', via: 'path', folder: found.folder };
    const revs = await localRevisions(model.path);
    const close = closeRefs(revision, revs);
    throw new FetchError('revision-not-found',
      `${describeRevision(model.id, revision)}: no folder ${found.tried[0]} under the model's path ${model.path}`
      + (close.length > 0 ? `; revisions there: ${close.join(', ')}` : '; it has no revisions/ folder'));
  }
  const tried: string[] = [];
  if (opts.modelsDir) {
    const found = await findMirrorRevision(opts.modelsDir, model.id, revision, model.name);
    if (found.folder) return { source: 'local', via: 'mirror', folder: found.folder };
    tried.push(...found.tried);
  }
  const { cacheDir } = opts.client.config;
  if (opts.offline || opts.client.config.offline) {
    const commit = await cachedCommit(cacheDir, model.id, revision);
    if (commit) return { source: 'hub', id: model.id, revision: hubRevision(revision), commit };
    throw offlineMissing(model, revision, tried, opts.modelsDir, cacheDir);
  }
  // Once the hub proved unreachable in this run, a cached resolution is used without asking again;
  // what is not cached still asks, so its failure stays the network's (said once, as such).
  const endpoint = opts.client.config.endpoint;
  if (unreachableEndpoint(endpoint)) {
    const commit = await cachedCommit(cacheDir, model.id, revision);
    if (commit) {
      noteOfflineFallback(endpoint);
      return { source: 'hub', id: model.id, revision: hubRevision(revision), commit };
    }
  }
  let info: RevisionInfo;
  try {
    info = await opts.client.revisionInfo(model.id, revision);
  } catch (err) {
    // No network at all: a revision resolved before is still in the cache; use it and say so once.
    const commit = unreachableEndpoint(endpoint) ? await cachedCommit(cacheDir, model.id, revision) : undefined;
    if (!commit) throw err;
    noteOfflineFallback(endpoint);
    return { source: 'hub', id: model.id, revision: hubRevision(revision), commit };
  }
  // Remembered only so that offline runs can resolve it later; a read-only cache is no error.
  await rememberResolution(cacheDir, model.id, revision, info).catch(() => undefined);
  return { source: 'hub', id: model.id, revision: hubRevision(revision), commit: info.sha };
}

/** What to take from a local folder: its ONNX export's dtype files, or its PyTorch checkpoint. */
export async function localFetchSelection(folder: string, dtype: string, what: string): Promise<FetchSelection> {
  return selectFetchFiles(await listModelFiles(folder), dtype, `${what} (folder ${folder})`);
}

/** The files a dtype needs from a local folder (repo-relative paths). */
export async function localModelFiles(folder: string, dtype: string, what: string): Promise<string[]> {
  return (await localFetchSelection(folder, dtype, what)).files;
}

/**
 * Copy the listed files from a local folder into destDir, keeping their relative paths. With
 * `link`, hard-link them instead where the file system allows (the hub cache's verified files
 * are never written again in place — a new download replaces them by rename — so a staging
 * folder may share them, and a multi-GB checkpoint is not copied one extra time).
 */
export async function copyModelFiles(folder: string, files: readonly string[], destDir: string, opts: { link?: boolean } = {}): Promise<void> {
  for (const f of files) {
    const from = join(folder, ...f.split('/'));
    const to = join(destDir, ...f.split('/'));
    await mkdir(dirname(to), { recursive: true });
    if (opts.link) {
      try {
        await link(from, to);
        continue;
      } catch {
        /* another device, or links not supported: copy */
      }
    }
    await copyFile(from, to);
  }
}

export interface HubDownloadOptions {
  signal?: AbortSignal;
  log?: (message: string) => void;
  fetchImpl?: typeof fetch;
}

export interface HubDownloadResult {
  layout: ModelLayout;
  files: string[];
  /** Where the verified files are kept between runs. */
  snapshotDir: string;
  bytes: number;
  requests: number;
  resumed: number;
  cached: number;
}

/** One file of a commit into the hub cache (verified, resumed); offline: only what is there already. */
async function cacheHubFile(client: HubClient, id: string, commit: string, file: string, s: Sibling | undefined,
  snapshotDir: string, opts: HubDownloadOptions): Promise<DownloadResult> {
  const cachePath = join(snapshotDir, ...file.split('/'));
  if (client.config.offline) {
    const want = s?.lfs?.size ?? s?.size;
    const have = await stat(cachePath).then((st) => st.size, () => null);
    if (have === null || (want !== undefined && have !== want)) {
      throw new FetchError('offline-missing',
        `${describeRevision(id, commit)}: ${file} is not in the hub cache (${cachePath}) and offline mode forbids downloading it`);
    }
    return { bytes: have, requests: 0, resumed: 0, cached: true };
  }
  return downloadFile({
    url: client.fileUrl(id, commit, file),
    dest: cachePath,
    what: `${id}@${commit.slice(0, 12)} ${file}`,
    headers: client.headers(),
    expected: s?.lfs ? { size: s.lfs.size, sha256: s.lfs.sha256 } : { size: s?.size, gitSha1: s?.blobId },
    retry: client.config.retry,
    idleTimeoutMs: client.config.idleTimeoutMs,
    signal: opts.signal,
    mapError: (err: HttpStatusError) => client.toFetchError(err, id, file),
    // A stage log line: the progress display shows it under the running stage.
    onRetry: (n, tries, reason, ms) => opts.log?.(`${file}: try ${n} of ${tries} failed (${reason}); retrying in ${(ms / 1000).toFixed(1)} s`),
    fetchImpl: opts.fetchImpl,
  });
}

/** The hub cache folder of one commit. */
export function snapshotDirOf(client: HubClient, id: string, commit: string): string {
  return join(repoCacheDir(client.config.cacheDir, id), 'snapshots', commit);
}

/**
 * Put one small file of a commit (config.json) into the hub cache at plan time, so later stages
 * can check it before gigabytes of weights are downloaded. Returns its path, or null when the
 * commit has no such file. The download is the one execute would do: it is not repeated.
 */
export async function cacheHubFileForPlan(client: HubClient, id: string, commit: string, file: string): Promise<string | null> {
  const info = await commitListing(client, id, commit);
  const s = info.siblings.find((x) => x.rfilename === file);
  if (!s) return null;
  await cacheHubFile(client, id, commit, file, s, snapshotDirOf(client, id, commit), {});
  return join(snapshotDirOf(client, id, commit), ...file.split('/'));
}

/**
 * Where a model revision's folder already is without any network: its path:, the mirror, or the
 * hub cache's snapshot of the commit an earlier resolution remembered. Null when unknown.
 */
export async function knownRevisionFolder(model: ModelRef, revision: string, opts: { modelsDir?: string; client: HubClient }): Promise<string | null> {
  try {
    const src = await resolveModelSource(model, revision, { modelsDir: opts.modelsDir, offline: true, client: opts.client });
    return src.source === 'local' ? src.folder : snapshotDirOf(opts.client, model.id, src.commit);
  } catch {
    return null;
  }
}

/** Download the dtype's files (or the PyTorch checkpoint) of one commit into the hub cache (resuming, verified), then copy them to destDir. */
export async function downloadHubModel(client: HubClient, id: string, commit: string, dtype: string, destDir: string,
  opts: HubDownloadOptions = {}): Promise<HubDownloadResult> {
  const info = await commitListing(client, id, commit);
  const bySibling = new Map(info.siblings.map((s) => [s.rfilename, s]));
  const { layout, files } = selectFetchFiles([...bySibling.keys()], dtype, `${describeRevision(id, commit)} on ${client.config.endpoint}`);
  const snapshotDir = snapshotDirOf(client, id, commit);
  const total: HubDownloadResult = { layout, files, snapshotDir, bytes: 0, requests: 0, resumed: 0, cached: 0 };
  for (const file of files) {
    const res = await cacheHubFile(client, id, commit, file, bySibling.get(file), snapshotDir, opts);
    total.bytes += res.cached ? 0 : res.bytes;
    total.requests += res.requests;
    total.resumed += res.resumed;
    total.cached += res.cached ? 1 : 0;
    if (!res.cached) opts.log?.(`downloaded ${file} (${res.bytes} bytes, ${res.requests} request(s), ${res.resumed} resumed)`);
  }
  await copyModelFiles(snapshotDir, files, destDir, { link: true });
  return total;
}
