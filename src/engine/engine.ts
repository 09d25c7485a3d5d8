// The engine: a pipeline file → stage instances → keys → a run that executes only stale stages,
// under resource pools, with model affinity, and says why. One method per CLI verb; it never prints.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { EngineEvent, Reporter, RunSummary } from './events.js';
import type { Executor } from './executor.js';
import type { SpecView } from './kind.js';
import { buildGraph, chosen, select, type Graph } from './graph.js';
import { expand, normal, type Instance } from './expand.js';
import { Planner, type Verdict } from './planner.js';
import { KindRegistry } from './registry.js';
import { saveCodeDigestCache, useCodeDigestCache } from './code-digest.js';
import { resolvePools, type Duration, type Pools, type Spec } from './spec-types.js';
import { compiledKey, loadCompiled, saveCompiled } from './compiled.js';
import { PipelineError } from './diagnostics.js';
import { Store } from './store/store.js';
import { Caches } from './store/caches.js';
import { planContext } from './exec-stage.js';
import { ResourcePools } from './pools.js';
import { Materializer } from './materialize.js';
import { guardMaterialized } from './materialized-guard.js';
import { kindParams } from './params.js';
import { LocalExecutor } from './executors/local.js';
import { resolveRevisionSelections } from './revisions.js';
import type { LsResult } from './verbs/ls.js';
import type { Inspection, InspectOptions } from './verbs/inspect.js';
import type { GcOptions, GcResult } from './verbs/gc.js';
import type { VerifyOptions, VerifyResult } from './verbs/verify.js';

export interface EngineOptions {
  file: string;
  overrides?: Record<string, string>;
  modelsDir?: string;
  stimuliDir?: string;
  offline?: boolean;
  /** Store location; default `<project>/cache`. */
  storeDir?: string;
  pools?: Partial<Pools>;
  /** Most stages running at once (any kind). */
  jobs?: number;
  executor?: 'local' | 'slurm';
  reporter?: Reporter;
  /** Most stage instances the matrices may expand to (default DEFAULT_MAX_STAGES). */
  maxStages?: number;
  /** An in-memory spec (the `score` command) instead of a file. */
  spec?: Spec;
}

export interface Selection {
  targets?: string[];
  only?: string[];
}

export interface RunOptions extends Selection {
  /** --stage-timeout: every stage's wall-clock limit (before pipeline.yaml's). */
  stageTimeout?: Duration;
  force?: boolean;
  dryRun?: boolean;
  keepGoing?: boolean;
  signal?: AbortSignal;
}

export type { Planned, Verdict } from './planner.js';
export type { LsResult, LsRow } from './verbs/ls.js';
export type { Inspection, InspectOptions } from './verbs/inspect.js';
export type { GcOptions, GcResult } from './verbs/gc.js';
export type { VerifyOptions, VerifyResult } from './verbs/verify.js';

