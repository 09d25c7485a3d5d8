// The scheduler: a stage becomes ready when every stage it needs is done; its verdict is taken
// then from the planner (so an upstream that re-ran but produced the same bytes leaves it fresh);
// stale stages queue for resources and, for model work, for the worker that already holds their
// model. It knows the planner, the store's locks and the executors — not the engine.
import { emptySummary, type EngineEvent, type RunSummary } from './events.js';
import { outcomeFailure, type Executor, type Invocation, type Placement, type StageJob } from './executor.js';
import type { Instance } from './expand.js';
import { isFailure, toFailure, type Failure } from './failure.js';
import type { Graph } from './graph.js';
import type { ResourceRequest, StageProgress } from './kind.js';
import type { Materializer } from './materialize.js';
import type { Planned, Planner, StaleReason, Verdict } from './planner.js';
import type { RunRecord } from './store/run-record.js';
import type { Store } from './store/store.js';
import { showDuration, type Duration } from './spec-types.js';
import { Retainer } from './release.js';
import { slotOf, type Settled } from './retain.js';

/** A stage's wall-clock limit and where it comes from (for the failure message). */
interface Limit {
  ms: number;
  perItemMs?: number;
  from: string;
}

type Status = 'waiting' | 'planning' | 'queued' | 'running' | 'done' | 'failed' | 'blocked' | 'skipped';

interface Ready {
  p: Planned;
  key: string;
  inv: Invocation;
  reasons: StaleReason[];
  job: StageJob;
  /** The executor that accepted it. */
  ex: Executor;
  release: () => Promise<void>;
  /** Takes a slot of its model's sweep window (retain.ts). */
  windowed: boolean;
}

export interface SchedulerOptions {
  planner: Planner;
  graph: Graph;
  store: Store;
  projectDir: string;
  /** Where stages run: each stage goes to the first that accepts it (a cluster before this machine). */
  executors: Executor[];
  /** Restores and writes materialised outputs (the same one the planner checks edits with). */
  materializer: Materializer;
  /** Stages --force re-runs (what the selection names, not the upstream stages it pulls in). */
  forced: ReadonlySet<string>;
  /** `--stage-timeout`: every stage's wall-clock limit, before pipeline.yaml's. */
  stageTimeout?: Duration;
  /** pipeline.yaml's `timeouts:` per kind. */
  kindTimeouts?: Record<string, Duration>;
  emit(e: EngineEvent): void;
}

export interface ScheduleOptions {
  dryRun?: boolean;
  keepGoing?: boolean;
  signal?: AbortSignal;
}

export class Scheduler {
  private status = new Map<string, Status>();
  /** Verdicts of settled stages: fresh (with the record, also for stages that ran) or blocked. */
  private known = new Map<string, Verdict>();
  private queue: Ready[] = [];
  private running = 0;
  private planning = 0;
  private stopping = false;
  private peakStages = 0;
  /** Stages holding their executor's room: running, not yet at the store's bookkeeping (peakStages). */
  private working = 0;
  private summary: RunSummary;
  private mat: Materializer;
  private resolveDone!: () => void;
  private ac = new AbortController();

  /** The retain policy at work: sweep windows and releases (release.ts). */
  private retain: Retainer;
  /** Stages run again because a stale stage needs outputs their retain policy released → that stage. */
  private revived = new Map<string, string>();

  constructor(private readonly o: SchedulerOptions) {
    this.summary = emptySummary(o.projectDir);
    this.mat = o.materializer;
    this.retain = new Retainer(o.graph, o.store, (e) => o.emit(e),
      () => [...this.known.values()].flatMap((v) => (v.state === 'fresh' && !v.released ? [v.record] : [])),
      (id) => {
        const v = this.known.get(id);
        if (v?.state === 'fresh' && this.status.get(id) === 'done') this.known.set(id, { ...v, released: true });
        this.pump();
      });
  }

  private selected: Instance[] = [];
  /** Needs of each waiting stage not done yet; a stage is ready at 0. */
  private pendingNeeds = new Map<string, number>();
  private ready: Instance[] = [];
  private remainingByAffinity = new Map<string, number>();
  private opts: ScheduleOptions = {};

