// The engine: a pipeline file → stage instances → keys → a run that executes only stale stages,
// under resource pools, with model affinity, and says why. One method per CLI verb; it never prints.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { EngineEvent, Reporter, RunSummary } from './events.js';
import type { Executor, Invocation } from './executor.js';
import type { PlanContext, ResourceRequest, SpecView, StageInput, StageKind } from './kind.js';
import { buildGraph, select, type Graph } from './graph.js';
import { expand, normal, type Instance } from './expand.js';
import { explain, keyOf } from './fingerprint.js';
import { KindRegistry } from './registry.js';
import { resolvePools, type Pools, type Spec } from './spec-types.js';
import { compiledKey, loadCompiled, saveCompiled } from './compiled.js';
import { PipelineError } from './diagnostics.js';
import type { Fingerprint, RunRecord } from './store/run-record.js';
import { Store } from './store/store.js';
import { planContext } from './exec-stage.js';
import { ResourcePools } from './pools.js';
import { Materializer } from './materialize.js';
import { LocalExecutor } from './executors/local.js';
import { resolveRevisionSelections } from './revisions.js';

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
  /** An in-memory spec (the `score` command) instead of a file. */
  spec?: Spec;
}

export interface Selection {
  targets?: string[];
  only?: string[];
}

export interface RunOptions extends Selection {
  force?: boolean;
  dryRun?: boolean;
  keepGoing?: boolean;
  signal?: AbortSignal;
}

export type StageState =
  | { state: 'fresh'; key: string; record: RunRecord; edited: string[] }
  | { state: 'stale'; key: string; reasons: string[] }
  | { state: 'waiting'; reasons: string[] }
  /** Its plan cannot be made now (a model unreachable offline, a missing dependency). */
  | { state: 'blocked'; reasons: string[] }
  | { state: 'failed'; key: string; reasons: string[] };

export interface Planned {
  instance: Instance;
  kind: StageKind;
  ctx: PlanContext;
  affinity?: string;
}

