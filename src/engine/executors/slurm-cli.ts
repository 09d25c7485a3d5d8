// Thin wrappers over the Slurm client commands the executor uses (sbatch, squeue, scontrol,
// scancel) and pure parsers for their output. Nothing here keeps state. There is no sacct: a
// cluster without slurmdbd has none, so finished jobs are read from squeue/scontrol (which keep
// them for MinJobAge seconds).

import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run a command without a shell; never rejects on a non-zero exit (the caller decides). */
export function runCommand(file: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
        // spawn failures (ENOENT: Slurm is not installed here) are not exit codes
        const code = (error as NodeJS.ErrnoException).code;
        reject(new Error(`cannot run ${file}: ${code === 'ENOENT' ? 'command not found (is the Slurm client installed and on PATH?)' : error.message}`));
        return;
      }
      const exit = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code: exit });
    });
  });
}

/** `sbatch --parsable` prints "<jobid>" or "<jobid>;<cluster>". */
export function parseSbatchJobId(stdout: string): string {
  const line = stdout.trim().split('\n').pop() ?? '';
  const id = line.split(';')[0]?.trim() ?? '';
  if (!/^\d+(_\d+)?$/.test(id)) throw new Error(`sbatch printed no job id (output: ${JSON.stringify(stdout.trim())})`);
  return id;
}

/** Submit a batch script file; returns the job id. */
export async function sbatch(args: string[], scriptPath: string): Promise<string> {
  const r = await runCommand('sbatch', ['--parsable', ...args, scriptPath]);
  if (r.code !== 0) throw new Error(`sbatch failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return parseSbatchJobId(r.stdout);
}

/** Lines of `squeue -h -t all -o '%i %T'` → job id → state. Unknown lines are ignored. */
export function parseSqueueStates(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\S+)\s+([A-Z_]+)\s*$/.exec(line);
    if (m && m[1] && m[2]) states.set(m[1], m[2]);
  }
  return states;
}

/**
 * States of the given jobs in one squeue call. Jobs squeue no longer knows are missing from the
 * map (with a single unknown id squeue exits 1 "Invalid job id specified"; that is not an error).
 */
export async function squeueStates(jobIds: string[]): Promise<Map<string, string>> {
  if (jobIds.length === 0) return new Map();
  const r = await runCommand('squeue', ['-h', '-t', 'all', '-j', jobIds.join(','), '-o', '%i %T']);
  if (r.code !== 0 && !/invalid job id/i.test(r.stderr)) {
    throw new Error(`squeue failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return parseSqueueStates(r.stdout);
}

/**
 * `scontrol show job -o <id>` prints one line of Key=Value pairs. Values have no spaces except
 * in a few free-text fields (Command, WorkDir, Reason with spaces is rare); a token without '='
 * is glued to the previous value so such values survive.
 */
export function parseScontrolJob(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | null = null;
  for (const token of stdout.trim().split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0) {
      last = token.slice(0, eq);
      fields[last] = token.slice(eq + 1);
    } else if (last !== null && token) {
      fields[last] += ` ${token}`;
    }
  }
  return fields;
}

/** The job's fields, or null when the controller no longer knows it. */
export async function scontrolShowJob(jobId: string): Promise<Record<string, string> | null> {
  const r = await runCommand('scontrol', ['show', 'job', '-o', jobId]);
  if (r.code !== 0) {
    if (/invalid job id/i.test(r.stderr)) return null;
    throw new Error(`scontrol show job ${jobId} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return parseScontrolJob(r.stdout);
}

/** Cancel jobs; ids the controller no longer knows (already gone) are not an error. */
export async function scancel(jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  const r = await runCommand('scancel', jobIds);
  if (r.code !== 0 && !/invalid job id|already completing or completed/i.test(r.stderr)) {
    throw new Error(`scancel ${jobIds.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

/**
 * scontrol's local time stamps ("2026-11-28T08:24:36", no zone) → epoch ms, interpreted in this
 * process's time zone like scontrol prints them; null for "Unknown", "None", "N/A".
 */
export function parseSlurmTime(value: string | undefined): number | null {
  if (!value || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(value)) return null;
  const ms = new Date(value).getTime(); // no zone suffix → local time
  return Number.isNaN(ms) ? null : ms;
}
