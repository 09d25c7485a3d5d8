// Builds the Slurm executor from the pipeline's `executor:` block (see docs/slurm.md).
import { join } from 'node:path';
import type { SlurmExecutor } from './slurm.js';
import type { Spec } from '../spec.js';

export async function createEngineSlurmExecutor(spec: Spec, storeDir: string): Promise<SlurmExecutor> {
  const { createSlurmExecutor } = await import('./slurm.js');
  const e = spec.executor;
  const opts: Parameters<typeof createSlurmExecutor>[0] = { logDir: join(storeDir, 'slurm-logs') };
  if (e.partition) opts.partition = e.partition;
  if (e.account) opts.account = e.account;
  if (e.flags) opts.extraFlags = e.flags;
  if (e.max_queued) opts.maxQueued = e.max_queued;
  if (e.retries !== undefined) opts.retries = e.retries;
  if (e.time) opts.timeLimit = e.time;
  // Score stages of one model that become ready together share a job (one model load per job).
  opts.groupWindowMs = e.group_window_ms ?? 500;
  if (e.group_max) opts.groupMax = e.group_max;
  return createSlurmExecutor(opts);
}
