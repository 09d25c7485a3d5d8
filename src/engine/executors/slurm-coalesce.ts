// Coalescing: invocations with the same affinity (the model instance) that reach the executor
// within a short window go to Slurm as one job, so the model loads once for all of them, without
// the engine having to know about groups. Off unless the executor is given a window.

import type { ExecOutcome, Grant, Invocation } from '../executor.js';
import type { StageProgress } from '../kind.js';

type RunGroup = (invs: Invocation[], grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress: (stageId: string, p: StageProgress) => void) => Promise<ExecOutcome[]>;

interface Member {
  inv: Invocation;
  grant: Grant;
  signal: AbortSignal;
  onLog: (line: string) => void;
  onProgress?: ((p: StageProgress) => void) | undefined;
  settle: (outcome: ExecOutcome) => void;
  settled: boolean;
  /** Removes the member's abort listener once it has its outcome. */
  cleanup: () => void;
}

interface Batch {
  members: Member[];
  timer: NodeJS.Timeout;
}

export class Coalescer {
  private readonly batches = new Map<string, Batch>();
  /** Sizes of the groups sent, for stats(). */
  readonly sizes: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly maxSize: number,
    private readonly runGroup: RunGroup,
  ) {}

  /** Queue one invocation; it is sent with the others of its affinity when the window closes. */
  submit(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: (p: StageProgress) => void): Promise<ExecOutcome> {
    const key = `${inv.storeDir}\0${inv.affinity ?? inv.key}`;
    return new Promise<ExecOutcome>((resolve) => {
      let batch = this.batches.get(key);
      if (!batch) {
        batch = { members: [], timer: setTimeout(() => this.flush(key), this.windowMs) };
        this.batches.set(key, batch);
      }
      const member: Member = {
        inv, grant, signal, onLog, onProgress, settled: false, cleanup: () => {},
        settle: (outcome) => {
          if (member.settled) return;
          member.settled = true;
          member.cleanup();
          resolve(outcome);
        },
      };
      batch.members.push(member);
      if (batch.members.length >= this.maxSize) this.flush(key);
    });
  }

  /** Send every batch now (close() uses this so that nothing waits on a timer). */
  flushAll(): void {
    for (const key of [...this.batches.keys()]) this.flush(key);
  }

  private flush(key: string): void {
    const batch = this.batches.get(key);
    if (!batch) return;
    this.batches.delete(key);
    clearTimeout(batch.timer);
    const cancelled = (m: Member): ExecOutcome => ({ ok: false, reason: 'cancelled', message: `stage ${m.inv.instance.id} was cancelled before its Slurm job was submitted` });
    const live = batch.members.filter((m) => {
      if (m.signal.aborted) m.settle(cancelled(m));
      return !m.signal.aborted;
    });
    if (live.length === 0) return;
    this.sizes.push(live.length);
    // The job is cancelled only when every member gives up; a member that aborts alone stops
    // waiting at once (its stage may still be committed by the job, which is harmless).
    const group = new AbortController();
    let remaining = live.length;
    for (const m of live) {
      const onAbort = (): void => {
        m.settle({ ok: false, reason: 'cancelled', message: `stage ${m.inv.instance.id} was cancelled (its Slurm job runs on for ${remaining - 1} other stage(s))` });
        if (--remaining === 0) group.abort();
      };
      m.signal.addEventListener('abort', onAbort, { once: true });
      m.cleanup = () => m.signal.removeEventListener('abort', onAbort);
    }
    const fanOut = (line: string): void => {
      for (const m of live) if (!m.settled) m.onLog(line);
    };
    // Progress names its stage: it goes to that member alone.
    const route = (stageId: string, p: StageProgress): void => {
      for (const m of live) if (!m.settled && m.inv.instance.id === stageId) m.onProgress?.(p);
    };
    this.runGroup(live.map((m) => m.inv), live[0]!.grant, group.signal, fanOut, route).then(
      (outcomes) => outcomes.forEach((outcome, i) => live[i]!.settle(outcome)),
      (error: Error) => {
        for (const m of live) m.settle({ ok: false, reason: 'stage-error', message: `stage ${m.inv.instance.id}: Slurm group job failed: ${error.message}` });
      },
    );
  }
}
