// How Slurm job states map onto the executor's outcomes. Pure.
//
// COMPLETING counts as unfinished: the job's processes may still be writing (and a cancelled job
// passes through it before CANCELLED). COMPLETED alone is not success: the run record must exist.

import type { OutcomeReason } from '../executor.js';

export type StateClass =
  | { done: false }
  | { done: true; ok: true }
  | { done: true; ok: false; reason: OutcomeReason };

/** Terminal states and the failure each one means. */
export const FAILED_STATES: Readonly<Record<string, OutcomeReason>> = {
  FAILED: 'exit-non-zero',
  SPECIAL_EXIT: 'exit-non-zero',
  CANCELLED: 'cancelled',
  REVOKED: 'cancelled',
  TIMEOUT: 'timeout',
  DEADLINE: 'timeout',
  NODE_FAIL: 'node-fail',
  BOOT_FAIL: 'node-fail',
  OUT_OF_MEMORY: 'out-of-memory',
  PREEMPTED: 'preempted',
};

/** Classify a state as printed by `squeue -o %T` or scontrol's JobState. */
export function classifyState(state: string): StateClass {
  if (state === 'COMPLETED') return { done: true, ok: true };
  const reason = FAILED_STATES[state];
  if (reason) return { done: true, ok: false, reason };
  // PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, RESIZING, STOPPED, SIGNALING,
  // STAGE_OUT, the hold states, and any state a newer Slurm adds: still in the queue's hands
  return { done: false };
}
