// Judging a finished job: one outcome per invocation it ran. The run record, written last and
// atomically by exec-stage, is the proof of success whatever Slurm says; without it the failure is
// Slurm's view of the job (state, exit code, reason, log tail) and, when the stage recorded one in
// this job, the stage's own typed Failure in the job's words. `failureOutcome` and `ownFailure` are
// pure; `judgeJob` gathers the facts from the store and the log.
import { stat } from 'node:fs/promises';
import type { ExecOutcome, Invocation, OutcomeReason } from '../executor.js';
import type { Failure } from '../failure.js';
import { Store } from '../store/store.js';
import type { JobFinal } from './slurm-poller.js';
import { tailFile } from './slurm-poller.js';
import { END_MARK, PROGRESS_MARK, START_MARK } from './slurm-script.js';
import type { SlurmJobStats } from './slurm-stats.js';
import { classifyState } from './slurm-states.js';

const LOG_TAIL_LINES = 20;

/** A job as it ended: its final state, its timings, and whether we cancelled it. */
export interface EndedJob {
  final: JobFinal;
  stats: SlurmJobStats;
  aborted: boolean;
}

/** The executor's own lines in a job log (timing marks), never forwarded or shown in a tail. */
export function isMark(line: string): boolean {
  return line.startsWith(START_MARK) || line.startsWith(END_MARK) || line.startsWith(PROGRESS_MARK);
}

/** The failed outcome of an invocation that wrote no run record. */
export function failureOutcome(stageId: string, recordPath: string, job: EndedJob, tail: string, own?: Failure): Extract<ExecOutcome, { ok: false }> {
  const { final, stats, aborted } = job;
  const cls = classifyState(final.state);
  let reason: OutcomeReason;
  let what: string;
  if (aborted) {
    reason = 'cancelled';
    what = `was cancelled (${final.state})`;
  } else if (final.state === 'VANISHED') {
    reason = 'killed';
    what = 'disappeared from the queue without a final state';
  } else if (cls.done && !cls.ok) {
    reason = cls.reason;
    what = `ended ${final.state}`;
  } else {
    reason = 'stage-error';
    what = `ended ${final.state} but wrote no run record ${recordPath}`;
  }
  const exit = stats.exitCode ? `, exit ${stats.exitCode}` : '';
  const slurmReason = final.fields?.Reason && final.fields.Reason !== 'None' ? `, reason ${final.fields.Reason}` : '';
  const tries = stats.attempt > 0 ? ` (attempt ${stats.attempt + 1})` : '';
  const message = `Slurm job ${stats.jobId} for stage ${stageId} ${what}${exit}${slurmReason}${tries}; log: ${stats.logPath}`
    + (tail ? `\n--- last lines of the job log:\n${tail}` : ' (the log is empty)');
  const out: Extract<ExecOutcome, { ok: false }> = { ok: false, reason, message, logTail: tail, jobId: stats.jobId };
  // the stage's reason, the job's words (log path and tail); a cancellation is ours, not the stage's
  if (own && !aborted) out.failure = { ...own, message };
  return out;
}

/**
 * The failure the stage itself recorded in this job (a model that did not load, a fetch that gave
 * up), from the store's failure record that exec-stage writes. A record of another key, or from
 * before this job was submitted, is an earlier run's, not this one's.
 */
export function ownFailure(rec: { key: string; failure: Failure; at: string } | undefined, key: string, stats: SlurmJobStats): Failure | undefined {
  if (!rec || rec.key !== key || Date.parse(rec.at) < stats.submitCalled) return undefined;
  const f = rec.failure;
  return f.reason === 'execute' ? { ...f, jobId: stats.jobId } : f;
}

/** Outcome of each invocation of a job that ended (records stats.committed on the way). */
export async function judgeJob(invs: Invocation[], job: EndedJob): Promise<ExecOutcome[]> {
  const outcomes: ExecOutcome[] = [];
  let tail: string | null = null;
  for (const inv of invs) {
    const store = new Store(inv.storeDir);
    const recordPath = store.runPath(inv.key);
    const committed = await stat(recordPath).then((s) => s.mtimeMs, () => null);
    // the record is written last, atomically: if it is there the stage is done, whatever the job's state
    if (committed !== null) {
      job.stats.committed = Math.max(job.stats.committed ?? 0, committed);
      outcomes.push({ ok: true, runRecordPath: recordPath });
      continue;
    }
    tail ??= await tailFile(job.stats.logPath, LOG_TAIL_LINES, isMark);
    const own = job.aborted ? undefined : ownFailure(await store.readFailure(inv.instance.id).catch(() => undefined), inv.key, job.stats);
    outcomes.push(failureOutcome(inv.instance.id, recordPath, job, tail, own));
  }
  return outcomes;
}