export class Engine {
  readonly store: Store;
  /** The one place verdicts come from (status, dry-run and run). */
  readonly planner: Planner;
  /** One materialiser for the planner, the guard and the scheduler: they see the same record. */
  private readonly mat: Materializer;
  private constructor(
    readonly spec: Spec,
    readonly graph: Graph,
    readonly registry: KindRegistry,
    readonly opts: EngineOptions,
    readonly specView: SpecView,
  ) {
    this.store = new Store(opts.storeDir ?? join(spec.projectDir, 'cache'));
    if (opts.reporter) this.store.warn = (message) => this.emit({ type: 'warning', message });
    this.mat = this.materializer();
    this.planner = new Planner(graph, registry, this.store, specView, spec.plugins, this.mat);
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    const registry = new KindRegistry();
    let spec: Spec;
    let instances: Instance[] | undefined;
    let save: ((storeDir: string) => Promise<void>) | undefined;
    if (opts.spec) spec = opts.spec;
    else {
      const file = resolve(opts.file);
      const text = readTextOrUndefined(file);
      // The mirrors are checked against run stages' outs at expansion: they are part of the key.
      const mirrors = [opts.modelsDir ?? process.env['PIPELINE_MODELS_DIR'] ?? '', opts.stimuliDir ?? process.env['PIPELINE_STIMULI_DIR'] ?? ''].map((d) => (d ? resolve(d) : ''));
      const key = text === undefined ? undefined : compiledKey(file, text, opts.overrides ?? {}, [...mirrors, opts.maxStages ? String(opts.maxStages) : '']);
      const hit = key ? loadCompiled(opts.storeDir ?? join(dirname(file), 'cache'), key) : undefined;
      if (hit) {
        ({ spec, instances } = hit);
        if (spec.plugins.length) await registry.addPlugins(spec.plugins);
      } else {
        const { loadSpec, kindDiagnostics, registerPlugins } = await import('./spec.js');
        spec = loadSpec(file, { overrides: opts.overrides ?? {} });
        // Plugins must be registered before `uses:` names are checked.
        await registerPlugins(spec, registry);
        const bad = kindDiagnostics(spec.stages, spec.source, registry.names());
        if (bad.length) throw new PipelineError(bad);
        // A revision selection depends on the hub's refs, not only on the file: never cached.
        const cacheable = !spec.models.some((m) => m.revisionSelect);
        if (key && cacheable) save = (dir) => saveCompiled(dir, key, spec, instances!);
      }
    }
    const view: SpecView = {
      projectDir: spec.projectDir,
      models: spec.models,
      tasks: spec.tasks,
      vars: spec.vars,
      offline: opts.offline ?? false,
    };
    const modelsDir = opts.modelsDir ?? process.env['PIPELINE_MODELS_DIR'];
    const stimuliDir = opts.stimuliDir ?? process.env['PIPELINE_STIMULI_DIR'];
    if (modelsDir) view.modelsDir = resolve(modelsDir);
    if (stimuliDir) view.stimuliDir = resolve(stimuliDir);
    const storeDir = opts.storeDir ?? join(spec.projectDir, 'cache');
    useCodeDigestCache(new Caches(storeDir).codeDigestFile);
    if (!instances) {
      await resolveRevisionSelections(spec, view, storeDir);
      const where: Parameters<typeof expand>[2] = { storeDir };
      if (opts.maxStages) where.maxStages = opts.maxStages;
      if (view.modelsDir) where.modelsDir = view.modelsDir;
      if (view.stimuliDir) where.stimuliDir = view.stimuliDir;
      instances = expand(spec, await kindParams(registry, spec.stages.flatMap((d) => (d.uses ? [d.uses] : []))), where);
      await linkMaterializedDeps(instances, registry, view, new Store(storeDir));
    }
    const graph = buildGraph(instances, spec);
    // Only a cache: a read-only or full store answers without it (docs/store.md).
    await save?.(storeDir).catch(() => undefined);
    return new Engine(spec, graph, registry, opts, view);
  }

  private emit(e: EngineEvent): void {
    this.opts.reporter?.(e);
  }

  selection(sel: Selection): Instance[] {
    return select(this.graph, sel.targets ?? [], sel.only ?? []);
  }

  /** The verdict of every selected stage, without running anything (materialised files are
   * checked for hand edits). */
  async status(sel: Selection = {}): Promise<Map<string, Verdict>> {
    await this.store.init();
    try {
      return await this.planner.verdicts(this.selection(sel), { edits: true });
    } finally {
      saveCodeDigestCache();
      await this.store.close();
    }
  }

  async run(opts: RunOptions = {}): Promise<RunSummary> {
    const { Scheduler } = await import('./scheduler.js');
    await this.store.init(opts.signal); // waits (interruptibly) while gc/verify hold the store
    const pools = resolvePools(this.spec.pools, this.opts.pools ?? {}, await this.detectGpus());
    const selected = this.selection(opts);
    const executors = await this.makeExecutors(new ResourcePools(pools), this.opts.jobs ?? pools.cpu, pools.workers);
    try {
      await guardMaterialized(this, this.mat, this.pipelineName, selected, !!opts.dryRun, (e) => this.emit(e));
      const scheduler = new Scheduler({
        planner: this.planner,
        graph: this.graph,
        store: this.store,
        projectDir: this.spec.projectDir,
        executors,
        materializer: this.mat,
        // --force re-runs what the selection names, not the upstream stages it pulls in.
        forced: opts.force ? chosen(this.graph, opts.targets ?? [], opts.only ?? []) : new Set(),
        ...(opts.stageTimeout ? { stageTimeout: opts.stageTimeout } : {}),
        ...(this.spec.timeouts ? { kindTimeouts: this.spec.timeouts } : {}),
        emit: (e) => this.emit(e),
      });
      const sched: Parameters<typeof scheduler.run>[1] = {};
      if (opts.dryRun) sched.dryRun = true;
      if (opts.keepGoing) sched.keepGoing = true;
      if (opts.signal) sched.signal = opts.signal;
      return await scheduler.run(selected, sched);
    } catch (e: unknown) {
      // Said once: the error names the file; the store's own later writes add nothing.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS') this.store.noteFull();
      throw e;
    } finally {
      await Promise.all(executors.map((x) => x.close()));
      saveCodeDigestCache();
      await this.store.close();
    }
  }

