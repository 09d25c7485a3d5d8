// One Slurm job, from the batch script to its final state: write the script, sbatch it, then follow
// it through the shared poller — streaming its log into the stage's, saying once per reason why it
// is still pending, and scancelling it when the stage is aborted.
import type { Grant, Invocation } from '../executor.js';
import type { ResourceRequest, StageProgress } from '../kind.js';
import { cancelOnAbort } from './slurm-cancel.js';
import { parseSlurmTime, sbatch, scontrolShowJob } from './slurm-cli.js';
import type { EndedJob } from './slurm-judge.js';
import { isMark } from './slurm-judge.js';
import { invocationFile, logFile, scriptFile } from './slurm-layout.js';
import { writeFileAtomic } from '../store/fs-util.js';
import { LogFollower, type JobFinal, type JobPoller } from './slurm-poller.js';
import { PROGRESS_MARK, batchScript, mergeResources, parseMarks, parseProgressMark, sbatchArgs, type JobOptions, type JobSpec } from './slurm-script.js';
import { newJobStats, type SlurmJobStats } from './slurm-stats.js';

/** A job pending longer than this has its pending reason logged (again whenever it changes). */
const PENDING_REPORT_MS = 5_000;

/** What every job of one executor shares. */
export interface JobSetting {
  options: JobOptions;
  logDir: string;
  /** Shell text that starts `exec-stage` (the invocation files are appended). */
  execPrefix: string;
  poller: JobPoller;
}

export interface SubmittedJob {
  stats: SlurmJobStats;
  scriptPath: string;
}

/** Write the batch script for `invs` (their invocation files are written already) and sbatch it;
 * throws with sbatch's message when Slurm refuses the job. */
export async function submitJob(s: JobSetting, invs: Invocation[], grant: Grant, attempt: number): Promise<SubmittedJob> {
  const first = invs[0]!;
  const scriptPath = scriptFile(invs);
  const spec: JobSpec = {
    stageIds: invs.map((inv) => inv.instance.id),
    resources: withGrant(mergeResources(invs.map((inv) => inv.resources)), grant),
    projectDir: first.projectDir,
    logDir: s.logDir,
    execPrefix: s.execPrefix,
    invocationFiles: invs.map(invocationFile),
  };
  await writeFileAtomic(scriptPath, batchScript(spec));
  const stats = newJobStats(spec.stageIds, attempt);
  const jobId = await sbatch(sbatchArgs(spec, s.options), scriptPath);
  stats.submitted = Date.now();
  stats.jobId = jobId;
  stats.logPath = logFile(s.logDir, spec.stageIds, jobId);
  return { stats, scriptPath };
}

/** Progress of one stage of a job's group, by stage id (a group job's log carries all of them). */
export type GroupProgress = (stageId: string, p: StageProgress) => void;

/** Follow a submitted job to its final state (after scancel when `signal` fires). */
export async function followJob(s: JobSetting, stats: SlurmJobStats, signal: AbortSignal, onLog: (line: string) => void, onProgress?: GroupProgress): Promise<EndedJob> {
  const jobId = stats.jobId;
  const log = new LogFollower(stats.logPath);
  // every line of the log passes through here (ticks while running, the flush at the end)
  const emit = (lines: string[]): void => {
    for (const line of lines) {
      if (line.startsWith(PROGRESS_MARK)) {
        const m = parseProgressMark(line);
        if (m) onProgress?.(m.stage, m.progress);
      } else if (!isMark(line)) onLog(line);
      else {
        const marks = parseMarks(line);
        stats.scriptStart ??= marks.start;
        stats.scriptEnd ??= marks.end;
      }
    }
  };
  const cancel = cancelOnAbort(jobId, signal, onLog);
  try {
    const pending = pendingReporter(stats, onLog);
    const waiting = s.poller.wait(jobId, (state) => {
      stats.state = state;
      if (state === 'PENDING') pending();
      else void log.read().then(emit, () => {});
    });
    // after scancel a job normally leaves the queue within seconds; never hang on it
    const final: JobFinal = await Promise.race([waiting, cancel.grace]);
    stats.observedEnd = Date.now();
    stats.state = final.state;
    emit(await log.flush().catch(() => []));
    const f = final.fields;
    stats.exitCode = f?.ExitCode ?? null;
    stats.slurmSubmit = parseSlurmTime(f?.SubmitTime);
    stats.slurmStart = parseSlurmTime(f?.StartTime);
    stats.slurmEnd = parseSlurmTime(f?.EndTime);
    return { final, stats, aborted: cancel.aborted };
  } finally {
    cancel.dispose();
  }
}

/** Called on every PENDING tick: once the job has waited PENDING_REPORT_MS, asks scontrol why
 * (Resources, Priority, a QOS limit, JobHeldUser…) and logs each new reason once. */
function pendingReporter(stats: SlurmJobStats, onLog: (line: string) => void): () => void {
  let lastReason = '';
  let asking = false;
  return () => {
    if (asking || Date.now() - stats.submitCalled < PENDING_REPORT_MS) return;
    asking = true;
    void scontrolShowJob(stats.jobId).then((fields) => {
      const reason = fields?.Reason ?? '';
      if (reason && reason !== 'None' && reason !== lastReason && fields?.JobState === 'PENDING') {
        lastReason = reason;
        onLog(`[slurm] job ${stats.jobId} is pending: ${reason}`);
      }
    }, () => {}).finally(() => { asking = false; });
  };
}

/** Fill what the request leaves open from the engine's grant (Slurm picks the devices itself). */
export function withGrant(request: ResourceRequest, grant: Grant): ResourceRequest {
  return {
    cpu: request.cpu ?? (grant.cpus > 0 ? grant.cpus : undefined),
    gpu: request.gpu ?? (grant.gpus.length > 0 ? grant.gpus.length : undefined),
    memory: request.memory ?? (grant.memory > 0 ? grant.memory : undefined),
  };
}
