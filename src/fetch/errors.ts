// Failures of fetching are data: a code the fetch library (and its tests) can switch on, plus a
// message that names the model/revision/file and says what to do. A FetchError is the engine's one
// carrier, a StageError, whose Failure (reason fetch, with the cause the user can act on) it
// decides here, where the code and the underlying error are known.
import { StageError, type FetchCause } from '../util/failure.js';

/** What exactly failed in a fetch (finer than the Failure's FetchCause). */
export type FetchErrorCode =
  | 'auth' // 401/403 from the hub
  | 'repo-not-found'
  | 'revision-not-found'
  | 'file-not-found' // a file the chosen dtype needs is not in the repo / folder
  | 'offline-missing' // offline mode and no local source
  | 'digest-mismatch'
  | 'size-mismatch'
  | 'retries-exhausted'
  | 'http' // any other unexpected HTTP status
  | 'unsafe-name' // a name from the hub, a mirror or a declaration that could leave its folder or reach a shell
  | 'too-large' // a body longer than the listing (or the limit) says
  | 'bad-spec'; // the declaration itself cannot work (unknown dtype, url without pin, ...)

const CAUSES: Record<FetchErrorCode, FetchCause> = {
  'offline-missing': 'offline-missing',
  'retries-exhausted': 'gave-up',
  http: 'http',
  auth: 'auth',
  'repo-not-found': 'not-found',
  'revision-not-found': 'not-found',
  'file-not-found': 'not-found',
  'digest-mismatch': 'integrity',
  'size-mismatch': 'integrity',
  // A hostile or broken answer: a name that would leave its folder, a body past its listed size.
  'unsafe-name': 'integrity',
  'too-large': 'integrity',
  'bad-spec': 'bad-spec',
};

/** Network-level error codes (undici and node:net), as opposed to a server that answered. */
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

function networkLevel(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const x = e as { code?: unknown; name?: unknown; status?: unknown; cause?: unknown; message?: unknown };
  if (x.name === 'HttpStatusError' || typeof x.status === 'number') return false;
  if (typeof x.code === 'string' && NETWORK_CODES.has(x.code)) return true;
  if (x.message === 'fetch failed') return true;
  return networkLevel(x.cause, depth + 1);
}

/** The cause a user can act on (undefined for a code this copy does not know): "cannot reach the
 * hub" arrives as an http or retries-exhausted error around a socket error. */
export function fetchCause(code: string, cause?: unknown): FetchCause | undefined {
  const c = (CAUSES as Record<string, FetchCause | undefined>)[code];
  if (c === undefined) return undefined;
  return (c === 'gave-up' || c === 'http') && networkLevel(cause) ? 'network' : c;
}

export class FetchError extends StageError {
  readonly reason: FetchErrorCode;
  constructor(reason: FetchErrorCode, message: string, options?: { cause?: unknown }) {
    super({ reason: 'fetch', cause: fetchCause(reason, options?.cause) ?? 'http', message }, options);
    this.name = 'FetchError';
    this.reason = reason;
  }
}

/** True for failures worth retrying: network errors and server-side HTTP statuses. */
export function isTransient(err: unknown): boolean {
  if (err instanceof FetchError) return false;
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 429 || err.status === 408;
  if (err instanceof Error && err.name === 'AbortError') return false;
  return true; // ECONNRESET, socket hang up, "terminated", premature close, ...
}

/** An HTTP response with an unexpected status, before it is turned into a FetchError. */
export class HttpStatusError extends Error {
  readonly status: number;
  readonly errorCode: string | null;
  readonly url: string;
  constructor(status: number, url: string, errorCode: string | null, body: string) {
    super(`HTTP ${status} for ${url}${errorCode ? ` (${errorCode})` : ''}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.url = url;
    this.errorCode = errorCode;
  }
}
