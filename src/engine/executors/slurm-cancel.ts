// Cancelling Slurm jobs: an abort scancels the job, and the job is then given CANCEL_GRACE_MS to
// reach a final state in the queue before it is taken as cancelled anyway (never hang on a
// controller that does not answer).
import { scancel } from './slurm-cli.js';
import type { JobFinal } from './slurm-poller.js';

/** How long to wait for a cancelled job to leave the queue before giving up on seeing it. */
export const CANCEL_GRACE_MS = 30_000;

export interface Cancellation {
  /** Whether the signal fired (we scancelled the job). */
  readonly aborted: boolean;
  /** Resolves CANCELLED CANCEL_GRACE_MS after the abort; never resolves without one. */
  readonly grace: Promise<JobFinal>;
  /** Remove the listeners and the timer (the job ended). */
  dispose(): void;
}

/** Watch `signal` for one job: on abort, scancel it and start the grace timer. */
export function cancelOnAbort(jobId: string, signal: AbortSignal, onLog: (line: string) => void, graceMs = CANCEL_GRACE_MS): Cancellation {
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveGrace: (f: JobFinal) => void = () => {};
  const grace = new Promise<JobFinal>((r) => { resolveGrace = r; });
  const onAbort = (): void => {
    if (aborted) return;
    aborted = true;
    scancel([jobId]).catch((error: Error) => onLog(`[slurm] ${error.message}`));
    timer = setTimeout(() => resolveGrace({ state: 'CANCELLED', fields: null }), graceMs);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  return {
    get aborted() { return aborted; },
    grace,
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * AbortSignal.any (which adds no listeners to the engine's shared signal, so hundreds of stages in
 * flight raise no listener-leak warning); a listener-based stand-in on Node < 20.3.
 */
export function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  if (a.aborted) return a;
  if (b.aborted) return b;
  const both = new AbortController();
  const abort = (): void => {
    a.removeEventListener('abort', abort);
    b.removeEventListener('abort', abort);
    both.abort();
  };
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return both.signal;
}
