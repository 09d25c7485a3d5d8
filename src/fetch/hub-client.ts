// A small client for the Hugging Face Hub's model API: resolve a revision to a commit with its file
// listing, list refs, build resolve URLs. HTTP statuses become FetchErrors that say what to do.

import { FetchError, HttpStatusError, isTransient } from './errors.js';
import { backoffDelay, DEFAULT_MAX_JSON_BYTES, type HubConfig, sleep, timeoutsOf } from './hub-config.js';
import { readTextLimited, timedFetch } from './http.js';
import { checkHubId, checkRefs, checkRevision, checkRevisionInfo } from './hub-names.js';
import { allRefNames, closeRefs, type Refs } from './revisions.js';

export interface Sibling {
  rfilename: string;
  size?: number;
  /** git blob sha1 of a regular (non-LFS) file. */
  blobId?: string;
  lfs?: { sha256: string; size: number };
}

export interface RevisionInfo {
  id: string;
  /** The commit the revision points at. */
  sha: string;
  siblings: Sibling[];
}

type FetchFn = typeof fetch;

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The hub's name for the final weights. */
export function hubRevision(revision: string): string {
  return revision === '' ? 'main' : revision;
}

export class HubClient {
  constructor(readonly config: HubConfig, private readonly fetchImpl: FetchFn = fetch) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': 'lm-task-demands/0.1', ...extra };
    if (this.config.token) h.authorization = `Bearer ${this.config.token}`;
    return h;
  }

  /** `{endpoint}/{id}/resolve/{commit}/{file}`. */
  fileUrl(id: string, commit: string, file: string): string {
    return `${this.config.endpoint}/${id}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`;
  }

  /** Resolve a branch, tag, step name or commit to its commit and file listing (with sizes and hashes). */
  async revisionInfo(id: string, revision: string): Promise<RevisionInfo> {
    const rev = hubRevision(revision);
    checkHubId(id);
    checkRevision(id, rev);
    const url = `${this.config.endpoint}/api/models/${id}/revision/${encodeURIComponent(rev)}?blobs=true`;
    try {
      const info = (await this.getJson(url, `model ${id} revision ${rev}`)) as Partial<RevisionInfo>;
      if (typeof info.sha !== 'string' || !Array.isArray(info.siblings)) {
        throw new FetchError('http', `model ${id} revision ${rev}: ${url} answered without sha/siblings`);
      }
      return checkRevisionInfo('model', id, rev, info);
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404 && err.errorCode !== 'RepoNotFound') {
        throw await this.revisionNotFound(id, rev, err);
      }
      throw this.toFetchError(err, id);
    }
  }

  /** `{endpoint}/datasets/{id}/resolve/{commit}/{file}`: huggingface_hub's hf_hub_url for repo_type="dataset". */
  datasetFileUrl(id: string, commit: string, file: string): string {
    return `${this.config.endpoint}/datasets/${id}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`;
  }

  /** A dataset repo's revision → commit and file listing (`/api/datasets/{id}/revision/{rev}`); errors name the dataset. */
  async datasetRevisionInfo(id: string, revision: string): Promise<RevisionInfo> {
    const rev = hubRevision(revision);
    checkHubId(id, 'dataset');
    checkRevision(id, rev, 'dataset');
    const url = `${this.config.endpoint}/api/datasets/${id}/revision/${encodeURIComponent(rev)}?blobs=true`;
    let info: Partial<RevisionInfo>;
    try {
      info = (await this.getJson(url, `dataset ${id} revision ${rev}`)) as Partial<RevisionInfo>;
    } catch (err) {
      if (!(err instanceof HttpStatusError)) throw err;
      if (err.status === 404 && err.errorCode !== 'RepoNotFound') {
        throw new FetchError('revision-not-found', `dataset ${id}: revision "${rev}" was not found on ${this.config.endpoint} (HTTP 404); give a branch, tag or commit of the dataset repo`);
      }
      if (err.errorCode === 'RepoNotFound' || err.status === 404) {
        throw new FetchError('repo-not-found', `dataset ${id} was not found on ${this.config.endpoint} (HTTP ${err.status}); check the id, or if it is private set HF_TOKEN to a token that can read it`);
      }
      if (err.status === 401 || err.status === 403) {
        throw new FetchError('auth', `dataset ${id}: the hub answered ${err.status}; ${this.config.token ? 'HF_TOKEN is set but the hub refused it' : 'HF_TOKEN is not set'}`);
      }
      throw new FetchError('http', `dataset ${id}: ${err.message}`, { cause: err });
    }
    if (typeof info.sha !== 'string' || !Array.isArray(info.siblings)) {
      throw new FetchError('http', `dataset ${id} revision ${rev}: ${url} answered without sha/siblings`);
    }
    return checkRevisionInfo('dataset', id, rev, info);
  }

  /** Branches and tags of a repo. */
  async refs(id: string): Promise<Refs> {
    checkHubId(id);
    const url = `${this.config.endpoint}/api/models/${id}/refs`;
    let refs: Partial<Refs>;
    try {
      refs = (await this.getJson(url, `model ${id} refs`)) as Partial<Refs>;
    } catch (err) {
      throw this.toFetchError(err, id);
    }
    // Ref names reach paths (revisions/<rev>) and run: commands (${revision}): refuse odd ones here.
    return checkRefs(id, refs ?? {});
  }

  /** Turn an HTTP failure into an error that names the model and says what to do. */
  toFetchError(err: unknown, id: string, file?: string): unknown {
    if (!(err instanceof HttpStatusError)) return err;
    const where = `${this.config.endpoint}/${id}`;
    if (err.errorCode === 'RepoNotFound' || (err.status === 404 && !file)) {
      return new FetchError('repo-not-found',
        `model ${id} was not found on ${this.config.endpoint} (HTTP ${err.status}); check the id, or if it is private set HF_TOKEN to a token that can read it`);
    }
    if (err.status === 401 || err.status === 403) {
      const tokenNote = this.config.token ? 'HF_TOKEN is set but the hub refused it' : 'HF_TOKEN is not set';
      return new FetchError('auth',
        `model ${id}: the hub answered ${err.status}${err.errorCode ? ` (${err.errorCode})` : ''}; ${tokenNote}. `
        + `Accept the model's licence at ${where} and set HF_TOKEN to a token with read access to it`);
    }
    if (err.status === 404 && file) {
      return new FetchError('file-not-found', `model ${id}: file ${file} was not found (HTTP 404)`);
    }
    return new FetchError('http', `model ${id}: ${err.message}`, { cause: err });
  }

  private async revisionNotFound(id: string, rev: string, err: HttpStatusError): Promise<unknown> {
    let refs: Refs;
    try {
      refs = await this.refs(id);
    } catch (refErr) {
      return refErr instanceof FetchError ? refErr : this.toFetchError(err, id);
    }
    const names = allRefNames(refs);
    const close = closeRefs(rev, names);
    const list = close.length > 0 ? `; closest refs: ${close.join(', ')}` : '; the repo has no branches or tags';
    return new FetchError('revision-not-found',
      `model ${id}: revision "${rev}" was not found on ${this.config.endpoint} (${names.length} refs)${list}`);
  }

  /** GET a JSON document with retries on network errors and 5xx/429. */
  async getJson(url: string, what: string): Promise<unknown> {
    if (this.config.offline) {
      throw new FetchError('offline-missing', `${what}: offline mode, not contacting ${this.config.endpoint}`);
    }
    const { attempts } = this.config.retry;
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        const r = await timedFetch(url, { headers: this.headers({ accept: 'application/json' }) }, timeoutsOf(this.config), this.fetchImpl);
        const max = this.config.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
        const text = await readTextLimited(r, max, `${what}: ${url}`, (m) => new FetchError('too-large', m));
        if (!r.res.ok) throw new HttpStatusError(r.res.status, url, r.res.headers.get('x-error-code'), text);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new FetchError('http', `${what}: ${url} answered HTTP ${r.res.status} with a body that is not JSON`);
        }
      } catch (err) {
        last = err;
        const unreachable = unreachableCode(err);
        if (unreachable) {
          markUnreachable(this.config.endpoint, unreachable);
          // No route to the hub at all (no network, a wrong HF_ENDPOINT): retrying with backoff
          // would only make every stage's plan wait; say what to do instead.
          const local = what.startsWith('dataset ') ? 'the stimuli with --stimuli-dir <dir> (or PIPELINE_STIMULI_DIR) or a path:' : 'models with --models-dir <dir> (or PIPELINE_MODELS_DIR) or a path:';
          throw new FetchError('http', `${what}: cannot reach ${this.config.endpoint} (${unreachable}). Without network, run with --offline and provide ${local}; or set HF_ENDPOINT to a reachable hub mirror`, { cause: err });
        }
        if (!isTransient(err)) throw err;
        if (attempt + 1 < attempts) await sleep(backoffDelay(this.config.retry, attempt));
      }
    }
    throw new FetchError('retries-exhausted',
      `${what}: gave up after ${attempts} tries against ${url}: ${errorText(last)}`, { cause: last });
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

