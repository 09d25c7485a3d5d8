// Why a stage could not run or did not finish, as data (STYLE.md 7). One union from the place a
// failure happens (a plan that cannot reach the hub, a kind that throws, a job the cluster killed)
// to `--json` events and the run summary; reporters alone turn it into words. It lives below the
// engine and the libraries it calls (src/fetch) so that their errors can carry it too: one carrier,
// StageError, of which FetchError is one kind.

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

export type Failure = (
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
  | { reason: 'cancelled'; message: string }
) & {
  /** The stage whose plan or preflight failed, when the planner judged it: reporters name it
   * with the message (the message is the kind's own words, which may name the stage already). */
  stage?: string;
};

/** What kind of failure (the union's tag). Not to be confused with a FetchError's code. */
export type FailureReason = Failure['reason'];

const REASONS = new Set<FailureReason>(['fetch', 'plan', 'load', 'execute', 'resources', 'cancelled']);

export function isFailure(x: unknown): x is Failure {
  return !!x && typeof x === 'object' && REASONS.has((x as Failure).reason) && typeof (x as Failure).message === 'string';
}

/**
 * The one error class that carries a Failure across `throw` (FetchError is one). Across IPC, a
 * Slurm job or the store's failure record only the Failure travels (plain JSON), read back as data.
 */
export class StageError extends Error {
  constructor(readonly failure: Failure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.name = 'StageError';
  }
}

/** Two failures that a reporter may say once for many stages: same reason and cause. */
export function failureGroup(f: Failure): string {
  return 'cause' in f ? `${f.reason}:${f.cause}` : f.reason;
}
