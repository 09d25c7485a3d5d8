// One long-lived worker process (worker-main.ts): it runs the invocations of one affinity (a model
// instance) one after another and keeps what they load (the model) in its process cache. It holds
// its grant of the pools for its whole life; the WorkerPool decides when to start and stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Grant, Invocation } from '../executor.js';
import { isFailure, StageError } from '../failure.js';
import type { StageProgress } from '../kind.js';
import type { RunRecord } from '../store/run-record.js';
import { withHugePageMalloc } from '../../util/malloc-tunables.js';

const WORKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'worker-main.js');

/**
 * A worker's environment and Node flags: its affinity and grant, malloc on huge pages
 * (malloc-tunables.ts), and a larger young generation — loading a tokenizer (50k-entry maps from a
 * 1.5 MB JSON) otherwise costs ~0.1 CPU s of scavenges at the default 16 MB semi-space. A size or
 * tunable the user chose (command line, NODE_OPTIONS, GLIBC_TUNABLES) is kept.
 */
export function workerProcessOptions(baseEnv: NodeJS.ProcessEnv, baseArgv: readonly string[], affinity: string, grant: Pick<Grant, 'cpus' | 'gpus'>): { env: NodeJS.ProcessEnv; execArgv: string[] } {
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    PIPELINE_WORKER_AFFINITY: affinity,
    PIPELINE_CPUS: String(Math.max(1, grant.cpus)),
    GLIBC_TUNABLES: withHugePageMalloc(baseEnv['GLIBC_TUNABLES']),
  };
  if (grant.gpus.length) env['CUDA_VISIBLE_DEVICES'] = grant.gpus.join(',');
  const chosen = [...baseArgv, ...(baseEnv['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => a.startsWith('--max-semi-space-size'));
  return { env, execArgv: [...baseArgv, ...(chosen ? [] : ['--max-semi-space-size=32'])] };
}

export class Worker {
  busy = false;
  lastUsed = Date.now();
  private readonly proc: ChildProcess;
  private readonly stderr: string[] = [];
  private readonly ready: Promise<void>;

  /** Fork the process; `died` is told when it exits during a stage (killed at a time limit, crashed). */
  constructor(
    readonly affinity: string,
    readonly grant: Grant,
    private readonly died: (w: Worker) => void,
  ) {
    const { env, execArgv } = workerProcessOptions(process.env, process.execArgv, affinity, grant);
    const proc = fork(WORKER_MAIN, [], { env, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr.push(...d.toString().split('\n').filter(Boolean));
      if (this.stderr.length > 40) this.stderr.splice(0, this.stderr.length - 40);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string }): void => {
        if (m.type === 'ready') {
          proc.off('message', onMsg);
          resolve();
        }
      };
      proc.on('message', onMsg);
      proc.once('exit', (code) => reject(new StageError({ reason: 'execute', cause: 'worker-crashed', message: `worker for ${affinity} exited during start (code ${code}): ${this.stderr.slice(-5).join('\n')}` })));
    });
    this.ready.catch(() => undefined);
  }

  /** Run one invocation; rejects with a StageError (its own Failure, a crash, a cancellation).
   * `onLoads` hears the model loads the stage reports (1 when it loaded the model, 0 when reused). */
  async run(inv: Invocation, signal: AbortSignal, onLog: (l: string) => void, onProgress: (p: StageProgress) => void, onLoads: (n: number) => void): Promise<RunRecord> {
    const w = this.proc;
    this.busy = true;
    try {
      await this.ready;
      return await new Promise<RunRecord>((resolve, reject) => {
        const onMsg = (m: { type: string; line?: string; progress?: StageProgress; record?: RunRecord; failure?: unknown }): void => {
          if (m.type === 'log') onLog(m.line ?? '');
          else if (m.type === 'progress') {
            if (m.progress) onProgress(m.progress);
          }
          else if (m.type === 'done') {
            const n = m.record?.info['model_loads'];
            if (typeof n === 'number' && n > 0) onLoads(n);
            finish(() => resolve(m.record!));
          } else if (m.type === 'failed') finish(() => reject(new StageError(isFailure(m.failure) ? m.failure : { reason: 'execute', cause: 'stage-error', message: 'the worker reported a failure it could not describe' })));
        };
        const onExit = (code: number | null, sig: string | null): void => {
          this.died(this);
          finish(() => reject(new StageError(signal.aborted
            ? { reason: 'cancelled', message: 'interrupted' }
            : { reason: 'execute', cause: 'worker-crashed', message: `the worker process for ${this.affinity} died (${sig ?? `exit code ${code}`})${this.stderr.length ? `:\n${this.stderr.slice(-8).join('\n')}` : ''}` })));
        };
        const onAbort = (): void => {
          w.kill('SIGTERM');
          setTimeout(() => w.kill('SIGKILL'), 2000).unref();
        };
        const finish = (f: () => void): void => {
          w.off('message', onMsg);
          w.off('exit', onExit);
          signal.removeEventListener('abort', onAbort);
          f();
        };
        w.on('message', onMsg);
        w.once('exit', onExit);
        signal.addEventListener('abort', onAbort, { once: true });
        w.send({ type: 'exec', inv, gpus: this.grant.gpus, cpus: this.grant.cpus });
        // Aborted while the worker was starting (a time limit shorter than its start): no event comes.
        if (signal.aborted) onAbort();
      });
    } finally {
      this.busy = false;
      this.lastUsed = Date.now();
    }
  }

  stop(): void {
    // A worker that died while idle has no channel left: disconnect() would throw ERR_IPC_DISCONNECTED.
    if (this.proc.connected) this.proc.disconnect();
    this.proc.kill('SIGTERM');
  }
}