// Endpoints found unreachable in this process (no network): plans then use what is cached, as
// huggingface_hub falls back to its cache, and say so once (noteOfflineFallback).
const unreachableEndpoints = new Map<string, string>();
const noted = new Set<string>();

export function markUnreachable(endpoint: string, code: string): void {
  unreachableEndpoints.set(endpoint, code);
}

/** The error code with which this endpoint was found unreachable in this process, if it was. */
export function unreachableEndpoint(endpoint: string): string | undefined {
  return unreachableEndpoints.get(endpoint);
}

/** Say once per endpoint that the cache is used because the hub cannot be reached. */
export function noteOfflineFallback(endpoint: string): void {
  if (noted.has(endpoint)) return;
  noted.add(endpoint);
  process.stderr.write(`note: cannot reach ${endpoint} (${unreachableEndpoints.get(endpoint) ?? 'unreachable'}); using the local hub cache, as --offline would (what is not cached is reported as missing)\n`);
}

/** The error code when the host cannot be reached at all (DNS failure, no route), else undefined. */
export function unreachableCode(err: unknown): string | undefined {
  const code = (err as { cause?: { code?: string } } | undefined)?.cause?.code ?? (err as { code?: string } | undefined)?.code;
  return code && ['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'].includes(code) ? code : undefined;
}