  async run(selected: Instance[], opts: ScheduleOptions): Promise<RunSummary> {
    const t0 = Date.now();
    this.selected = selected;
    this.opts = opts;
    this.summary.selected = selected.length;
    this.summary.keepGoing = !!opts.keepGoing;
    for (const i of selected) this.status.set(i.id, 'waiting');
    // Kinds and affinities up front: the scheduler needs to know which model every stage will want.
    for (const p of await Promise.all(selected.map((i) => this.o.planner.prepare(i)))) {
      this.plannedCache.set(p.instance.id, p);
      if (p.affinity) this.remainingByAffinity.set(p.affinity, (this.remainingByAffinity.get(p.affinity) ?? 0) + 1);
    }
    for (const [aff, n] of this.remainingByAffinity) for (const ex of this.o.executors) ex.demand?.(aff, n);
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
      await this.retain.quiet();
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    this.summary.durationMs = Date.now() - t0;
    // Stages finish in any order; what the summary names follows the pipeline's order.
    const order = new Map(selected.map((i, n) => [i.id, n]));
    this.summary.switched.sort((a, b) => (order.get(a.stage) ?? 0) - (order.get(b.stage) ?? 0));
    for (const ex of this.o.executors) {
      const st = ex.stats();
      if (st.modelLoads) Object.assign(this.summary.modelLoads, st.modelLoads);
      if (st.peak) this.summary.peak = { ...st.peak, stages: 0 };
    }
    this.summary.peak.stages = this.peakStages;
    const folders = new Set<string>();
    for (const v of this.known.values()) {
      if (v.state !== 'fresh') continue;
      for (const o of Object.values(v.record.outputs)) if (o.materialize?.includes('/')) folders.add(o.materialize.split('/')[0]!);
    }
    this.summary.results.folders = [...folders].sort();
    for (const s of this.status.values()) if (s === 'skipped' || (this.stopping && (s === 'waiting' || s === 'queued'))) this.summary.skipped++;
    if (!opts.dryRun) {
      // The history only helps gc keep what recent runs used: a full disk costs it, not the run.
      await this.writeHistory().catch((e: unknown) => this.o.store.warn(`the run's history was not saved: ${(e as Error).message}`));
    }
    await this.mat.flush();
    this.o.emit({ type: 'run-done', summary: this.summary });
    return this.summary;
  }

  /** The dry run is the planner's verdicts, told as events: the same verdicts `status` shows. */
  private async dryRun(): Promise<void> {
    const verdicts = await this.o.planner.verdicts(this.selected, { forced: this.o.forced, edits: true });
    // Outputs a retain policy released that a stage which would run needs: their stages would run again.
    for (const inst of [...this.selected].reverse()) {
      const v = verdicts.get(inst.id)!;
      if (v.state !== 'stale' && v.state !== 'waiting' && !this.revived.has(inst.id)) continue;
      for (const n of inst.needs) {
        const u = verdicts.get(n);
        if (u?.state === 'fresh' && u.released && !this.revived.has(n)) this.revived.set(n, inst.id);
      }
    }
    for (const inst of this.selected) {
      const v = verdicts.get(inst.id)!;
      const neededBy = this.revived.get(inst.id);
      if (neededBy !== undefined) {
        this.summary.ran++;
        this.o.emit({ type: 'stage-would-run', id: inst.id, reasons: [{ reason: 'released', neededBy }] });
        continue;
      }
      switch (v.state) {
        case 'fresh':
          this.summary.cached++;
          // A dry run: what the run would restore, write again or switch.
          if (v.edited?.length) this.summary.restored.push(...v.edited);
          if (v.missing?.length) this.summary.recreated.push(...v.missing);
          if (v.switched) this.summary.switched.push({ stage: inst.id, ...v.switched });
          this.o.emit(v.edited?.length ? { type: 'stage-cached', id: inst.id, edited: v.edited } : { type: 'stage-cached', id: inst.id });
          break;
        case 'stale':
          this.summary.ran++;
          this.o.emit({ type: 'stage-would-run', id: inst.id, reasons: v.reasons });
          break;
        case 'waiting':
          this.summary.ran++;
          this.o.emit({ type: 'stage-would-run', id: inst.id, reasons: [], waitingOn: v.on });
          break;
        case 'blocked':
          this.block(inst, v.failure, v.by);
          break;
        default: {
          const never: never = v;
          void never;
        }
      }
    }
  }

  private plannedCache = new Map<string, Planned>();

