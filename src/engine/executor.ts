// Executors run one stage invocation somewhere (this machine, a Slurm job) and report the result.
// The invocation is plain JSON so that it can cross a process or a cluster boundary: the process
// that executes it (`pipeline exec-stage <invocation.json>`) runs the kind, stores the outputs and
// writes the run record with the same atomic protocol wherever it runs.

import type { Failure } from './failure.js';
import type { ResourceRequest, SpecView, StageInput, StageInstanceView, StageProgress } from './kind.js';
import type { RunRecord } from './store/run-record.js';

export interface Invocation {
  /** Stage key (sha256 of the fingerprint). */
  key: string;
  instance: StageInstanceView;
  /** Project directory (the store is `<projectDir>/cache` unless storeDir says otherwise). */
  projectDir: string;
  storeDir: string;
  /** The project-level declarations the kind may read (models, tasks, vars, mirrors, offline). */
  spec: SpecView;
  /** Plugin kind modules (absolute paths) the executing process must register. */
  plugins: string[];
  inputs: StageInput[];
  planned: Record<string, unknown>;
  /** The fingerprint (named key ingredients) kept in the run record for "why stale". */
  fingerprint: Record<string, unknown>;
  resources: ResourceRequest;
  /** Recompute, do not reuse (the stage was forced): see StageContext.forced. */
  forced?: boolean;
  /** Worker grouping key (the model instance) for executors that keep processes alive. */
  affinity?: string;
}

export interface Grant {
  cpus: number;
  /** Concrete device ids from the gpu pool. */
  gpus: string[];
  memory: number;
}

/** How an execution failed, as an executor reports it (the Failure says it in the engine's terms). */
export type OutcomeReason = 'exit-non-zero' | 'killed' | 'cancelled' | 'timeout' | 'node-fail' | 'out-of-memory' | 'preempted' | 'worker-crashed' | 'model-load-failed' | 'stage-error' | 'missing-output';

export type ExecOutcome =
  /** `record`: the run record, when the executor already holds it (saves reading it back). */
  | { ok: true; runRecordPath: string; record?: RunRecord }
  | {
      ok: false;
      reason: OutcomeReason;
      message: string;
      logTail?: string;
      jobId?: string;
      /** The failure as the stage saw it (a fetch that gave up), when the executor knows it. */
      failure?: Failure;
    };

/** The failed outcome of a stage's own Failure (what a StageError carries). */
export function failedOutcome(f: Failure): Extract<ExecOutcome, { ok: false }> {
  const out: Extract<ExecOutcome, { ok: false }> = { ok: false, reason: outcomeReason(f), message: f.message, failure: f };
  if (f.reason === 'execute' && f.jobId) out.jobId = f.jobId;
  return out;
}

function outcomeReason(f: Failure): OutcomeReason {
  switch (f.reason) {
    case 'cancelled':
      return 'cancelled';
    case 'load':
      return 'model-load-failed';
    case 'execute':
      return f.cause;
    case 'fetch':
    case 'plan':
    case 'resources':
      return 'stage-error';
    default: {
      const never: never = f;
      return never;
    }
  }
}

/** The Failure of a failed outcome: the stage's own when it was carried, else from the reason. */
export function outcomeFailure(o: Extract<ExecOutcome, { ok: false }>): Failure {
  if (o.failure) return o.failure;
  switch (o.reason) {
    case 'cancelled':
      return { reason: 'cancelled', message: o.message };
    case 'model-load-failed':
      return { reason: 'load', message: o.message };
    default: {
      const f: Failure = { reason: 'execute', cause: o.reason, message: o.message };
      if (o.jobId) f.jobId = o.jobId;
      return f;
    }
  }
}

export interface Executor {
  readonly name: string;
  /** Run one invocation; resolve when its run record is written (ok) or it failed. Its log lines
   * and its structured progress reach `onLog` and `onProgress` while it runs. */
  execute(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: (p: StageProgress) => void): Promise<ExecOutcome>;
  /** End all workers / cancel all jobs this executor started. */
  close(): Promise<void>;
  /** Counters for the run record (e.g. model loads per affinity). */
  stats(): Record<string, unknown>;
}
