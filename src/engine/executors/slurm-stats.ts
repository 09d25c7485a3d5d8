// What the Slurm executor counts: one timings record per submitted job, and the medians of its
// overhead phases (docs/slurm.md, "Measured overhead"). Pure.

/** Timings of one submitted job, ms since the epoch (null: not known). */
export interface SlurmJobStats {
  jobId: string;
  stages: string[];
  attempt: number;
  state: string;
  exitCode: string | null;
  logPath: string;
  /** Just before sbatch was called, and when it returned. */
  submitCalled: number;
  submitted: number | null;
  /** From scontrol (whole seconds). */
  slurmSubmit: number | null;
  slurmStart: number | null;
  slurmEnd: number | null;
  /** From the batch script's own marks (ms). */
  scriptStart: number | null;
  scriptEnd: number | null;
  /** Latest run-record mtime of the job's invocations. */
  committed: number | null;
  /** When this process saw the terminal state. */
  observedEnd: number | null;
}

/** The record of a job about to be submitted (sbatch not called yet). */
export function newJobStats(stages: string[], attempt: number, now = Date.now()): SlurmJobStats {
  return {
    jobId: '', stages, attempt, state: 'SUBMITTING', exitCode: null, logPath: '',
    submitCalled: now, submitted: null, slurmSubmit: null, slurmStart: null, slurmEnd: null,
    scriptStart: null, scriptEnd: null, committed: null, observedEnd: null,
  };
}

/** Medians of the overhead phases over the jobs that have the timings. */
export function summarize(jobs: SlurmJobStats[]): Record<string, number | null> {
  const diff = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? a - b : null);
  return {
    jobs: jobs.length,
    submitToStart: median(jobs.map((j) => diff(j.scriptStart, j.submitCalled))),
    startToEnd: median(jobs.map((j) => diff(j.scriptEnd, j.scriptStart))),
    submitToCommitted: median(jobs.map((j) => diff(j.committed, j.submitCalled))),
    submitToObserved: median(jobs.map((j) => diff(j.observedEnd, j.submitCalled))),
    endToObserved: median(jobs.map((j) => diff(j.observedEnd, j.scriptEnd))),
  };
}

export function median(values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