  /** Record a stage's end state; release its dependents (done), block them (blocked) or skip them. */
  private settle(id: string, state: 'done' | 'failed' | 'blocked' | 'skipped', because?: string): void {
    const prev = this.status.get(id);
    if (prev === 'done' || prev === 'failed' || prev === 'skipped' || prev === 'blocked') return;
    this.status.set(id, state);
    const aff = this.plannedCache.get(id)?.affinity;
    if (aff) {
      const left = (this.remainingByAffinity.get(aff) ?? 1) - 1;
      this.remainingByAffinity.set(aff, left);
      for (const ex of this.o.executors) ex.demand?.(aff, left);
    }
    if (because) this.o.emit({ type: 'stage-skipped', id, because });
    for (const d of this.o.graph.dependents.get(id) ?? []) {
      if (this.status.get(d) !== 'waiting') continue;
      if (state === 'done') {
        const left = (this.pendingNeeds.get(d) ?? 1) - 1;
        this.pendingNeeds.set(d, left);
        if (left === 0) this.ready.push(this.o.graph.byId.get(d)!);
      } else if (state === 'blocked') {
        // Downstream of a blocked stage is blocked by it, as status and --dry-run say.
        const v = this.known.get(id);
        if (v?.state === 'blocked') this.block(this.o.graph.byId.get(d)!, v.failure, v.by ?? id);
      } else {
        this.settle(d, 'skipped', `upstream ${id} ${state === 'failed' ? 'failed' : 'did not run'}`);
      }
    }
    if (state !== 'done') this.retain.giveBack(id);
    this.retain.settle(this.settledOf, (x) => {
      const v = this.known.get(x);
      return v?.state === 'fresh' ? v.record : undefined;
    });
  }

  /** A stage's end state for the retain policy; one outside this run never comes (it keeps its output). */
  private settledOf = (id: string): Settled | undefined => {
    const s = this.status.get(id);
    if (s === undefined) return 'skipped';
    return s === 'done' || s === 'failed' || s === 'skipped' || s === 'blocked' ? s : undefined;
  };

  /** A stale stage needs outputs a retain policy released (or being brought back for another):
   * it waits, and those stages run again first, saying why. */
  private waitForReleased(inst: Instance, back: string[], released: string[]): void {
    this.status.set(inst.id, 'waiting');
    this.pendingNeeds.set(inst.id, back.length + released.length);
    for (const n of released) {
      this.revived.set(n, inst.id);
      this.known.delete(n);
      this.status.set(n, 'waiting');
      this.summary.cached--;
      const aff = this.plannedCache.get(n)?.affinity;
      if (aff) {
        const left = (this.remainingByAffinity.get(aff) ?? 0) + 1;
        this.remainingByAffinity.set(aff, left);
        for (const ex of this.o.executors) ex.demand?.(aff, left);
      }
      // Its other dependents that wait count it again.
      for (const d of this.o.graph.dependents.get(n) ?? []) if (d !== inst.id && this.status.get(d) === 'waiting') this.pendingNeeds.set(d, (this.pendingNeeds.get(d) ?? 0) + 1);
      this.ready.push(this.o.graph.byId.get(n)!);
    }
  }

  /** Needs of a ready stage that are not done any more: brought back for another stage. */
  private comingBack(inst: Instance): string[] {
    return inst.needs.filter((n) => this.status.has(n) && this.status.get(n) !== 'done');
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
    this.unstall();
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
    try {
      const p = await this.o.planner.prepare(inst);
      const forced = this.o.forced.has(inst.id);
      let back = this.comingBack(inst);
      if (back.length) return this.waitForReleased(inst, back, []);
      const neededBy = this.revived.get(inst.id);
      if (neededBy !== undefined) await this.retain.quiet(inst.id);
      let v = await this.o.planner.verdict(inst, this.known, { forced: forced || neededBy !== undefined });
      if (neededBy !== undefined && !forced && v.state === 'stale') v = { ...v, reasons: [{ reason: 'released', neededBy }] };
      back = this.comingBack(inst);
      if (back.length) return this.waitForReleased(inst, back, []);
      if (v.state === 'stale') {
        const released = inst.needs.filter((n) => {
          const k = this.known.get(n);
          return k?.state === 'fresh' && k.released;
        });
        if (released.length) return this.waitForReleased(inst, [], released);
      }
      if (v.state === 'fresh') return await this.finishCached(inst, v);
      if (v.state === 'blocked') return this.block(inst, v.failure, v.by);
      if (v.state === 'waiting') throw new Error(`internal: ${inst.id} was started before ${v.on}`);
      const release = await this.o.store.lock(v.key, this.ac.signal);
      if (!forced) {
        // Another `pipeline run` may have computed it while we waited for the lock.
        const rec = await this.o.planner.freshRecord(v.key);
        if (rec) {
          await release();
          return await this.finishCached(inst, { state: 'fresh', key: v.key, record: rec });
        }
      }
      const request: ResourceRequest = { cpu: 1, ...(p.kind.resources?.(p.ctx) ?? {}), ...(inst.resources ?? {}) };
      const inputs = await this.o.planner.inputsFor(inst, this.known);
      const inv = this.o.planner.invocation(p, v, inputs, request);
      // Offloadable: the work is a process of its own — a worker kind's, or the stage's `run:` command.
      const job: StageJob = { inv, isolation: p.kind.isolation, offload: p.kind.isolation === 'worker' || !!inst.run };
      const ex = this.o.executors.find((e) => e.accepts(job));
      const impossible = ex ? ex.impossible(job) : 'has no executor that runs it';
      if (!ex || impossible) {
        await release();
        return this.fail(inst, { reason: 'resources', message: `stage ${inst.id} ${impossible}` });
      }
      this.queue.push({ p, key: v.key, inv, reasons: v.reasons, job, ex, release, windowed: slotOf(inst) !== undefined });
      this.status.set(inst.id, 'queued');
    } catch (e: unknown) {
      this.fail(inst, { reason: 'plan', message: e instanceof Error ? e.message : String(e) });
    }
  }

