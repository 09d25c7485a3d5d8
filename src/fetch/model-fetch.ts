// Where a model revision comes from and how its files get into a folder: an explicit path, a local
// mirror, or the hub (through a download cache). Used by stages/fetch-model.ts for plan and execute.

import { chmod, copyFile, link, mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { assertSafeRelativeName, isValidCommitId } from '../util/safe-path.js';
import { selectFetchFiles, type FetchSelection, type ModelLayout } from './dtype.js';
import { cachedFileProblem, downloadFile, type DownloadResult, type Expected } from './download.js';
import { FetchError, HttpStatusError } from './errors.js';
import { HubClient, hubRevision, noteOfflineFallback, unreachableEndpoint, type RevisionInfo, type Sibling } from './hub-client.js';
import { repoCacheDir } from './hub-config.js';
import { asFetchError, checkHubId, checkRevision, checkRevisionInfo, insideOrRefuse } from './hub-names.js';
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

/** A commit given to the cache functions is refused before any path is built from it. */
function checkCommitArg(id: string, commit: string): void {
  if (!isValidCommitId(commit)) throw new FetchError('unsafe-name', `model ${id}: commit ${JSON.stringify(commit)} is not 40 hex digits; refusing to use it in a path`);
}

/** Commit of a revision remembered from an earlier online resolution (huggingface_hub's refs/ files). */
async function cachedCommit(cacheDir: string, id: string, revision: string): Promise<string | null> {
  const rev = hubRevision(revision);
  if (COMMIT_RE.test(rev)) return rev;
  const refFile = insideOrRefuse(repoCacheDir(cacheDir, id), `refs/${rev}`, `model ${id} revision ${rev}`);
  try {
    const sha = (await readFile(refFile, 'utf8')).trim();
    return COMMIT_RE.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

async function rememberResolution(cacheDir: string, id: string, revision: string, info: RevisionInfo): Promise<void> {
  const repo = repoCacheDir(cacheDir, id);
  const rev = hubRevision(revision);
  const what = `model ${id} revision ${rev}`;
  const refFile = insideOrRefuse(repo, `refs/${rev}`, what);
  const listing = insideOrRefuse(repo, `listings/${info.sha}.json`, what);
  await mkdir(dirname(refFile), { recursive: true });
  if (!COMMIT_RE.test(rev)) await writeFile(refFile, info.sha);
  await mkdir(dirname(listing), { recursive: true });
  await writeFile(listing, JSON.stringify(info));
}

/** The listing of a commit: from the cache when there is one (commits never change), else the hub. */
export async function commitListing(client: HubClient, id: string, commit: string): Promise<RevisionInfo> {
  checkHubId(id);
  checkCommitArg(id, commit);
  const file = insideOrRefuse(repoCacheDir(client.config.cacheDir, id), `listings/${commit}.json`, `model ${id} revision ${commit}`);
  let cached: unknown;
  try {
    cached = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    cached = undefined;
  }
  // A cached listing is checked like the hub's answer: an older version may have kept a hostile one.
  if (cached !== undefined) return checkRevisionInfo('model', id, commit, cached as Partial<RevisionInfo>);
  if (client.config.offline) {
    throw new FetchError('offline-missing', `${describeRevision(id, commit)}: offline and no file listing is cached in ${file}`);
  }
  const info = await client.revisionInfo(id, commit);
  await rememberResolution(client.config.cacheDir, id, commit, info);
  return info;
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
  // A revision is a ref name or a commit, never a path (`x/../../…` would read outside the model).
  checkRevision(model.id, revision);
  if (model.path) {
    const found = await findLocalRevision(model.path, revision);
    if (found.folder) return { source: 'local', via: 'path', folder: found.folder };
    const revs = await localRevisions(model.path);
    const close = closeRefs(revision, revs);
    throw new FetchError('revision-not-found',
      `${describeRevision(model.id, revision)}: no folder ${found.tried[0]} under the model's path ${model.path}`
      + (close.length > 0 ? `; revisions there: ${close.join(', ')}` : '; it has no revisions/ folder'));
  }
  checkHubId(model.id);
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
 * `link`, hard-link them instead where the file system allows: the hub cache's verified files are
 * never written again in place (a new download replaces them by rename), and each linked one is
 * made read-only, which tells the store it may adopt the same inode as its object (one copy of a
 * multi-GB checkpoint on disk). A snapshot entry that links to a blob (huggingface_hub's layout)
 * is followed to the blob. `move` names files to move out of the cache instead (a checkpoint the
 * retain policy releases is not kept there either).
 */
export async function copyModelFiles(folder: string, files: readonly string[], destDir: string,
  opts: { link?: boolean; root?: string; move?: ReadonlySet<string>; linkImpl?: (from: string, to: string) => Promise<void> } = {}): Promise<void> {
  // Files are read only from inside `root` (default the folder itself), symlinks resolved: the hub
  // cache's snapshot links into its blobs/, which is inside the repo's cache folder.
  const root = opts.root ?? folder;
  const prefix = relative(root, folder).split(sep).join('/');
  const linkImpl = opts.linkImpl ?? link;
  for (const f of files) {
    try {
      assertSafeRelativeName(f, `folder ${folder}`);
    } catch (err) {
      throw asFetchError(err);
    }
    const from = insideOrRefuse(root, prefix ? `${prefix}/${f}` : f, `folder ${folder}`);
    const to = insideOrRefuse(destDir, f, `folder ${destDir}`);
    await mkdir(dirname(to), { recursive: true });
    if (opts.move?.has(f)) {
      try {
        await rename(from, to);
        continue;
      } catch {
        /* another device: link or copy */
      }
    }
    if (opts.link) {
      try {
        const real = await realpath(from);
        // Read-only before it is shared: nothing may write through either name.
        await chmod(real, 0o444);
        await linkImpl(real, to);
        continue;
      } catch {
        /* another device, links not supported, or someone else's file: copy */
      }
    }
    await copyFile(from, to);
  }
}

export interface HubDownloadOptions {
  /** Files this call downloads leave the hub cache for destDir (moved, not linked): the retain policy releases them later. */
  keepInCache?: boolean;
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
  const cachePath = insideOrRefuse(repoCacheDir(client.config.cacheDir, id), `snapshots/${commit}/${file}`, `${describeRevision(id, commit)} listing`);
  const expected: Expected = s?.lfs ? { size: s.lfs.size, sha256: s.lfs.sha256 } : { size: s?.size, gitSha1: s?.blobId };
  if (client.config.offline) {
    const want = s?.lfs?.size ?? s?.size;
    const have = await stat(cachePath).then((st) => st.size, () => null);
    if (have === null || (want !== undefined && have !== want)) {
      throw new FetchError('offline-missing',
        `${describeRevision(id, commit)}: ${file} is not in the hub cache (${cachePath}) and offline mode forbids downloading it`);
    }
    // Same size is not the same file: a damaged copy in a shared cache is refused, not used.
    const problem = await cachedFileProblem(cachePath, expected);
    if (problem) {
      throw new FetchError('digest-mismatch', `${describeRevision(id, commit)}: ${file} in the hub cache (${cachePath}) is damaged `
        + `(${problem}); delete it and run once with network to download it again`);
    }
    return { bytes: have, requests: 0, resumed: 0, cached: true };
  }
  return downloadFile({
    url: client.fileUrl(id, commit, file),
    dest: cachePath,
    what: `${id}@${commit.slice(0, 12)} ${file}`,
    headers: client.headers(),
    expected,
    retry: client.config.retry,
    idleTimeoutMs: client.config.idleTimeoutMs,
    firstByteTimeoutMs: client.config.firstByteTimeoutMs,
    signal: opts.signal,
    mapError: (err: HttpStatusError) => client.toFetchError(err, id, file),
    // A stage log line: the progress display shows it under the running stage.
    onRetry: (n, tries, reason, ms) => opts.log?.(`${file}: try ${n} of ${tries} failed (${reason}); retrying in ${(ms / 1000).toFixed(1)} s`),
    fetchImpl: opts.fetchImpl,
  });
}

/** The hub cache folder of one commit. */
export function snapshotDirOf(client: HubClient, id: string, commit: string): string {
  checkHubId(id);
  checkCommitArg(id, commit);
  return insideOrRefuse(repoCacheDir(client.config.cacheDir, id), `snapshots/${commit}`, describeRevision(id, commit));
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
  const downloaded = new Set<string>();
  for (const file of files) {
    const res = await cacheHubFile(client, id, commit, file, bySibling.get(file), snapshotDir, opts);
    if (!res.cached) downloaded.add(file);
    total.bytes += res.cached ? 0 : res.bytes;
    total.requests += res.requests;
    total.resumed += res.resumed;
    total.cached += res.cached ? 1 : 0;
    if (res.replaced) opts.log?.(`${file} in the hub cache did not match the listing: downloaded again`);
    if (!res.cached) opts.log?.(`downloaded ${file} (${res.bytes} bytes, ${res.requests} request(s), ${res.resumed} resumed)`);
  }
  await copyModelFiles(snapshotDir, files, destDir, {
    link: true, root: repoCacheDir(client.config.cacheDir, id), ...(opts.keepInCache === false ? { move: downloaded } : {}),
  });
  return total;
}
