// The Slurm executor: runs each invocation (or a group of invocations sharing a model) as one
// batch job that calls `pipeline exec-stage <invocation.json>...` on a compute node. The store must
// be on a filesystem the nodes share; success is the job's COMPLETED state *and* the run record the
// executing process writes last, so a job that "completed" without committing is still a failure.
//
// See docs/slurm.md for usage, the state mapping and measured overhead.

import { mkdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecOutcome, Executor, Grant, Invocation, OutcomeReason } from '../executor.js';
import type { Failure } from '../failure.js';
import type { ResourceRequest, StageProgress } from '../kind.js';
import { Store } from '../store/store.js';
import { writeFileAtomic } from '../store/fs-util.js';
import { scancel, scontrolShowJob, parseSlurmTime, sbatch } from './slurm-cli.js';
import { JobPoller, LogFollower, Semaphore, tailFile, type JobFinal } from './slurm-poller.js';
import { END_MARK, PROGRESS_MARK, START_MARK, batchScript, jobName, mergeResources, parseMarks, parseProgressMark, sbatchArgs, shellQuote } from './slurm-script.js';
import { classifyState } from './slurm-states.js';
import { Coalescer } from './slurm-coalesce.js';

export interface SlurmExecutorOptions {
  partition?: string;
  account?: string;
  /** Passed to sbatch verbatim (e.g. ['--qos=short', '--constraint=a100']). */
  extraFlags?: string[];
  /** Jobs of this executor in the queue (pending or running) at once; default 100. */
  maxQueued?: number;
  /** squeue polling interval; default 500 ms. */
  pollMs?: number;
  /** Resubmissions of a failed job (not of a cancelled one); default 0. */
  retries?: number;
  /** Slurm time format for --time ("30", "4:00:00"); default: the partition's. */
  timeLimit?: string;
  /** Where job logs go (`<job-name>-<jobid>.log`); must be visible to the compute nodes. */
  logDir: string;
  /**
   * The command that executes invocations, the invocation files appended. Default:
   * $PIPELINE_EXEC_STAGE_CMD (shell text) if set, else `<node> <repo>/bin/pipeline.js exec-stage`.
   */
  execCommand?: string[];
  /**
   * Coalesce: execute() calls with the same `affinity` (model instance) arriving within this many
   * ms of the first go to Slurm as one job (see executeGroup), so the model loads once. Default 0:
   * every execute() is its own job.
   */
  groupWindowMs?: number;
  /** Most invocations in one coalesced job; default 16. */
  groupMax?: number;
}

