// Watching Slurm jobs: one polling loop for every job the executor waits on (a single squeue call
// per tick however many jobs are in flight, so a large sweep does not hammer the controller), a
// follower that streams a job's log file, and the semaphore behind maxQueued.

import { open } from 'node:fs/promises';
import { classifyState } from './slurm-states.js';
import { scontrolShowJob, squeueStates } from './slurm-cli.js';

export interface JobFinal {
  /** Terminal state (COMPLETED, FAILED, ...), or 'VANISHED' when the controller forgot the job. */
  state: string;
  /** scontrol's fields at the end (times, ExitCode, Reason); null if it no longer knew the job. */
  fields: Record<string, string> | null;
}

interface Waiter {
  resolve(final: JobFinal): void;
  reject(error: Error): void;
  onTick(state: string): void;
  /** Consecutive ticks in which squeue did not list the job. */
  misses: number;
}

/** Consecutive failing squeue calls tolerated (a controller restart) before waits are failed. */
const MAX_ERRORS = 20;

export class JobPoller {
  private readonly waiters = new Map<string, Waiter>();
  private running = false;
  private errors = 0;

  constructor(private readonly pollMs: number) {}

  /** Resolve when the job reaches a terminal state; onTick sees every unfinished state polled. */
  wait(jobId: string, onTick: (state: string) => void = () => {}): Promise<JobFinal> {
    return new Promise<JobFinal>((resolve, reject) => {
      this.waiters.set(jobId, { resolve, reject, onTick, misses: 0 });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0) {
        await this.tick();
        if (this.waiters.size > 0) await sleep(this.pollMs);
      }
    } finally {
      this.running = false;
    }
  }

  private async tick(): Promise<void> {
    const ids = [...this.waiters.keys()];
    let states: Map<string, string>;
    try {
      states = await squeueStates(ids);
      this.errors = 0;
    } catch (error) {
      if (++this.errors >= MAX_ERRORS) this.failAll(error as Error);
      return;
    }
    await Promise.all(ids.map(async (id) => {
      const waiter = this.waiters.get(id);
      if (!waiter) return;
      const state = states.get(id);
      if (state === undefined) {
        // not listed: ask scontrol (it may lag squeue's view); twice unknown → gone
        const fields = await scontrolShowJob(id).catch(() => null);
        const jobState = fields?.JobState;
        if (jobState && classifyState(jobState).done) return this.finish(id, { state: jobState, fields });
        if (!fields && ++waiter.misses >= 2) return this.finish(id, { state: 'VANISHED', fields: null });
        return;
      }
      waiter.misses = 0;
      if (!classifyState(state).done) return waiter.onTick(state);
      const fields = await scontrolShowJob(id).catch(() => null);
      this.finish(id, { state, fields });
    }));
  }

  private finish(id: string, final: JobFinal): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    waiter.resolve(final);
  }

  private failAll(error: Error): void {
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.reject(new Error(`lost track of Slurm job ${id}: squeue kept failing (${error.message})`));
    }
  }
}

/** Streams the complete lines a job appends to its log file, from where it left off. */
export class LogFollower {
  private offset = 0;
  private partial = '';
  /** Reads run one after another: poll ticks may ask again before a slow read has finished. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** New complete lines since the last call ([] while the file does not exist yet). */
  read(): Promise<string[]> {
    const next = this.queue.then(() => this.readNow());
    this.queue = next.catch(() => {});
    return next;
  }

  /** Whatever is left after the job ended, including a last line without a newline. */
  flush(): Promise<string[]> {
    const next = this.queue.then(async () => {
      const lines = await this.readNow();
      if (this.partial) lines.push(this.partial);
      this.partial = '';
      return lines;
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private async readNow(): Promise<string[]> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return [];
    }
    try {
      const lines: string[] = [];
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const text = this.partial + buffer.subarray(0, bytesRead).toString('utf8');
        const parts = text.split('\n');
        this.partial = parts.pop() ?? '';
        lines.push(...parts);
      }
      return lines;
    } finally {
      await handle.close();
    }
  }

}

/** Read the last `maxLines` lines of a file ('' when it is missing). */
export async function tailFile(path: string, maxLines: number, skip: (line: string) => boolean = () => false): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((l) => l !== '' && !skip(l));
    return lines.slice(-maxLines).join('\n');
  } finally {
    await handle.close();
  }
}

/** Counting semaphore with abortable waits; remembers its peak. */
export class Semaphore {
  private active = 0;
  private peakActive = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`maxQueued must be at least 1 (got ${limit})`);
  }

  get peak(): number {
    return this.peakActive;
  }

  get inUse(): number {
    return this.active;
  }

  /** Resolves with a release function, or rejects with the signal's reason when aborted first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.active++;
        this.peakActive = Math.max(this.peakActive, this.active);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.active--;
          this.queue.shift()?.();
        });
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new Error('aborted'));
      };
      if (this.active < this.limit) grant();
      else {
        this.queue.push(grant);
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