  /** `pipeline ls`: every stage with its state and cached outputs (verbs/ls.ts). */
  async ls(): Promise<LsResult> {
    return (await import('./verbs/ls.js')).ls(this);
  }

  /** `pipeline inspect`: the stage, digest or materialised path `what` names, as data (verbs/inspect.ts). */
  async inspect(what: string, o: InspectOptions): Promise<Inspection> {
    return (await import('./verbs/inspect.js')).inspect(this, what, o);
  }

  /** `pipeline gc`: remove what no current stage or recent run uses (verbs/gc.ts). */
  async gc(o: GcOptions): Promise<GcResult> {
    return (await import('./verbs/gc.js')).gc(this, o);
  }

  /** `pipeline verify`: re-hash every object, quarantine the corrupt, forget what was computed from them (verbs/verify.ts). */
  async verify(o: VerifyOptions = {}): Promise<VerifyResult> {
    return (await import('./verbs/verify.js')).verify(this, o);
  }

  /** The pipeline file as the materialisation record names it (relative to the project folder). */
  get pipelineName(): string {
    return relative(this.spec.projectDir, this.spec.file) || this.spec.file;
  }

  /** Materialises outputs on behalf of this pipeline file; a generated spec (`pipeline score`)
   * writes scratch copies that any pipeline may take over, and prunes nothing. */
  materializer(): Materializer {
    const owner = this.opts.spec ? { pipeline: this.pipelineName, scratch: true } : { pipeline: this.pipelineName, stages: new Set(this.graph.byId.keys()) };
    return new Materializer(this.store, this.spec.projectDir, owner);
  }

  /** This machine's executor, after Slurm's when the run uses it (Slurm takes the stages it accepts). */
  private async makeExecutors(pools: ResourcePools, jobs: number, maxWorkers: number): Promise<Executor[]> {
    const local = new LocalExecutor({ registry: this.registry, pools, jobs, maxWorkers });
    const kind = this.opts.executor ?? this.spec.executor.kind;
    if (kind !== 'slurm') return [local];
    const { createEngineSlurmExecutor } = await import('./executors/slurm-bridge.js');
    return [await createEngineSlurmExecutor(this.spec, this.store.root), local];
  }

  /** GPUs are detected only when some stage asks for one and no gpu pool was declared. */
  private async detectGpus(): Promise<string[]> {
    if (this.opts.pools?.gpu || this.spec.pools.gpu) return [];
    const wants = this.graph.order.some((i) => (i.resources?.gpu ?? 0) > 0);
    if (!wants) return [];
    const { detectGpus } = await import('./gpus.js');
    return detectGpus();
  }
}

/** A run stage's dep that is a built-in stage's materialised output (processed_data/x.csv) makes
 * that stage upstream of it, as a dep on another run stage's out does. */
async function linkMaterializedDeps(instances: Instance[], registry: KindRegistry, view: SpecView, store: Store): Promise<void> {
  const wanted = instances.filter((i) => (i.run?.deps.length ?? 0) > 0);
  if (wanted.length === 0) return;
  const producers = new Map<string, string>();
  for (const i of instances) {
    if (i.kind === 'run') continue;
    const kind = await registry.get(i.kind);
    const ctx = planContext({ instance: { id: i.id, kind: i.kind, name: i.name, vars: i.vars, params: i.params }, spec: view }, store);
    for (const o of kind.outputs(ctx)) if (o.materialize) producers.set(normal(o.materialize), i.id);
  }
  for (const i of wanted) {
    for (const d of i.run!.deps) {
      const n = normal(d);
      for (const [path, id] of producers) {
        // A dep may name the file itself or a folder that contains outputs (processed_data/).
        if ((path === n || path.startsWith(n + '/')) && !i.needs.includes(id)) i.needs.push(id);
      }
    }
  }
}

function readTextOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // loadSpec reports the missing file properly
  }
}