export interface SlurmExecutor extends Executor {
  /**
   * Run invocations in one job, one after another in one process (so a model loads once). They
   * share the store; resources are the largest of each. One outcome per invocation, in order:
   * an invocation whose run record exists succeeded even if a later one failed the job.
   */
  executeGroup(invs: Invocation[], grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<ExecOutcome[]>;
}

/** Progress of one stage of a job's group, by stage id. */
export type GroupProgress = (stageId: string, p: StageProgress) => void;

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

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // dist/src/engine/executors → repo
const LOG_TAIL_LINES = 20;
/** How long to wait for a cancelled job to leave the queue before giving up on seeing it. */
const CANCEL_GRACE_MS = 30_000;
/** A job pending longer than this has its pending reason logged (again whenever it changes). */
const PENDING_REPORT_MS = 5_000;

export function createSlurmExecutor(opts: SlurmExecutorOptions): SlurmExecutor {
  const pollMs = opts.pollMs ?? 500;
  const retries = opts.retries ?? 0;
  const logDir = resolve(opts.logDir);
  const poller = new JobPoller(pollMs);
  const slots = new Semaphore(opts.maxQueued ?? 100);
  const closing = new AbortController();
  const active = new Set<string>();
  const inflight = new Set<Promise<unknown>>();
  const jobs: SlurmJobStats[] = [];
  const counters = { submitted: 0, resubmitted: 0, cancelled: 0, failed: 0, succeeded: 0 };
  const execPrefix = opts.execCommand
    ? opts.execCommand.map(shellQuote).join(' ')
    : process.env.PIPELINE_EXEC_STAGE_CMD
      ?? [process.execPath, join(REPO_ROOT, 'bin', 'pipeline.js'), 'exec-stage'].map(shellQuote).join(' ');

  /** One job for `invs`; resolves with its final state (after scancel when aborted). */
  async function runJob(invs: Invocation[], grant: Grant, attempt: number, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<{ final: JobFinal; stats: SlurmJobStats; aborted: boolean; scriptPath: string }> {
    const first = invs[0]!;
    const invDir = join(first.storeDir, 'tmp', 'invocations');
    const files = invs.map((inv) => join(invDir, `${inv.key}.json`));
    const scriptPath = join(invDir, `${first.key}${invs.length > 1 ? `+${invs.length - 1}` : ''}.sbatch`);
    const spec = {
      stageIds: invs.map((inv) => inv.instance.id),
      resources: withGrant(mergeResources(invs.map((inv) => inv.resources)), grant),
      projectDir: first.projectDir,
      logDir,
      execPrefix,
      invocationFiles: files,
    };
    await writeFileAtomic(scriptPath, batchScript(spec));
    const stats: SlurmJobStats = {
      jobId: '', stages: spec.stageIds, attempt, state: 'SUBMITTING', exitCode: null, logPath: '',
      submitCalled: Date.now(), submitted: null, slurmSubmit: null, slurmStart: null, slurmEnd: null,
      scriptStart: null, scriptEnd: null, committed: null, observedEnd: null,
    };
    const jobId = await sbatch(sbatchArgs(spec, opts), scriptPath);
    stats.submitted = Date.now();
    stats.jobId = jobId;
    stats.logPath = join(logDir, `${jobName(spec.stageIds)}-${jobId}.log`);
    jobs.push(stats);
    counters.submitted++;
    active.add(jobId);

    const log = new LogFollower(stats.logPath);
    // every line of the log passes through here (ticks while running, the flush at the end)
    const emit = (lines: string[]): void => {
      for (const line of lines) {
        if (!isMark(line)) onLog(line);
        else if (line.startsWith(PROGRESS_MARK)) {
          const m = parseProgressMark(line);
          if (m) onProgress?.(m.stage, m.progress);
        } else {
          const marks = parseMarks(line);
          stats.scriptStart ??= marks.start;
          stats.scriptEnd ??= marks.end;
        }
      }
    };
    let aborted = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let arm = (): void => {};
    const onAbort = (): void => {
      aborted = true;
      scancel([jobId]).catch((error: Error) => onLog(`[slurm] ${error.message}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      let lastReason = '';
      let asking = false;
      const waiting = poller.wait(jobId, (state) => {
        stats.state = state;
        if (state !== 'PENDING') {
          void log.read().then(emit, () => {});
          return;
        }
        // a job pending for a while says why (Resources, Priority, a QOS limit, JobHeldUser…)
        if (asking || Date.now() - stats.submitCalled < PENDING_REPORT_MS) return;
        asking = true;
        void scontrolShowJob(jobId).then((fields) => {
          const reason = fields?.Reason ?? '';
          if (reason && reason !== 'None' && reason !== lastReason && fields?.JobState === 'PENDING') {
            lastReason = reason;
            onLog(`[slurm] job ${jobId} is pending: ${reason}`);
          }
        }, () => {}).finally(() => { asking = false; });
      });
      // after scancel a job normally leaves the queue within seconds; never hang on it
      const grace = new Promise<JobFinal>((resolveGrace) => {
        arm = (): void => { graceTimer = setTimeout(() => resolveGrace({ state: 'CANCELLED', fields: null }), CANCEL_GRACE_MS); };
        if (signal.aborted) arm();
        else signal.addEventListener('abort', arm, { once: true });
      });
      const final = await Promise.race([waiting, grace]);
      stats.observedEnd = Date.now();
      stats.state = final.state;
      emit(await log.flush().catch(() => []));
      const f = final.fields;
      stats.exitCode = f?.ExitCode ?? null;
      stats.slurmSubmit = parseSlurmTime(f?.SubmitTime);
      stats.slurmStart = parseSlurmTime(f?.StartTime);
      stats.slurmEnd = parseSlurmTime(f?.EndTime);
      return { final, stats, aborted, scriptPath };
    } finally {
      clearTimeout(graceTimer);
      signal.removeEventListener('abort', onAbort);
      signal.removeEventListener('abort', arm);
      active.delete(jobId);
    }
  }

  /**
   * The failure the stage itself recorded in this job (a model that did not load, a fetch that gave
   * up): read back from the store's failure record, written by exec-stage.
   * A record from before this job was submitted is an earlier run's, not this one's.
   */
  async function stageFailure(store: Store, inv: Invocation, stats: SlurmJobStats): Promise<Failure | undefined> {
    const rec = await store.readFailure(inv.instance.id).catch(() => undefined);
    if (!rec || rec.key !== inv.key || Date.parse(rec.at) < stats.submitCalled) return undefined;
    const f = rec.failure;
    return f.reason === 'execute' ? { ...f, jobId: stats.jobId } : f;
  }

  /** Outcome of each invocation after a job ended. */
  async function judge(invs: Invocation[], run: { final: JobFinal; stats: SlurmJobStats; aborted: boolean }): Promise<ExecOutcome[]> {
    const { final, stats, aborted } = run;
    const outcomes: ExecOutcome[] = [];
    let tail: string | null = null;
    for (const inv of invs) {
      const store = new Store(inv.storeDir);
      const recordPath = store.runPath(inv.key);
      const committed = await stat(recordPath).then((s) => s.mtimeMs, () => null);
      // the record is written last, atomically: if it is there the stage is done, whatever the job's state
      if (committed !== null) {
        stats.committed = Math.max(stats.committed ?? 0, committed);
        outcomes.push({ ok: true, runRecordPath: recordPath });
        continue;
      }
      tail ??= await tailFile(stats.logPath, LOG_TAIL_LINES, isMark);
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
      const message = `Slurm job ${stats.jobId} for stage ${inv.instance.id} ${what}${exit}${slurmReason}${tries}; log: ${stats.logPath}`
        + (tail ? `\n--- last lines of the job log:\n${tail}` : ' (the log is empty)');
      const out: ExecOutcome = { ok: false, reason, message, logTail: tail, jobId: stats.jobId };
      const own = aborted ? undefined : await stageFailure(store, inv, stats);
      if (own) out.failure = { ...own, message }; // the stage's reason, the job's words (log path and tail)
      outcomes.push(out);
    }
    return outcomes;
  }

  async function executeGroupInner(invs: Invocation[], grant: Grant, callerSignal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<ExecOutcome[]> {
    const signal = anySignal(callerSignal, closing.signal);
    const outcomes = new Map<Invocation, ExecOutcome>();
    const cancelledAll = (message: string): ExecOutcome[] =>
      invs.map((inv) => outcomes.get(inv) ?? { ok: false, reason: 'cancelled', message: `stage ${inv.instance.id}: ${message}` });
    if (signal.aborted) return cancelledAll('cancelled before it was submitted to Slurm');
    await mkdir(logDir, { recursive: true });
    for (const inv of invs) {
      await writeFileAtomic(join(inv.storeDir, 'tmp', 'invocations', `${inv.key}.json`), `${JSON.stringify(inv, null, 2)}\n`);
    }
    let pending = invs;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let release: () => void;
      try {
        release = await slots.acquire(signal);
      } catch {
        return cancelledAll('cancelled while waiting for a place in the Slurm queue (maxQueued)');
      }
      let run;
      let trouble = '';
      try {
        run = await runJob(pending, grant, attempt, signal, onLog, onProgress);
      } catch (error) {
        // sbatch refused the job (bad partition, a QOS limit) or the queue stopped answering
        trouble = (error as Error).message;
      } finally {
        release();
      }
      const results: ExecOutcome[] = run
        ? await judge(pending, run)
        : pending.map((inv) => ({ ok: false, reason: 'stage-error', message: `could not run stage ${inv.instance.id} as a Slurm job: ${trouble}` }));
      if (run && results.every((o) => o.ok)) await unlink(run.scriptPath).catch(() => {});
      const failed: Invocation[] = [];
      results.forEach((outcome, i) => {
        const inv = pending[i]!;
        outcomes.set(inv, outcome);
        if (!outcome.ok && outcome.reason !== 'cancelled') failed.push(inv);
      });
      if (failed.length === 0 || attempt >= retries || signal.aborted) break;
      counters.resubmitted++;
      onLog(`[slurm] ${run ? `job ${run.stats.jobId} failed (${run.final.state})` : 'submission failed'}; resubmitting ${failed.length} stage(s), attempt ${attempt + 2} of ${retries + 1}`);
      pending = failed;
    }
    const ordered = invs.map((inv) => outcomes.get(inv)!);
    for (const [i, outcome] of ordered.entries()) {
      if (outcome.ok) {
        counters.succeeded++;
        // the invocation file has served its purpose; failures keep theirs for a rerun by hand
        await unlink(join(invs[i]!.storeDir, 'tmp', 'invocations', `${invs[i]!.key}.json`)).catch(() => {});
      } else if (outcome.reason === 'cancelled') counters.cancelled++;
      else counters.failed++;
    }
    return ordered;
  }

  const coalescer = (opts.groupWindowMs ?? 0) > 0
    ? new Coalescer(opts.groupWindowMs!, opts.groupMax ?? 16, (invs, grant, signal, onLog, onProgress) => executor.executeGroup(invs, grant, signal, onLog, onProgress))
    : null;
  const executor: SlurmExecutor = {
    name: 'slurm',
    async executeGroup(invs, grant, signal, onLog, onProgress) {
      if (invs.length === 0) return [];
      const stores = new Set(invs.map((inv) => inv.storeDir));
      if (stores.size > 1) throw new Error(`slurm executeGroup: invocations of one job must share a store (got ${[...stores].join(', ')})`);
      const task = executeGroupInner(invs, grant, signal, onLog, onProgress);
      inflight.add(task);
      try {
        return await task;
      } finally {
        inflight.delete(task);
      }
    },
    async execute(inv, grant, signal, onLog, onProgress) {
      if (coalescer && inv.affinity && !closing.signal.aborted) return coalescer.submit(inv, grant, signal, onLog, onProgress);
      const [outcome] = await executor.executeGroup([inv], grant, signal, onLog, (id, p) => {
        if (id === inv.instance.id) onProgress?.(p);
      });
      return outcome!;
    },
    async close() {
      closing.abort();
      coalescer?.flushAll(); // waiting batches resolve cancelled instead of waiting on their timers
      // the per-job abort handlers scancel; this catches any job between sbatch and its handler
      await scancel([...active]).catch(() => {});
      await Promise.allSettled([...inflight]);
    },
    stats() {
      return {
        executor: 'slurm',
        ...counters,
        maxQueued: opts.maxQueued ?? 100,
        peakQueued: slots.peak,
        ...(coalescer ? { coalescedGroups: [...coalescer.sizes] } : {}),
        overheadMs: summarize(jobs),
        jobs: jobs.map((j) => ({ ...j })),
      };
    },
  };
  return executor;
}

/** Fill what the request leaves open from the engine's grant (Slurm picks the devices itself). */
function withGrant(request: ResourceRequest, grant: Grant): ResourceRequest {
  return {
    cpu: request.cpu ?? (grant.cpus > 0 ? grant.cpus : undefined),
    gpu: request.gpu ?? (grant.gpus.length > 0 ? grant.gpus.length : undefined),
    memory: request.memory ?? (grant.memory > 0 ? grant.memory : undefined),
  };
}

/**
 * AbortSignal.any (which adds no listeners to the engine's shared signal, so hundreds of stages in
 * flight raise no listener-leak warning); a listener-based stand-in on Node < 20.3.
 */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
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

function isMark(line: string): boolean {
  return line.startsWith(START_MARK) || line.startsWith(END_MARK) || line.startsWith(PROGRESS_MARK);
}

/** Medians of the overhead phases over the jobs that have the timings. */
function summarize(jobs: SlurmJobStats[]): Record<string, number | null> {
  const median = (values: Array<number | null>): number | null => {
    const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return null;
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  };
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

