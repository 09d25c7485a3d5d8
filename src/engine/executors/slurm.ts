// The Slurm executor: runs each invocation (or a group of invocations sharing a model) as one
// batch job that calls `pipeline exec-stage <invocation.json>...` on a compute node. The store must
// be on a filesystem the nodes share; success is the job's COMPLETED state *and* the run record the
// executing process writes last, so a job that "completed" without committing is still a failure.
// This module is the executor's face (the Executor the scheduler sees, execute/executeGroup), the
// retry loop and the bookkeeping; the parts are: slurm-job (submit and follow one job), slurm-judge (outcomes),
// slurm-cancel, slurm-layout (files), slurm-stats, slurm-coalesce (one job per affinity), and
// slurm-script/-cli/-poller/-states underneath.
//
// See docs/slurm.md for usage, the state mapping and measured overhead.

import { mkdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecOutcome, Executor, ExecutorStats, Grant, Invocation, Placement, StageJob } from '../executor.js';
import type { StageProgress } from '../kind.js';
import { scancel } from './slurm-cli.js';
import { Coalescer } from './slurm-coalesce.js';
import { anySignal } from './slurm-cancel.js';
import { followJob, submitJob, type GroupProgress, type JobSetting } from './slurm-job.js';
import { judgeJob, type EndedJob } from './slurm-judge.js';
import { removeInvocation, writeInvocation } from './slurm-layout.js';
import { JobPoller, Semaphore } from './slurm-poller.js';
import { shellQuote } from './slurm-script.js';
import { summarize, type SlurmJobStats } from './slurm-stats.js';

export type { SlurmJobStats } from './slurm-stats.js';

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
  /** Run one invocation as a job (or, with a group window, in one job with others of its affinity). */
  execute(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: (p: StageProgress) => void): Promise<ExecOutcome>;
  /**
   * Run invocations in one job, one after another in one process (so a model loads once). They
   * share the store; resources are the largest of each. One outcome per invocation, in order:
   * an invocation whose run record exists succeeded even if a later one failed the job.
   */
  executeGroup(invs: Invocation[], grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<ExecOutcome[]>;
}

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // dist/src/engine/executors → repo

/** The executing command: the option, else $PIPELINE_EXEC_STAGE_CMD (shell text), else this install's CLI. */
function execPrefixOf(opts: SlurmExecutorOptions): string {
  return opts.execCommand
    ? opts.execCommand.map(shellQuote).join(' ')
    : process.env.PIPELINE_EXEC_STAGE_CMD
      ?? [process.execPath, join(REPO_ROOT, 'bin', 'pipeline.js'), 'exec-stage'].map(shellQuote).join(' ');
}

export function createSlurmExecutor(opts: SlurmExecutorOptions): SlurmExecutor {
  return new SlurmJobsExecutor(opts);
}

/** Each method one job: placing a stage, a group's jobs and retries, one job's life, close, stats. */
class SlurmJobsExecutor implements SlurmExecutor {
  readonly name = 'slurm';
  private readonly retries: number;
  private readonly setting: JobSetting;
  private readonly slots: Semaphore;
  private readonly closing = new AbortController();
  /** Job ids in the queue (close() scancels them), and the groups in flight (close() awaits them). */
  private readonly active = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly jobs: SlurmJobStats[] = [];
  private readonly counters = { submitted: 0, resubmitted: 0, cancelled: 0, failed: 0, succeeded: 0 };
  private readonly coalescer: Coalescer | null;

  constructor(private readonly opts: SlurmExecutorOptions) {
    this.retries = opts.retries ?? 0;
    this.setting = { options: opts, logDir: resolve(opts.logDir), execPrefix: execPrefixOf(opts), poller: new JobPoller(opts.pollMs ?? 500) };
    this.slots = new Semaphore(opts.maxQueued ?? 100);
    this.coalescer = (opts.groupWindowMs ?? 0) > 0
      ? new Coalescer(opts.groupWindowMs!, opts.groupMax ?? 16, (invs, grant, signal, onLog, onProgress) => this.executeGroup(invs, grant, signal, onLog, onProgress))
      : null;
  }

  /** The stages whose work is a process of their own (models, commands); light ones stay local. */
  accepts(job: StageJob): boolean {
    return job.offload;
  }

  /** Slurm judges what a partition can hold (sbatch refuses what it cannot). */
  impossible(): undefined {
    return undefined;
  }

  /** Always room: maxQueued is waited for inside, and stages of one affinity share a job there. */
  place(job: StageJob): Placement {
    const req = job.inv.resources;
    const grant: Grant = { cpus: req.cpu ?? 1, gpus: [], memory: req.memory ?? 0 };
    return { gpus: [], run: (signal, onLog, onProgress) => this.execute(job.inv, grant, signal, onLog, onProgress), release: () => {} };
  }

