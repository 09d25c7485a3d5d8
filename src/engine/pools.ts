// Resource pools (cpu units, gpu device ids, memory bytes): a multi-unit semaphore the scheduler
// tries without blocking. It never oversubscribes and hands out concrete GPU ids.
import type { Grant } from './executor.js';
import type { ResourceRequest } from './kind.js';
import type { Pools } from './spec.js';

export class ResourcePools {
  private freeCpu: number;
  private freeGpus: string[];
  private freeMem: number;
  readonly peak = { cpu: 0, gpu: 0, memory: 0 };

  constructor(readonly total: Pools) {
    this.freeCpu = total.cpu;
    this.freeGpus = [...total.gpu];
    this.freeMem = total.memory;
  }

  /** Why a request can never be met, or undefined when it fits the pools' totals. */
  impossible(req: ResourceRequest): string | undefined {
    if ((req.cpu ?? 0) > this.total.cpu) return `needs ${req.cpu} cpus but the cpu pool has ${this.total.cpu} (raise it with --cpus or pools.cpu)`;
    if ((req.gpu ?? 0) > this.total.gpu.length) return `needs ${req.gpu} GPUs but the gpu pool has ${this.total.gpu.length}${this.total.gpu.length ? ` (${this.total.gpu.join(',')})` : ''} (declare pools.gpu or pass --gpus)`;
    if ((req.memory ?? 0) > this.total.memory) return `needs ${req.memory} bytes of memory but the memory pool has ${this.total.memory} (raise pools.memory or --memory)`;
    return undefined;
  }

  tryAcquire(req: ResourceRequest): Grant | undefined {
    const cpu = req.cpu ?? 0;
    const gpu = req.gpu ?? 0;
    const mem = req.memory ?? 0;
    if (cpu > this.freeCpu || gpu > this.freeGpus.length || mem > this.freeMem) return undefined;
    this.freeCpu -= cpu;
    this.freeMem -= mem;
    const gpus = this.freeGpus.splice(0, gpu);
    this.peak.cpu = Math.max(this.peak.cpu, this.total.cpu - this.freeCpu);
    this.peak.gpu = Math.max(this.peak.gpu, this.total.gpu.length - this.freeGpus.length);
    this.peak.memory = Math.max(this.peak.memory, this.total.memory - this.freeMem);
    return { cpus: cpu, gpus, memory: mem };
  }

  release(g: Grant): void {
    this.freeCpu += g.cpus;
    this.freeMem += g.memory;
    this.freeGpus.push(...g.gpus);
    this.freeGpus.sort();
  }
}

/**
 * The sweep window (retain.ts): a stage whose output a retain policy releases takes a slot of its
 * model's window before it starts and gives it back when that output is released, so a sweep holds
 * at most `size` checkpoints (and, apart, converted models) of a model at once: revision k+1 is
 * fetched while k is scored, never all N together.
 */
export class SweepWindow {
  private used = new Map<string, number>();
  readonly peak = new Map<string, number>();

  tryTake(slot: string, size: number): boolean {
    const n = this.used.get(slot) ?? 0;
    if (n >= size) return false;
    this.used.set(slot, n + 1);
    this.peak.set(slot, Math.max(this.peak.get(slot) ?? 0, n + 1));
    return true;
  }

  give(slot: string): void {
    this.used.set(slot, Math.max(0, (this.used.get(slot) ?? 0) - 1));
  }
}
