// Failures of fetching are data: a reason the engine (and tests) can switch on, plus a message
// that names the model/revision/file and says what to do.

export type FetchFailureReason =
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

export class FetchError extends Error {
  readonly reason: FetchFailureReason;
  constructor(reason: FetchFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
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
