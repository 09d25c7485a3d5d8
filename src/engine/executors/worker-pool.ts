// The local executor's placement: resource grants from this machine's pools (cpu units, GPU ids,
// memory), and model affinity — a stage that needs a model goes to the worker that already holds
// it, one worker per model, at most `maxWorkers` of them. When room is short an idle worker is
// evicted: first one whose model no remaining stage needs, else the least recently used.
import type { Grant } from '../executor.js';
import type { ResourceRequest } from '../kind.js';
import type { ResourcePools } from '../pools.js';

/** What the pool needs of a worker (a process in the engine; a plain object in its tests). */
export interface PooledWorker {
  readonly affinity: string;
  readonly grant: Grant;
  readonly busy: boolean;
  readonly lastUsed: number;
  stop(): void;
}

/** Starts a worker for an affinity, holding `grant`; `died` must be called if its process dies. */
export type StartWorker<W extends PooledWorker> = (affinity: string, grant: Grant, died: (w: W) => void) => W;

export class WorkerPool<W extends PooledWorker> {
  private readonly workers = new Map<string, W>();
  /** Selected stages per affinity not settled yet (the scheduler's count). */
  private readonly demand = new Map<string, number>();

  constructor(
    readonly pools: ResourcePools,
    private readonly maxWorkers: number,
    private readonly startWorker: StartWorker<W>,
  ) {}

  /** The worker for `affinity`, started now when there is room (evicting idle workers for it);
   * undefined when the stage must wait (its worker is busy, or no room can be made). */
  claim(affinity: string, request: ResourceRequest): W | undefined {
    const w = this.workers.get(affinity);
    if (w) return w.busy ? undefined : w; // busy: wait for the worker that already holds this model
    if (this.workers.size >= this.maxWorkers && !this.evictOne()) return undefined;
    const grant = this.acquire(request);
    if (!grant) return undefined;
    const started = this.startWorker(affinity, grant, (dead) => this.died(dead));
    this.workers.set(affinity, started);
    return started;
  }

  /** A grant for a stage run outside a worker; idle workers are evicted when the pools are full. */
  acquire(request: ResourceRequest): Grant | undefined {
    let g = this.pools.tryAcquire(request);
    while (!g && this.evictOne()) g = this.pools.tryAcquire(request);
    return g;
  }

  release(g: Grant): void {
    this.pools.release(g);
  }

  /** Whether a stage of `affinity` would start at once in an idle worker holding its model. */
  warm(affinity: string | undefined): boolean {
    const w = affinity ? this.workers.get(affinity) : undefined;
    return !!w && !w.busy;
  }

  hasIdle(): boolean {
    for (const w of this.workers.values()) if (!w.busy) return true;
    return false;
  }

  /** The scheduler's count of stages still to come for an affinity; at 0 its idle worker has done
   * its work and is stopped (a busy one when its stage settles, which says 0 again). */
  setDemand(affinity: string, remaining: number): void {
    this.demand.set(affinity, remaining);
    if (remaining > 0) return;
    const w = this.workers.get(affinity);
    if (w && !w.busy) this.stop(affinity);
  }

  /** Affinities of live workers (for tests and stats). */
  live(): string[] {
    return [...this.workers.keys()];
  }

  stop(affinity: string): void {
    const w = this.workers.get(affinity);
    if (!w) return;
    this.workers.delete(affinity);
    w.stop();
    this.pools.release(w.grant);
  }

  stopAll(): void {
    for (const a of [...this.workers.keys()]) this.stop(a);
  }

  /** Stop one idle worker to make room: one whose model no remaining stage needs, else the least
   * recently used. False when every worker is busy. */
  private evictOne(): boolean {
    const idle = [...this.workers.values()].filter((w) => !w.busy).sort((a, b) => a.lastUsed - b.lastUsed);
    const victim = idle.find((w) => (this.demand.get(w.affinity) ?? 0) === 0) ?? idle[0];
    if (!victim) return false;
    this.stop(victim.affinity);
    return true;
  }

  /** A worker whose process died gives its grant back (once: it is no longer the live worker). */
  private died(w: W): void {
    if (this.workers.get(w.affinity) !== w) return;
    this.workers.delete(w.affinity);
    this.pools.release(w.grant);
  }
}
