// The local executor: light kinds run in the engine process; worker kinds run in long-lived worker
// processes, one per affinity (a model instance), so each model is loaded once per run. It is an
// Executor like the Slurm one; the scheduler places worker kinds (spawn/stop/idle) because the
// workers hold pool grants, and then calls execute() for every stage alike.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executeInvocation } from '../exec-stage.js';
import { failedOutcome, type ExecOutcome, type Executor, type Grant, type Invocation } from '../executor.js';
import { isFailure, StageError, toFailure } from '../failure.js';
import { Store } from '../store/store.js';
import type { KindRegistry } from '../registry.js';
import type { RunRecord } from '../store/run-record.js';
import type { StageProgress } from '../kind.js';

const WORKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'worker-main.js');

interface WorkerHandle {
  affinity: string;
  proc: ChildProcess;
  grant: Grant;
  busy: boolean;
  lastUsed: number;
  stderr: string[];
  ready: Promise<void>;
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  private processCache = new Map<string, unknown>();
  private workers = new Map<string, WorkerHandle>();
  private spawns = new Map<string, number>();
  /** Grants of workers that died while running a stage (killed at a time limit, crashed). */
  private orphans: Grant[] = [];
  /** Models loaded per affinity: what the stages say they loaded (a worker start is not a load). */
  private loads = new Map<string, number>();

  constructor(private readonly registry: KindRegistry) {}

  /** Run in this stage's worker when it has one (the scheduler spawned it), else in this process. */
  async execute(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (line: string) => void, onProgress?: (p: StageProgress) => void): Promise<ExecOutcome> {
    try {
      const record = inv.affinity && this.workers.has(inv.affinity) ? await this.runInWorker(inv.affinity, inv, signal, onLog, onProgress) : await this.runInline(inv, grant, signal, onLog, onProgress);
      return { ok: true, runRecordPath: new Store(inv.storeDir).runPath(inv.key), record };
    } catch (e: unknown) {
      return failedOutcome(toFailure(e, 'execute'));
    }
  }

  private async runInline(inv: Invocation, grant: Grant, signal: AbortSignal, onLog: (l: string) => void, onProgress?: (p: StageProgress) => void): Promise<RunRecord> {
    return executeInvocation(inv, { registry: this.registry, processCache: this.processCache, signal, onLog, ...(onProgress ? { onProgress } : {}), executor: 'local', gpus: grant.gpus, cpus: grant.cpus });
  }

  worker(affinity: string): { busy: boolean } | undefined {
    return this.workers.get(affinity);
  }

  liveWorkers(): number {
    return this.workers.size;
  }

  /** Idle workers, least recently used first. */
  idle(): string[] {
    return [...this.workers.values()].filter((w) => !w.busy).sort((a, b) => a.lastUsed - b.lastUsed).map((w) => w.affinity);
  }

  /** Start a worker that holds `grant` for its whole life (its model occupies those devices). */
  spawn(affinity: string, grant: Grant): void {
    const env: NodeJS.ProcessEnv = { ...process.env, PIPELINE_WORKER_AFFINITY: affinity, PIPELINE_CPUS: String(Math.max(1, grant.cpus)) };
    if (grant.gpus.length) env['CUDA_VISIBLE_DEVICES'] = grant.gpus.join(',');
    const proc = fork(WORKER_MAIN, [], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    const stderr: string[] = [];
    proc.stderr?.on('data', (d: Buffer) => {
      stderr.push(...d.toString().split('\n').filter(Boolean));
      if (stderr.length > 40) stderr.splice(0, stderr.length - 40);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string }): void => {
        if (m.type === 'ready') {
          proc.off('message', onMsg);
          resolve();
        }
      };
      proc.on('message', onMsg);
      proc.once('exit', (code) => reject(new StageError({ reason: 'execute', cause: 'worker-crashed', message: `worker for ${affinity} exited during start (code ${code}): ${stderr.slice(-5).join('\n')}` })));
    });
    ready.catch(() => undefined);
    this.workers.set(affinity, { affinity, proc, grant, busy: false, lastUsed: Date.now(), stderr, ready });
  }

  private async runInWorker(affinity: string, inv: Invocation, signal: AbortSignal, onLog: (l: string) => void, onProgress?: (p: StageProgress) => void): Promise<RunRecord> {
    const w = this.workers.get(affinity);
    if (!w) throw new Error(`no worker for ${affinity}`);
    w.busy = true;
    try {
      await w.ready;
      return await new Promise<RunRecord>((resolve, reject) => {
        const onMsg = (m: { type: string; line?: string; progress?: StageProgress; record?: RunRecord; failure?: unknown }): void => {
          if (m.type === 'log') onLog(m.line ?? '');
          else if (m.type === 'progress') {
            if (m.progress) onProgress?.(m.progress);
          }
          else if (m.type === 'done') {
            // score records model_loads: 1 when it loaded the model, 0 when it reused the worker's.
            const n = m.record?.info['model_loads'];
            if (typeof n === 'number' && n > 0) this.loads.set(affinity, (this.loads.get(affinity) ?? 0) + n);
            finish(() => resolve(m.record!));
          }
          else if (m.type === 'failed') finish(() => reject(new StageError(isFailure(m.failure) ? m.failure : { reason: 'execute', cause: 'stage-error', message: 'the worker reported a failure it could not describe' })));
        };
        const onExit = (code: number | null, sig: string | null): void => {
          if (this.workers.get(affinity) === w) {
            this.workers.delete(affinity);
            this.orphans.push(w.grant);
          }
          finish(() => reject(new StageError(signal.aborted
            ? { reason: 'cancelled', message: 'interrupted' }
            : { reason: 'execute', cause: 'worker-crashed', message: `the worker process for ${affinity} died (${sig ?? `exit code ${code}`})${w.stderr.length ? `:\n${w.stderr.slice(-8).join('\n')}` : ''}` })));
        };
        const onAbort = (): void => {
          w.proc.kill('SIGTERM');
          setTimeout(() => w.proc.kill('SIGKILL'), 2000).unref();
        };
        const finish = (f: () => void): void => {
          w.proc.off('message', onMsg);
          w.proc.off('exit', onExit);
          signal.removeEventListener('abort', onAbort);
          f();
        };
        w.proc.on('message', onMsg);
        w.proc.once('exit', onExit);
        signal.addEventListener('abort', onAbort, { once: true });
        w.proc.send({ type: 'exec', inv, gpus: w.grant.gpus, cpus: w.grant.cpus });
        // Aborted while the worker was starting (a time limit shorter than its start): no event comes.
        if (signal.aborted) onAbort();
      });
    } finally {
      w.busy = false;
      w.lastUsed = Date.now();
    }
  }

  /** The grants of workers that died since the last call, for the scheduler to release. */
  reclaim(): Grant[] {
    return this.orphans.splice(0);
  }

  /** Stop a worker; returns the grant it held so the scheduler can release it. */
  stop(affinity: string): Grant | undefined {
    const w = this.workers.get(affinity);
    if (!w) return undefined;
    this.workers.delete(affinity);
    w.proc.disconnect?.();
    w.proc.kill('SIGTERM');
    return w.grant;
  }

  /** Model loads per affinity in this run. */
  stats(): Record<string, number> {
    return Object.fromEntries(this.loads);
  }

  async close(): Promise<void> {
    for (const a of [...this.workers.keys()]) this.stop(a);
  }
}
