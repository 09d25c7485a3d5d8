// The local executor: light kinds run in the engine process under a grant of the pools; worker
// kinds run in long-lived worker processes, one per affinity (a model instance), so each model is
// loaded once per run. Where a stage goes and what it holds is the WorkerPool's business; this
// adds the jobs limit (stages on this machine at once) and runs the stage.
import { executeInvocation } from '../exec-stage.js';
import { failedOutcome, type ExecOutcome, type Executor, type ExecutorStats, type Grant, type Invocation, type Placement, type StageJob } from '../executor.js';
import { toFailure } from '../failure.js';
import type { ResourcePools } from '../pools.js';
import type { StageProgress } from '../kind.js';
import type { KindRegistry } from '../registry.js';
import type { RunRecord } from '../store/run-record.js';
import { Store } from '../store/store.js';
import { Worker } from './worker.js';
import { WorkerPool } from './worker-pool.js';

export interface LocalExecutorOptions {
  registry: KindRegistry;
  pools: ResourcePools;
  /** Most stages running on this machine at once (any kind). */
  jobs: number;
  /** Most worker processes alive at once. */
  maxWorkers: number;
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly pool: WorkerPool<Worker>;
  private readonly processCache = new Map<string, unknown>();
  private running = 0;
  /** Models loaded per affinity: what the stages say they loaded (a worker start is not a load). */
  private readonly loads = new Map<string, number>();

  constructor(private readonly o: LocalExecutorOptions) {
    this.pool = new WorkerPool(o.pools, o.maxWorkers, (affinity, grant, died) => new Worker(affinity, grant, died));
  }

  /** Everything can run here. */
  accepts(): boolean {
    return true;
  }

  impossible(job: StageJob): string | undefined {
    return this.o.pools.impossible(job.inv.resources);
  }

  place(job: StageJob): Placement | 'wait' | 'full' {
    if (this.running >= this.o.jobs) return 'full';
    const { inv } = job;
    if (job.isolation === 'worker' && inv.affinity) {
      const w = this.pool.claim(inv.affinity, inv.resources);
      if (!w) return 'wait';
      // The worker holds the grant for its life; the stage-start event names no devices for it.
      return this.placed(inv, [], (signal, onLog, onProgress) => w.run(inv, signal, onLog, onProgress, (n) => this.loads.set(w.affinity, (this.loads.get(w.affinity) ?? 0) + n)));
    }
    const grant = this.pool.acquire(inv.resources);
    if (!grant) return 'wait';
    return this.placed(inv, grant.gpus, (signal, onLog, onProgress, executed) => this.runInline(job, grant, signal, onLog, onProgress, executed), grant);
  }

  /** Stages whose model is loaded in an idle worker first (sorting only when there is one). */
  prefer<T extends { job: StageJob }>(waiting: T[]): T[] {
    if (this.running >= this.o.jobs || !this.pool.hasIdle()) return waiting;
    const cold = (r: T): number => (this.pool.warm(r.job.inv.affinity) ? 0 : 1);
    return waiting.sort((a, b) => cold(a) - cold(b));
  }

  demand(affinity: string, remaining: number): void {
    this.pool.setDemand(affinity, remaining);
  }

  /** Model loads per affinity and the pools' peak use in this run. */
  stats(): ExecutorStats {
    return { modelLoads: Object.fromEntries(this.loads), peak: { ...this.o.pools.peak } };
  }

  async close(): Promise<void> {
    this.pool.stopAll();
  }

  /** A placement that counts against the jobs limit (and holds `grant`) until it is released. */
  private placed(inv: Invocation, gpus: string[], exec: (signal: AbortSignal, onLog: (l: string) => void, onProgress: (p: StageProgress) => void, executed: () => void) => Promise<RunRecord>, grant?: Grant): Placement {
    this.running++;
    let held = true;
    const giveBack = (): boolean => {
      if (!held) return false;
      held = false;
      this.running--;
      if (grant) this.pool.release(grant);
      return true;
    };
    return {
      gpus,
      run: async (signal, onLog, onProgress, onRoom): Promise<ExecOutcome> => {
        try {
          const record = await exec(signal, onLog, onProgress, () => {
            if (giveBack()) onRoom?.();
          });
          return { ok: true, runRecordPath: new Store(inv.storeDir).runPath(inv.key), record };
        } catch (e: unknown) {
          return failedOutcome(toFailure(e, 'execute'));
        }
      },
      release: () => void giveBack(),
    };
  }

  /** A stage run in this process gives its room (the jobs count, its grant) back as its kind's
   * work ends: the next stage's command starts while this one's outputs are stored. */
  private runInline(job: StageJob, grant: Grant, signal: AbortSignal, onLog: (l: string) => void, onProgress: (p: StageProgress) => void, onExecuted: () => void): Promise<RunRecord> {
    return executeInvocation(job.inv, { registry: this.o.registry, processCache: this.processCache, signal, onLog, onProgress, onExecuted, executor: 'local', gpus: grant.gpus, cpus: grant.cpus });
  }
}