  async execute(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: (p: StageProgress) => void): Promise<ExecOutcome> {
    if (this.coalescer && inv.affinity && !this.closing.signal.aborted) return this.coalescer.submit(inv, grant, signal, onLog, onProgress);
    const [outcome] = await this.executeGroup([inv], grant, signal, onLog, (id, p) => {
      if (id === inv.instance.id) onProgress?.(p);
    });
    return outcome!;
  }

  async executeGroup(invs: Invocation[], grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<ExecOutcome[]> {
    if (invs.length === 0) return [];
    const stores = new Set(invs.map((inv) => inv.storeDir));
    if (stores.size > 1) throw new Error(`slurm executeGroup: invocations of one job must share a store (got ${[...stores].join(', ')})`);
    const task = this.runGroup(invs, grant, signal, onLog, onProgress);
    this.inflight.add(task);
    try {
      return await task;
    } finally {
      this.inflight.delete(task);
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.coalescer?.flushAll(); // waiting batches resolve cancelled instead of waiting on their timers
    // the per-job abort handlers scancel; this catches any job between sbatch and its handler
    await scancel([...this.active]).catch(() => {});
    await Promise.allSettled([...this.inflight]);
  }

  stats(): ExecutorStats {
    return {
      executor: 'slurm',
      ...this.counters,
      maxQueued: this.opts.maxQueued ?? 100,
      peakQueued: this.slots.peak,
      ...(this.coalescer ? { coalescedGroups: [...this.coalescer.sizes] } : {}),
      overheadMs: summarize(this.jobs),
      jobs: this.jobs.map((j) => ({ ...j })),
    };
  }

  /** A group's jobs: one, then one per retry for the members that failed (never the cancelled). */
  private async runGroup(invs: Invocation[], grant: Grant, callerSignal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<ExecOutcome[]> {
    const signal = anySignal(callerSignal, this.closing.signal);
    const outcomes = new Map<Invocation, ExecOutcome>();
    const cancelledAll = (message: string): ExecOutcome[] =>
      invs.map((inv) => outcomes.get(inv) ?? { ok: false, reason: 'cancelled', message: `stage ${inv.instance.id}: ${message}` });
    if (signal.aborted) return cancelledAll('cancelled before it was submitted to Slurm');
    await mkdir(this.setting.logDir, { recursive: true });
    for (const inv of invs) await writeInvocation(inv);
    let pending = invs;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let release: () => void;
      try {
        release = await this.slots.acquire(signal);
      } catch {
        return cancelledAll('cancelled while waiting for a place in the Slurm queue (maxQueued)');
      }
      let run;
      let trouble = '';
      try {
        run = await this.runJob(pending, grant, attempt, signal, onLog, onProgress);
      } catch (error) {
        // sbatch refused the job (bad partition, a QOS limit) or the queue stopped answering
        trouble = (error as Error).message;
      } finally {
        release();
      }
      const results: ExecOutcome[] = run
        ? await judgeJob(pending, run)
        : pending.map((inv) => ({ ok: false, reason: 'stage-error', message: `could not run stage ${inv.instance.id} as a Slurm job: ${trouble}` }));
      if (run && results.every((o) => o.ok)) await unlink(run.scriptPath).catch(() => {});
      const failed: Invocation[] = [];
      results.forEach((outcome, i) => {
        const inv = pending[i]!;
        outcomes.set(inv, outcome);
        if (!outcome.ok && outcome.reason !== 'cancelled') failed.push(inv);
      });
      if (failed.length === 0 || attempt >= this.retries || signal.aborted) break;
      this.counters.resubmitted++;
      onLog(`[slurm] ${run ? `job ${run.stats.jobId} failed (${run.final.state})` : 'submission failed'}; resubmitting ${failed.length} stage(s), attempt ${attempt + 2} of ${this.retries + 1}`);
      pending = failed;
    }
    const ordered = invs.map((inv) => outcomes.get(inv)!);
    for (const [i, outcome] of ordered.entries()) {
      if (outcome.ok) {
        this.counters.succeeded++;
        await removeInvocation(invs[i]!);
      } else if (outcome.reason === 'cancelled') this.counters.cancelled++;
      else this.counters.failed++;
    }
    return ordered;
  }

  /** One job for `invs`, from sbatch to its final state; throws when sbatch refuses it. */
  private async runJob(invs: Invocation[], grant: Grant, attempt: number, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<EndedJob & { scriptPath: string }> {
    const { stats, scriptPath } = await submitJob(this.setting, invs, grant, attempt);
    this.jobs.push(stats);
    this.counters.submitted++;
    this.active.add(stats.jobId);
    try {
      return { ...(await followJob(this.setting, stats, signal, onLog, onProgress)), scriptPath };
    } finally {
      this.active.delete(stats.jobId);
    }
  }
}
