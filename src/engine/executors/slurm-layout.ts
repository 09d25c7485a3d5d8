// Where the Slurm executor's files live: invocations and batch scripts in the store's
// `tmp/invocations/` (kept when a stage fails, so it can be rerun by hand), job logs in the log
// folder the nodes can see. Paths are pure; the writes are atomic (a node never reads half a file).
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/fs-util.js';
import type { Invocation } from '../executor.js';
import { jobName } from './slurm-script.js';

export function invocationDir(storeDir: string): string {
  return join(storeDir, 'tmp', 'invocations');
}

/** `<store>/tmp/invocations/<key>.json`: what `exec-stage` reads on the node. */
export function invocationFile(inv: Invocation): string {
  return join(invocationDir(inv.storeDir), `${inv.key}.json`);
}

/** `<key>.sbatch` for one invocation, `<first key>+<n>.sbatch` for a group (beside the invocations). */
export function scriptFile(invs: Invocation[]): string {
  const first = invs[0]!;
  return join(invocationDir(first.storeDir), `${first.key}${invs.length > 1 ? `+${invs.length - 1}` : ''}.sbatch`);
}

/** `<logDir>/<job-name>-<jobid>.log`, as sbatch's --output names it. */
export function logFile(logDir: string, stageIds: string[], jobId: string): string {
  return join(logDir, `${jobName(stageIds)}-${jobId}.log`);
}

export async function writeInvocation(inv: Invocation): Promise<void> {
  await writeFileAtomic(invocationFile(inv), `${JSON.stringify(inv, null, 2)}\n`);
}

/** A stage that succeeded needs its invocation no more; a failed one keeps it for a rerun by hand. */
export async function removeInvocation(inv: Invocation): Promise<void> {
  await unlink(invocationFile(inv)).catch(() => {});
}