  private async finishCached(inst: Instance, v: Extract<Verdict, { state: 'fresh' }>): Promise<void> {
    // Nothing ran, but the working tree may change: every file written is counted and named.
    const done = await this.mat.ensure(v.record);
    this.summary.restored.push(...done.restored);
    this.summary.recreated.push(...done.recreated);
    if (done.switched.length) this.summary.switched.push({ stage: inst.id, paths: done.switched, reasons: await this.o.planner.switchReasons(done.from ?? (await this.o.store.lastKey(inst.id)), v.key) });
    this.known.set(inst.id, v);
    this.summary.cached++;
    if (!v.released) this.retain.stored(inst.id);
    this.o.emit({ type: 'stage-cached', id: inst.id });
    this.settle(inst.id, 'done');
  }

  /** A stage that cannot run (its plan failed, or an upstream's did): counted apart from failures. */
  private block(inst: Instance, failure: Failure, by?: string): void {
    if (this.known.get(inst.id)?.state === 'blocked') return;
    const v: Verdict = by ? { state: 'blocked', failure, by } : { state: 'blocked', failure };
    this.known.set(inst.id, v);
    this.summary.blocked++;
    this.summary.blockages.push(by ? { id: inst.id, kind: inst.kind, failure, by } : { id: inst.id, kind: inst.kind, failure });
    this.o.emit(by ? { type: 'stage-blocked', id: inst.id, kind: inst.kind, failure, by } : { type: 'stage-blocked', id: inst.id, kind: inst.kind, failure });
    // What a run was asked for cannot all be done: stop as after a failure, unless --keep-going.
    if (!by && !this.opts.keepGoing && !this.opts.dryRun) this.stopping = true;
    if (this.opts.dryRun) return;
    this.settle(inst.id, 'blocked');
  }

  private fail(inst: Instance, failure: Failure): void {
    // A full disk named here (with its file) is not said again by the store's later writes.
    if (/\b(ENOSPC|EDQUOT|EROFS)\b/.test(failure.message)) this.o.store.noteFull();
    this.summary.failed++;
    this.summary.failures.push({ id: inst.id, failure });
    this.o.emit({ type: 'stage-failed', id: inst.id, message: failure.message, failure });
    if (!this.opts.keepGoing) this.stopping = true;
    this.settle(inst.id, 'failed');
  }

  /** Start whatever the executors have room for, in the order they prefer (warm workers first). */
  private dispatch(): void {
    if (this.stopping || this.queue.length === 0) return;
    let order = [...this.queue];
    for (const ex of this.o.executors) order = ex.prefer?.(order) ?? order;
    const full = new Set<Executor>();
    for (const r of order) {
      if (full.has(r.ex)) continue;
      // A sweep's window: wait for an earlier revision's checkpoint (or converted model) to be released.
      if (r.windowed && !this.retain.take(r.p.instance)) continue;
      const placed = r.ex.place(r.job);
      if (placed === 'full' || placed === 'wait') {
        if (r.windowed) this.retain.giveBack(r.p.instance.id);
        if (placed === 'full') {
          full.add(r.ex);
          if (full.size === this.o.executors.length) break;
        }
      } else this.start(r, placed);
    }
  }

  /** Nothing runs, is planned or released, yet stages queue: only a sweep window can hold them (a
   * consumer outside what the window expects); let the first through rather than stall. */
  private unstall(): void {
    if (this.running > 0 || this.planning > 0 || this.ready.length > 0 || this.retain.busy || this.stopping) return;
    const r = this.queue.find((x) => x.windowed);
    if (r && this.retain.take(r.p.instance, true)) this.dispatch();
  }

