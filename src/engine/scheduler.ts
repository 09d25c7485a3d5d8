// The scheduler: a stage becomes ready when every stage it needs is done; its key is computed then
// (so an upstream that re-ran but produced the same bytes leaves it fresh); stale stages queue for
// resources and, for model work, for the worker that already holds their model.
import { join } from 'node:path';
import type { Engine, Planned, RunOptions } from './engine.js';
import type { EngineEvent, RunSummary } from './events.js';
import type { Executor, Grant, Invocation } from './executor.js';
import type { Instance } from './expand.js';
import { keyOf } from './fingerprint.js';
import { chosen } from './graph.js';
import type { ResourceRequest } from './kind.js';
import type { Materializer } from './materialize.js';
import type { ResourcePools } from './pools.js';
import type { RunRecord } from './store/run-record.js';
import { writeFileAtomic } from './store/fs-util.js';
import { ExecFailure, type LocalExecutor } from './executors/local.js';

type Status = 'waiting' | 'planning' | 'queued' | 'running' | 'done' | 'failed' | 'skipped';

interface Ready {
  p: Planned;
  key: string;
  inv: Invocation;
  reasons: string[];
  request: ResourceRequest;
  release: () => Promise<void>;
  remote: boolean;
}

export interface SchedulerOptions {
  pools: ResourcePools;
  jobs: number;
  maxWorkers: number;
  executors: { local: LocalExecutor; remote?: Executor };
  emit(e: EngineEvent): void;
}

export class Scheduler {
  private status = new Map<string, Status>();
  private records = new Map<string, RunRecord>();
  private queue: Ready[] = [];
  private running = 0;
  private planning = 0;
  private stopping = false;
  private peakStages = 0;
  private summary: RunSummary;
  private mat: Materializer;
  private resolveDone!: () => void;
  private ac = new AbortController();

  constructor(
    private readonly engine: Engine,
    private readonly o: SchedulerOptions,
  ) {
    this.summary = { selected: 0, ran: 0, cached: 0, failed: 0, skipped: 0, interrupted: false, durationMs: 0, modelLoads: {}, restored: [], failures: [], results: { projectDir: engine.spec.projectDir, folders: [] }, peak: { cpu: 0, gpu: 0, memory: 0, stages: 0 } };
    this.mat = engine.materializer();
  }

  private selected: Instance[] = [];
  private forced = new Set<string>();
  /** Needs of each waiting stage not done yet; a stage is ready at 0. */
  private pendingNeeds = new Map<string, number>();
  private ready: Instance[] = [];
  private remainingByAffinity = new Map<string, number>();
  private opts: RunOptions = {};