export class Engine {
  readonly store: Store;
  private planned = new Map<string, Planned>();
  private constructor(
    readonly spec: Spec,
    readonly graph: Graph,
    readonly registry: KindRegistry,
    readonly opts: EngineOptions,
    readonly specView: SpecView,
  ) {
    this.store = new Store(opts.storeDir ?? join(spec.projectDir, 'cache'));
    if (opts.reporter) this.store.warn = (message) => this.emit({ type: 'warning', message });
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
      const key = text === undefined ? undefined : compiledKey(file, text, opts.overrides ?? {});
      const hit = key ? loadCompiled(opts.storeDir ?? join(dirname(file), 'cache'), key) : undefined;
      if (hit) {
        ({ spec, instances } = hit);
        if (spec.plugins.length) await registry.addPlugins(spec.plugins);
      } else {
        const { loadSpec, kindDiagnostics } = await import('./spec.js');
        spec = loadSpec(file, { overrides: opts.overrides ?? {} });
        // Plugins must be registered before `uses:` names are checked.
        if (spec.plugins.length) await registry.addPlugins(spec.plugins);
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
    if (!instances) {
      await resolveRevisionSelections(spec, view, storeDir);
      instances = expand(spec);
      await linkMaterializedDeps(instances, registry, view, new Store(storeDir));
    }
    const graph = buildGraph(instances, spec);
    await save?.(storeDir);
    return new Engine(spec, graph, registry, opts, view);
  }

  private emit(e: EngineEvent): void {
    this.opts.reporter?.(e);
  }

  /** Kind, plan context and affinity of an instance (kinds are loaded once). */
  async prepare(inst: Instance): Promise<Planned> {
    const hit = this.planned.get(inst.id);
    if (hit) return hit;
    const kind = await this.registry.get(inst.kind);
    const ctx = planContext({ instance: { id: inst.id, kind: inst.kind, name: inst.name, vars: inst.vars, params: inst.params }, spec: this.specView }, this.store);
    const p: Planned = { instance: inst, kind, ctx };
    const aff = kind.isolation === 'worker' ? kind.affinity?.(ctx) ?? inst.id : undefined;
    if (aff) p.affinity = aff;
    this.planned.set(inst.id, p);
    return p;
  }

  selection(sel: Selection): Instance[] {
    return select(this.graph, sel.targets ?? [], sel.only ?? []);
  }

  /** The fingerprint of an instance whose upstream records are known. */
  async fingerprint(p: Planned, upstream: Map<string, RunRecord>): Promise<Fingerprint> {
    const inputs: Fingerprint['inputs'] = {};
    for (const n of p.instance.needs) inputs[n] = outputDigests(upstream.get(n)!);
    let plan: Record<string, unknown> = {};
    if (p.kind.plan) {
      try {
        plan = await p.kind.plan(p.ctx);
      } catch (e: unknown) {
        throw new Error(`stage ${p.instance.id}: ${(e as Error).message.replace(`stage ${p.instance.id}: `, '')}`);
      }
    }
    return {
      kind: p.kind.name,
      code: await this.registry.codeDigest(p.kind.name),
      params: p.instance.params,
      vars: p.instance.vars,
      plan,
      inputs,
      outputs: Object.fromEntries(p.kind.outputs(p.ctx).map((o) => [o.name, o.materialize ?? ''])),
    };
  }

  /** Fresh when a run record for the key exists and every output object it names is stored. */
  async freshRecord(key: string): Promise<RunRecord | undefined> {
    const r = await this.store.readRun(key);
    if (!r) return undefined;
    for (const o of Object.values(r.outputs)) if (!(await this.store.hasOutput(o.digest, o.type))) return undefined;
    return r;
  }

  async whyStale(id: string, key: string, fp: Fingerprint): Promise<string[]> {
    const failure = await this.store.readFailure(id);
    if (failure && failure.key === key) return [`failed last time: ${failure.message.split('\n')[0]}`];
    const last = await this.store.lastKey(id);
    if (!last) return ['never run'];
    if (last === key) return ['outputs missing from the store (removed by gc or quarantined by verify)'];
    const prev = await this.store.readFingerprint(last);
    if (!prev) return ['previous run record is gone'];
    return explain(prev, fp);
  }

  inputsFor(inst: Instance, upstream: Map<string, RunRecord>): Promise<StageInput[]> {
    return Promise.all(
      inst.needs.map(async (n) => {
        const r = upstream.get(n)!;
        const up = this.graph.byId.get(n)!;
        const outputs: StageInput['outputs'] = {};
        for (const [name, o] of Object.entries(r.outputs)) {
          outputs[name] = { digest: o.digest, type: o.type, path: await this.store.outputPath(o.digest, o.type) };
          if (o.materialize) outputs[name].materialized = join(this.spec.projectDir, o.materialize);
        }
        return { stageId: n, kind: up.kind, name: up.name, vars: up.vars, outputs, info: r.info };
      }),
    );
  }

  /** Status of every selected stage, without running anything. */
  async status(sel: Selection = {}): Promise<Map<string, StageState>> {
    await this.store.init();
    const states = new Map<string, StageState>();
    const records = new Map<string, RunRecord>();
    const mat = new Materializer(this.store, this.spec.projectDir);
    for (const inst of this.selection(sel)) {
      const blocked = inst.needs.filter((n) => !records.has(n));
      if (blocked.length) {
        states.set(inst.id, { state: 'waiting', reasons: [`upstream ${blocked[0]} will run first`] });
        continue;
      }
      const p = await this.prepare(inst);
      let fp: Fingerprint;
      try {
        fp = await this.fingerprint(p, records);
      } catch (e: unknown) {
        states.set(inst.id, { state: 'blocked', reasons: [(e as Error).message] });
        continue;
      }
      const key = keyOf(fp);
      const rec = await this.freshRecord(key);
      if (rec) {
        records.set(inst.id, rec);
        states.set(inst.id, { state: 'fresh', key, record: rec, edited: await mat.edited(rec) });
      } else {
        const reasons = await this.whyStale(inst.id, key, fp);
        states.set(inst.id, reasons[0]?.startsWith('failed last time') ? { state: 'failed', key, reasons } : { state: 'stale', key, reasons });
      }
    }
    await this.store.close();
    return states;
  }

  async run(opts: RunOptions = {}): Promise<RunSummary> {
    const { Scheduler } = await import('./scheduler.js');
    await this.store.init(opts.signal); // waits (interruptibly) while gc/verify hold the store
    const pools = resolvePools(this.spec.pools, this.opts.pools ?? {}, await this.detectGpus());
    const executors = await this.makeExecutors();
    try {
      const scheduler = new Scheduler(this, {
        pools: new ResourcePools(pools),
        jobs: this.opts.jobs ?? pools.cpu,
        maxWorkers: pools.workers,
        executors,
        emit: (e) => this.emit(e),
      });
      return await scheduler.run(this.selection(opts), opts);
    } finally {
      await Promise.all(Object.values(executors).map((x) => x?.close()));
      await this.store.close();
    }
  }

  invocation(p: Planned, key: string, fp: Fingerprint, inputs: StageInput[], resources: ResourceRequest): Invocation {
    const inv: Invocation = {
      key,
      instance: p.ctx.instance,
      projectDir: this.spec.projectDir,
      storeDir: this.store.root,
      spec: this.specView,
      plugins: this.spec.plugins,
      inputs,
      planned: fp.plan,
      fingerprint: fp as unknown as Record<string, unknown>,
      resources,
    };
    if (p.affinity) inv.affinity = p.affinity;
    return inv;
  }

  private async makeExecutors(): Promise<{ local: LocalExecutor; remote?: Executor }> {
    const local = new LocalExecutor(this.registry);
    const kind = this.opts.executor ?? this.spec.executor.kind;
    if (kind !== 'slurm') return { local };
    const { createEngineSlurmExecutor } = await import('./executors/slurm-bridge.js');
    return { local, remote: await createEngineSlurmExecutor(this.spec, this.store.root) };
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

const digestsOf = new WeakMap<RunRecord, Record<string, string>>();
/** Output name → digest of a record, computed once per record (an aggregate reads hundreds). */
function outputDigests(r: RunRecord): Record<string, string> {
  let d = digestsOf.get(r);
  if (!d) {
    d = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.digest]));
    digestsOf.set(r, d);
  }
  return d;
}
