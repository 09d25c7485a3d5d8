// Why a stage could not run or did not finish, as data (STYLE.md 7). One union from the place a
// failure happens (a plan that cannot reach the hub, a kind that throws, a job the cluster killed)
// to `--json` events and the run summary; reporters alone turn it into words.

/** What went wrong while fetching (a model, stimuli), as far as the user can act on it. */
export type FetchCause =
  /** The hub (or mirror) could not be reached at all: DNS, refused, reset, no route. */
  | 'network'
  /** Offline, and neither a path:, a mirror (--models-dir / --stimuli-dir) nor the store has it. */
  | 'offline-missing'
  /** The server answered with a status that says no (4xx other than auth/not-found). */
  | 'http'
  /** The server kept failing (5xx, 429) or a download kept breaking: retries were used up. */
  | 'gave-up'
  | 'auth'
  | 'not-found'
  /** The bytes are not what was pinned (digest or size). */
  | 'integrity'
  /** The declaration cannot work (an unknown dtype, a url without a pin). */
  | 'bad-spec';

/** How an execution ended without a run record (local or on a cluster). */
export type ExecuteCause =
  | 'exit-non-zero'
  | 'stage-error'
  | 'missing-output'
  | 'worker-crashed'
  | 'killed'
  | 'timeout'
  | 'node-fail'
  | 'out-of-memory'
  | 'preempted';

export type Failure =
  /** A fetch failed, at plan time (resolving a revision) or while downloading. */
  | { reason: 'fetch'; cause: FetchCause; message: string }
  /** The kind's plan() failed for another reason: a missing local file, a bad declaration. */
  | { reason: 'plan'; message: string }
  /** A model could not be loaded (corrupt weights, unsupported architecture). */
  | { reason: 'load'; message: string }
  /** `limitMs`: with cause `timeout`, the wall-clock limit the stage ran past. */
  | { reason: 'execute'; cause: ExecuteCause; message: string; jobId?: string; limitMs?: number }
  /** More cpu/gpu/memory than the pools hold. */
  | { reason: 'resources'; message: string }
  | { reason: 'cancelled'; message: string };

export type FailureReason = Failure['reason'];

const FETCH_CAUSES: Record<string, FetchCause> = {
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

/** The fetch cause of a FetchError-shaped error (checked by shape: a plugin may bundle its own copy;
 * src/fetch is a library below the engine and keeps its own error, mapped here at the boundary). */
function fetchCause(e: { reason: string; cause?: unknown }): FetchCause | undefined {
  const c = FETCH_CAUSES[e.reason];
  // "cannot reach the hub" arrives as an http or retries-exhausted FetchError around a socket error.
  if ((c === 'gave-up' || c === 'http') && networkLevel(e.cause)) return 'network';
  return c;
}

/**
 * A thrown value as a Failure; `where` says what was being done when it was thrown. Errors from
 * below the engine are recognised by name (FetchError, src/lm's ModelLoadError), never by message.
 */
export function toFailure(e: unknown, where: 'plan' | 'execute'): Failure {
  if (isFailure(e)) return e;
  const carried = e && typeof e === 'object' ? (e as { failure?: unknown }).failure : undefined;
  if (isFailure(carried)) return carried;
  const message = e instanceof Error ? e.message : String(e);
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'FetchError') {
    const cause = fetchCause(e as { reason: string; cause?: unknown });
    if (cause) return { reason: 'fetch', cause, message };
  }
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'ModelLoadError') return { reason: 'load', message };
  if (e && typeof e === 'object' && (e as { name?: unknown }).name === 'AbortError') return { reason: 'cancelled', message: 'interrupted' };
  return where === 'plan' ? { reason: 'plan', message } : { reason: 'execute', cause: 'stage-error', message };
}

const REASONS = new Set<FailureReason>(['fetch', 'plan', 'load', 'execute', 'resources', 'cancelled']);

export function isFailure(x: unknown): x is Failure {
  return !!x && typeof x === 'object' && REASONS.has((x as Failure).reason) && typeof (x as Failure).message === 'string';
}

/**
 * The engine's one error class: a stage's Failure carried across `throw`. Across IPC, a Slurm job
 * or the store's failure record only the Failure travels (plain JSON), and is read back as data.
 */
export class StageError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
    this.name = 'StageError';
  }
}

/** Two failures that a reporter may say once for many stages: same reason and cause. */
export function failureGroup(f: Failure): string {
  return 'cause' in f ? `${f.reason}:${f.cause}` : f.reason;
}