  async run(selected: Instance[], opts: RunOptions): Promise<RunSummary> {
    const t0 = Date.now();
    this.selected = selected;
    this.opts = opts;
    this.summary.selected = selected.length;
    // --force re-runs what the selection names, not the upstream stages it pulls in.
    this.forced = opts.force ? chosen(this.engine.graph, opts.targets ?? [], opts.only ?? []) : new Set();
    for (const i of selected) this.status.set(i.id, 'waiting');
    // Kinds and affinities up front: the scheduler needs to know which model every stage will want.
    for (const p of await Promise.all(selected.map((i) => this.engine.prepare(i)))) {
      this.plannedCache.set(p.instance.id, p);
      if (p.affinity) this.remainingByAffinity.set(p.affinity, (this.remainingByAffinity.get(p.affinity) ?? 0) + 1);
    }
    const inSelection = new Set(selected.map((i) => i.id));
    for (const i of selected) {
      const n = i.needs.filter((x) => inSelection.has(x)).length;
      this.pendingNeeds.set(i.id, n);
      if (n === 0) this.ready.push(i);
    }
    this.o.emit({ type: 'plan', selected: selected.length, dryRun: !!opts.dryRun });
    const onAbort = (): void => {
      this.summary.interrupted = true;
      this.stopping = true;
      this.ac.abort();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    try {
      if (opts.dryRun) await this.dryRun();
      else {
        await new Promise<void>((resolve) => {
          this.resolveDone = resolve;
          this.pump();
        });
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    this.summary.durationMs = Date.now() - t0;
    this.summary.modelLoads = this.o.executors.local.stats();
    this.summary.peak = { ...this.o.pools.peak, stages: this.peakStages };
    const folders = new Set<string>();
    for (const r of this.records.values()) for (const o of Object.values(r.outputs)) if (o.materialize?.includes('/')) folders.add(o.materialize.split('/')[0]!);
    this.summary.results.folders = [...folders].sort();
    for (const s of this.status.values()) if (s === 'skipped' || (this.stopping && (s === 'waiting' || s === 'queued'))) this.summary.skipped++;
    if (!opts.dryRun) await this.writeHistory();
    await this.mat.flush();
    this.o.emit({ type: 'run-done', summary: this.summary });
    return this.summary;
  }

  private async dryRun(): Promise<void> {
    const willRun = new Set<string>();
    for (const inst of this.selected) {
      const upstream = inst.needs.find((n) => willRun.has(n));
      if (upstream) {
        willRun.add(inst.id);
        this.summary.ran++;
        this.o.emit({ type: 'stage-would-run', id: inst.id, reasons: [`upstream ${upstream} will run`] });
        continue;
      }
      const p = await this.engine.prepare(inst);
      let fp;
      try {
        fp = await this.engine.fingerprint(p, this.records);
      } catch (e: unknown) {
        // A plan that cannot be made (a model missing offline) is this stage's problem, not the run's.
        willRun.add(inst.id);
        this.summary.failed++;
        this.o.emit({ type: 'stage-failed', id: inst.id, message: (e as Error).message, reason: 'plan-failed' });
        continue;
      }
      const key = keyOf(fp);
      const forced = this.forced.has(inst.id);
      const rec = forced ? undefined : await this.engine.freshRecord(key);
      if (rec) {
        this.records.set(inst.id, rec);
        this.summary.cached++;
        this.summary.restored.push(...(await this.mat.pendingRestores([rec]))); // a dry run: what the run would restore
        this.o.emit({ type: 'stage-cached', id: inst.id });
      } else {
        willRun.add(inst.id);
        this.summary.ran++;
        this.o.emit({ type: 'stage-would-run', id: inst.id, reasons: forced ? ['forced (--force)'] : await this.engine.whyStale(inst.id, key, fp) });
      }
    }
  }

  private remaining(affinity: string): number {
    return this.remainingByAffinity.get(affinity) ?? 0;
  }

  private plannedCache = new Map<string, Planned>();

  /** Record a stage's end state; release its dependents (done) or skip them (failed, skipped). */
  private settle(id: string, state: 'done' | 'failed' | 'skipped', because?: string): void {
    const prev = this.status.get(id);
    if (prev === 'done' || prev === 'failed' || prev === 'skipped') return;
    this.status.set(id, state);
    const aff = this.plannedCache.get(id)?.affinity;
    if (aff) this.remainingByAffinity.set(aff, (this.remainingByAffinity.get(aff) ?? 1) - 1);
    if (because) this.o.emit({ type: 'stage-skipped', id, because });
    for (const d of this.engine.graph.dependents.get(id) ?? []) {
      if (this.status.get(d) !== 'waiting') continue;
      if (state === 'done') {
        const left = (this.pendingNeeds.get(d) ?? 1) - 1;
        this.pendingNeeds.set(d, left);
        if (left === 0) this.ready.push(this.engine.graph.byId.get(d)!);
      } else {
        this.settle(d, 'skipped', `upstream ${id} ${state === 'failed' ? 'failed' : 'did not run'}`);
      }
    }
  }

  private pump(): void {
    while (!this.stopping && this.ready.length > 0) {
      const inst = this.ready.shift()!;
      if (this.status.get(inst.id) !== 'waiting') continue;
      this.status.set(inst.id, 'planning');
      this.planning++;
      this.planOne(inst).finally(() => {
        this.planning--;
        this.pump();
      });
    }
    this.dispatch();
    this.checkDone();
  }

  private checkDone(): void {
    if (this.planning > 0 || this.running > 0) return;
    if (this.queue.length > 0 && !this.stopping) return;
    for (const r of this.queue.splice(0)) void r.release();
    const waiting = this.selected.some((i) => this.status.get(i.id) === 'waiting');
    if (waiting && !this.stopping) {
      // Something waits on a stage outside the selection that never completed: mark and stop.
      for (const i of this.selected) if (this.status.get(i.id) === 'waiting') this.settle(i.id, 'skipped');
    }
    this.resolveDone?.();
  }

  private async planOne(inst: Instance): Promise<void> {
    const p = await this.engine.prepare(inst);
    try {
      const fp = await this.engine.fingerprint(p, this.records);
      const key = keyOf(fp);
      const forced = this.forced.has(inst.id);
      if (!forced) {
        const rec = await this.engine.freshRecord(key);
        if (rec) return await this.finishCached(inst, rec);
      }
      const reasons = forced ? ['forced (--force)'] : await this.engine.whyStale(inst.id, key, fp);
      const release = await this.engine.store.lock(key, this.ac.signal);
      if (!forced) {
        // Another `pipeline run` may have computed it while we waited for the lock.
        const rec = await this.engine.freshRecord(key);
        if (rec) {
          await release();
          return await this.finishCached(inst, rec);
        }
      }
      const request: ResourceRequest = { cpu: 1, ...(p.kind.resources?.(p.ctx) ?? {}), ...(inst.resources ?? {}) };
      const impossible = this.o.pools.impossible(request);
      const remote = !!this.o.executors.remote && (p.kind.isolation === 'worker' || p.kind.name === 'run');
      if (impossible && !remote) {
        await release();
        return this.fail(inst, `stage ${inst.id} ${impossible}`, 'resources');
      }
      const inputs = await this.engine.inputsFor(inst, this.records);
      const inv = this.engine.invocation(p, key, fp, inputs, request);
      this.queue.push({ p, key, inv, reasons, request, release, remote });
      this.status.set(inst.id, 'queued');
    } catch (e: unknown) {
      this.fail(inst, (e as Error).message, 'plan-failed');
    }
  }

  private async finishCached(inst: Instance, rec: RunRecord): Promise<void> {
    this.summary.restored.push(...(await this.mat.ensure(rec)));
    this.records.set(inst.id, rec);
    this.summary.cached++;
    this.o.emit({ type: 'stage-cached', id: inst.id });
    this.settle(inst.id, 'done');
  }

  private fail(inst: Instance, message: string, reason: string): void {
    this.summary.failed++;
    this.summary.failures.push({ id: inst.id, message });
    this.o.emit({ type: 'stage-failed', id: inst.id, message, reason });
    if (!this.opts.keepGoing) this.stopping = true;
    this.settle(inst.id, 'failed');
  }

  /** Start whatever the pools, the jobs limit and model affinity allow, preferring warm workers. */
  private dispatch(): void {
    if (this.stopping) return;
    const local = this.o.executors.local;
    if (this.running >= this.o.jobs && !this.o.executors.remote) return;
    const warm = (r: Ready): number => (r.p.affinity && local.worker(r.p.affinity) && !local.worker(r.p.affinity)!.busy ? 0 : 1);
    // Prefer stages whose model is already loaded in an idle worker; sorting only when there is one.
    const order = local.idle().length > 0 ? [...this.queue].sort((a, b) => warm(a) - warm(b)) : [...this.queue];
    for (const r of order) {
      if (r.remote) {
        this.start(r, { cpus: r.request.cpu ?? 1, gpus: [], memory: r.request.memory ?? 0 }, 'remote');
        continue;
      }
      if (this.running >= this.o.jobs) break;
      if (r.p.kind.isolation === 'worker' && r.p.affinity) {
        const w = local.worker(r.p.affinity);
        if (w) {
          if (!w.busy) this.start(r, undefined, 'worker');
          continue; // busy: wait for the worker that already holds this model
        }
        if (local.liveWorkers() >= this.o.maxWorkers && !this.stopIdleWorker()) continue;
        const grant = this.acquire(r.request);
        if (!grant) continue;
        local.spawn(r.p.affinity, grant);
        this.start(r, undefined, 'worker');
      } else {
        const grant = this.acquire(r.request);
        if (grant) this.start(r, grant, 'inline');
      }
    }
  }

  /** Try the pools; when they are full, stop idle workers (least recently used first) to make room. */
  private acquire(req: ResourceRequest): Grant | undefined {
    let g = this.o.pools.tryAcquire(req);
    while (!g && this.stopIdleWorker()) g = this.o.pools.tryAcquire(req);
    return g;
  }

  private stopIdleWorker(): boolean {
    const idle = this.o.executors.local.idle();
    const victim = idle.find((a) => this.remaining(a) === 0) ?? idle[0];
    if (!victim) return false;
    const g = this.o.executors.local.stop(victim);
    if (g) this.o.pools.release(g);
    return true;
  }

  private start(r: Ready, grant: Grant | undefined, where: 'inline' | 'worker' | 'remote'): void {
    this.queue.splice(this.queue.indexOf(r), 1);
    const id = r.p.instance.id;
    this.status.set(id, 'running');
    this.running++;
    this.peakStages = Math.max(this.peakStages, this.running);
    const gpus = grant?.gpus ?? [];
    this.o.emit({ type: 'stage-start', id, kind: r.p.kind.name, reasons: r.reasons, gpus });
    const onLog = (line: string): void => this.o.emit({ type: 'stage-log', id, line });
    const t0 = Date.now();
    const exec = async (): Promise<RunRecord> => {
      if (where === 'inline') return this.o.executors.local.runInline(r.inv, grant!, this.ac.signal, onLog);
      if (where === 'worker') return this.o.executors.local.runInWorker(r.p.affinity!, r.inv, this.ac.signal, onLog);
      const out = await this.o.executors.remote!.execute(r.inv, grant!, this.ac.signal, onLog);
      // The executor's message already names the job and ends with its log tail.
      if (!out.ok) throw new ExecFailure(out.message, out.reason);
      const rec = await this.engine.store.readRun(r.key);
      if (!rec) throw new ExecFailure(`the job finished but wrote no run record for ${id}`, 'missing-output');
      return rec;
    };
    exec()
      .then(async (rec) => {
        this.summary.restored.push(...(await this.mat.ensure(rec)));
        this.records.set(id, rec);
        this.summary.ran++;
        this.o.emit({ type: 'stage-done', id, kind: r.p.kind.name, durationMs: Date.now() - t0, key: r.key });
        // What a stage warned about (zero-token continuations, items over the context, …) is said
        // now, not only kept in its run record.
        const warnings = rec.info['warnings'];
        if (Array.isArray(warnings)) for (const w of warnings) this.o.emit({ type: 'warning', id, message: String(w) });
        this.settle(id, 'done');
      })
      .catch((e: unknown) => {
        if (this.ac.signal.aborted) this.settle(id, 'skipped', 'interrupted');
        else this.fail(r.p.instance, e instanceof Error ? e.message : String(e), (e as ExecFailure).reason ?? 'stage-error');
      })
      .finally(async () => {
        await r.release();
        if (grant && where === 'inline') this.o.pools.release(grant);
        if (where === 'worker' && r.p.affinity && this.remaining(r.p.affinity) === 0) {
          const g = this.o.executors.local.stop(r.p.affinity);
          if (g) this.o.pools.release(g);
        }
        this.running--;
        this.pump();
      });
  }

  private async writeHistory(): Promise<void> {
    const keys = [...this.records.values()].map((r) => r.key);
    const at = new Date().toISOString();
    await writeFileAtomic(join(this.engine.store.dir('history'), `${at.replace(/[:.]/g, '-')}-${process.pid}.json`), JSON.stringify({ at, summary: this.summary, keys }));
  }
}
