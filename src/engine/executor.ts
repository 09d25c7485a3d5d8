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

/** A stage ready to run, as the scheduler offers it to the executors. */
export interface StageJob {
  /** What to run; its `affinity` (the model instance) groups stages that share a loaded model —
   * one worker locally, one job on Slurm — and its `resources` are the stage's request. */
  inv: Invocation;
  /** 'worker': the kind wants a long-lived process of its own per affinity (a loaded model);
   * 'inline': it may run in the engine's process. */
  isolation: 'inline' | 'worker';
  /** The stage's work is a process of its own (a model, a command), so an executor that runs stages
   * elsewhere may take it; light work (fetches, configs, tables) stays beside the engine. */
  offload: boolean;
}

/** A stage given room on an executor (its resources are taken); run() starts it. */
export interface Placement {
  /** Device ids the stage was given, for the stage-start event ([] when the executor picks them). */
  gpus: string[];
  /** Run the stage; abort `signal` to cancel it (a stop of the run, its time limit). Resolves once
   * its run record is written or it failed. Its log lines reach `onLog` and its structured progress
   * (ctx.progress) `onProgress` while it runs. An executor that gives the stage's room back before
   * it resolves (its own work is over; the store's bookkeeping remains) calls `onRoom`, and the
   * scheduler starts the next stage meanwhile. */
  run(signal: AbortSignal, onLog: (line: string) => void, onProgress: (p: StageProgress) => void, onRoom?: () => void): Promise<ExecOutcome>;
  /** Give the room back (if `onRoom` has not): the scheduler calls it once, when it is done with
   * the stage's result (its outputs restored). */
  release(): void;
}

/** Counters a run's summary reads from its executors (others are free-form, for tools). */
export interface ExecutorStats {
  /** Model loads per affinity in this run (what the stages said they loaded). */
  modelLoads?: Record<string, number>;
  /** Peak use of this machine's resource pools. */
  peak?: { cpu: number; gpu: number; memory: number };
  [counter: string]: unknown;
}

/**
 * Where stages run (this machine, a Slurm cluster): the only face of an executor the scheduler
 * sees. The scheduler offers each ready stage to the first executor that accepts it, in an order
 * the executors may influence (warm workers first), and places it when the executor has room.
 */
export interface Executor {
  readonly name: string;
  /** Whether this executor runs such a stage (a cluster takes only the offloadable ones). */
  accepts(job: StageJob): boolean;
  /** Why the stage can never start here (it asks more than the pools hold), or undefined. */
  impossible(job: StageJob): string | undefined;
  /** Take room for the stage now: a Placement; 'wait' when this stage must wait for another to end
   * (its model's worker is busy, the pools are full); 'full' when no stage can start here now. */
  place(job: StageJob): Placement | 'wait' | 'full';
  /** The waiting stages in the order this executor would rather start them (stages whose model is
   * loaded in an idle worker first); may return its argument. */
  prefer?<T extends { job: StageJob }>(waiting: T[]): T[];
  /** How many selected stages of an affinity have yet to settle (0: none will come): what to evict
   * first, and when a worker has done its work. */
  demand?(affinity: string, remaining: number): void;
  /** End all workers / cancel all jobs this executor started. */
  close(): Promise<void>;
  stats(): ExecutorStats;
}