  private start(r: Ready, placed: Placement): void {
    this.queue.splice(this.queue.indexOf(r), 1);
    const id = r.p.instance.id;
    this.status.set(id, 'running');
    this.running++;
    this.working++;
    this.peakStages = Math.max(this.peakStages, this.working);
    // The executor may give the room back before the stage settles (its work done, its outputs
    // being stored): the next queued stage starts then.
    let roomHeld = true;
    const giveRoom = (): boolean => {
      if (!roomHeld) return false;
      roomHeld = false;
      this.working--;
      return true;
    };
    this.o.emit({ type: 'stage-start', id, kind: r.p.kind.name, reasons: r.reasons, gpus: placed.gpus });
    const onLog = (line: string): void => this.o.emit({ type: 'stage-log', id, line });
    const t0 = Date.now();
    // Each stage has its own signal: a stop of the run aborts it, and so does its time limit.
    const stageAc = new AbortController();
    const stopAll = (): void => stageAc.abort();
    this.ac.signal.addEventListener('abort', stopAll, { once: true });
    const limit = this.limitOf(r.p);
    let timedOut: Limit | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = limit;
        stageAc.abort();
      }, Math.max(0, t0 + ms - Date.now()));
    };
    if (limit) arm(limit.ms);
    // A stage with items reports its progress: the total of its requests sets a per-item limit.
    const onProgress = (p: StageProgress): void => {
      if (limit?.perItemMs && p.unit === 'requests' && !timedOut && p.total !== limit.total) {
        limit.ms = limit.ms - (limit.total ?? 0) * limit.perItemMs + p.total * limit.perItemMs;
        limit.total = p.total;
        arm(limit.ms);
      }
      this.o.emit({ type: 'stage-progress', id, done: p.done, total: p.total, unit: p.unit });
    };
    const exec = async (): Promise<RunRecord> => {
      const out = await placed.run(stageAc.signal, onLog, onProgress, () => {
        if (giveRoom()) this.dispatch();
      });
      // The executor's message already names the job and ends with its log tail.
      if (!out.ok) throw outcomeFailure(out);
      const rec = out.record ?? (await this.o.store.readRun(r.key));
      if (!rec) throw { reason: 'execute', cause: 'missing-output', message: `the job finished but wrote no run record for ${id}` } satisfies Failure;
      return rec;
    };
    exec()
      .then(async (rec) => {
        // The stage ran: its outputs are new; only a hand edit it replaced is worth a word.
        this.summary.restored.push(...(await this.mat.ensure(rec)).restored);
        this.known.set(id, { state: 'fresh', key: r.key, record: rec });
        this.retain.stored(id);
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
        else if (timedOut) {
          const message = `stage ${id} ran past its time limit of ${showDuration(timedOut.ms)} (${timedOut.from}); it was stopped and its processes killed — raise the limit if it needs longer`;
          const failure: Failure = { reason: 'execute', cause: 'timeout', message, limitMs: timedOut.ms };
          this.fail(r.p.instance, failure);
          // `status` then says why it failed (the killed process could not write it).
          void this.o.store.writeFailure(id, r.key, failure).catch(() => undefined);
        } else this.fail(r.p.instance, toFailure(e, 'execute'));
      })
      .finally(async () => {
        clearTimeout(timer);
        this.ac.signal.removeEventListener('abort', stopAll);
        await r.release();
        placed.release();
        giveRoom();
        this.running--;
        this.pump();
      });
  }

  /** The stage's wall-clock limit: --stage-timeout, its own `timeout:`, `timeouts:` of its kind,
   * then its kind's default (derived from its work); none when none says one. */
  private limitOf(p: Planned): (Limit & { total?: number }) | undefined {
    const cli = this.o.stageTimeout;
    if (cli) return { ms: cli.ms, from: `--stage-timeout ${cli.text}` };
    const own = p.instance.decl.timeout;
    if (own) return { ms: own.ms, from: `timeout: ${own.text} of stage ${p.instance.name}` };
    const kind = this.o.kindTimeouts?.[p.kind.name];
    if (kind) return { ms: kind.ms, from: `timeouts: ${p.kind.name}: ${kind.text}` };
    const d = p.kind.timeout;
    if (!d) return undefined;
    const l: Limit = { ms: d.baseMs, from: `the default of kind ${p.kind.name}: ${showDuration(d.baseMs)}${d.perItemMs ? ` + ${showDuration(d.perItemMs)} per request` : ''}` };
    if (d.perItemMs) l.perItemMs = d.perItemMs;
    return l;
  }

  private async writeHistory(): Promise<void> {
    const keys = [...this.known.values()].flatMap((v) => (v.state === 'fresh' ? [v.key] : []));
    const at = new Date().toISOString();
    await this.o.store.runs.writeHistory({ at, summary: this.summary, keys });
  }
}
