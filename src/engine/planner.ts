// The planner: what one stage instance needs now, as a typed verdict. `status`, `run --dry-run`
// and `run` all ask `verdict()`, so they cannot disagree; the sequence plan → fingerprint → key →
// fresh? → why stale exists only here. Verdicts and reasons are data; reporters word them.
import { join } from 'node:path';
import type { Invocation } from './executor.js';
import type { Instance } from './expand.js';
import { toFailure, type Failure } from './failure.js';
import { explain, keyOf } from './fingerprint.js';
import type { Graph } from './graph.js';
import type { PlanContext, ResourceRequest, SpecView, StageInput, StageKind } from './kind.js';
import type { KindRegistry } from './registry.js';
import { planContext } from './exec-stage.js';
import { Materializer } from './materialize.js';
import type { Fingerprint, RunRecord } from './store/run-record.js';
import type { Store } from './store/store.js';

/** Why a stage must run; one entry per thing that changed (STYLE.md 2). */
export type StaleReason =
  | { reason: 'never-run' }
  | { reason: 'forced' }
  | { reason: 'failed-last-time'; failure: Failure }
  /** The key's record exists but an output it names is gone (gc, or quarantined by verify). */
  | { reason: 'outputs-missing' }
  /** Its outputs were released by the model's retain policy, and a stale stage needs them. */
  | { reason: 'released'; neededBy: string }
  | { reason: 'record-gone' }
  | { reason: 'kind'; from: string; to: string }
  | { reason: 'code'; kind: string; from: string; to: string }
  | { reason: 'param' | 'var' | 'output' | 'plan'; name: string; from?: unknown; to?: unknown }
  /** A run stage's declared dep (a file path) changed. */
  | { reason: 'dependency'; path: string; from?: unknown; to?: unknown }
  | { reason: 'input'; stage: string; change: 'added' | 'removed' | 'digest'; output?: string; from?: string; to?: string }
  /** The key changed and no field says why (a fingerprint field nobody compares). */
  | { reason: 'key'; field?: string };

export type Verdict =
  | {
      state: 'fresh';
      key: string;
      record: RunRecord;
      /** Its outputs were released by a retain policy: its key stands, a stage that needs them runs it again. */
      released?: true;
      /** Materialised files edited by hand (a run restores them); when asked for. */
      edited?: string[];
      /** Materialised files deleted from the working tree (a run writes them again); when asked for. */
      missing?: string[];
      /** Materialised files holding another key's results (a run switches them to this one's), and
       * what differs between that key and this one; when asked for. */
      switched?: { paths: string[]; reasons: StaleReason[] };
    }
  | { state: 'stale'; key: string; fingerprint: Fingerprint; reasons: StaleReason[] }
  /** An upstream stage will run first; this stage's key is known only then. */
  | { state: 'waiting'; on: string }
  /** It cannot run: its plan failed (`failure`), or an upstream is blocked (`by`, with that failure). */
  | { state: 'blocked'; failure: Failure; by?: string };

export type VerdictState = Verdict['state'];

export interface Planned {
  instance: Instance;
  kind: StageKind;
  ctx: PlanContext;
  affinity?: string;
}

export interface VerdictOptions {
  forced?: boolean;
  /** Also check materialised files for hand edits (status, dry-run; a run restores them instead). */
  edits?: boolean;
}

export class Planner {
  private planned = new Map<string, Planned>();

  constructor(
    readonly graph: Graph,
    readonly registry: KindRegistry,
    readonly store: Store,
    readonly spec: SpecView,
    readonly plugins: string[],
    /** Checks materialised files for hand edits (the run's materialiser, so both see the same). */
    private readonly mat: Materializer = new Materializer(store, spec.projectDir),
  ) {}

  /** Kind, plan context and affinity of an instance (kinds are loaded once). */
  async prepare(inst: Instance): Promise<Planned> {
    const hit = this.planned.get(inst.id);
    if (hit) return hit;
    const kind = await this.registry.get(inst.kind);
    const ctx = planContext({ instance: { id: inst.id, kind: inst.kind, name: inst.name, vars: inst.vars, params: inst.params }, spec: this.spec }, this.store);
    const p: Planned = { instance: inst, kind, ctx };
    const aff = kind.isolation === 'worker' ? kind.affinity?.(ctx) ?? inst.id : undefined;
    if (aff) p.affinity = aff;
    this.planned.set(inst.id, p);
    return p;
  }

  /** The verdict of one instance, given the verdicts of the stages it needs. A stage that ran in
   * this run is known as fresh with its new record. */
  async verdict(inst: Instance, known: ReadonlyMap<string, Verdict>, o: VerdictOptions = {}): Promise<Verdict> {
    for (const n of inst.needs) {
      const v = known.get(n);
      if (v?.state === 'blocked') return { state: 'blocked', failure: v.failure, by: v.by ?? n };
    }
    for (const n of inst.needs) {
      if (known.get(n)?.state === 'fresh') continue;
      // Its key waits on the upstream; what it needs of this machine (R, the network) does not.
      const pre = await this.preflight(inst);
      return pre ? { state: 'blocked', failure: pre } : { state: 'waiting', on: n };
    }
    const p = await this.prepare(inst);
    let fp: Fingerprint;
    try {
      fp = await this.fingerprint(p, known);
    } catch (e: unknown) {
      return { state: 'blocked', failure: { ...toFailure(e, 'plan'), stage: inst.id } };
    }
    const key = keyOf(fp);
    if (o.forced) return { state: 'stale', key, fingerprint: fp, reasons: [{ reason: 'forced' }] };
    const rec = await this.freshRecord(key);
    if (rec) {
      const v: Verdict = { state: 'fresh', key, record: rec };
      if (o.edits) {
        const d = await this.mat.drift(rec);
        if (d.edited.length) v.edited = d.edited;
        if (d.missing.length) v.missing = d.missing;
        if (d.switched.length) v.switched = { paths: d.switched, reasons: await this.switchReasons(this.mat.currentKey(inst.id) ?? (await this.store.lastKey(inst.id)), key) };
      }
      return v;
    }
    const released = await this.store.releasedRun(key);
    if (released) return { state: 'fresh', key, record: released, released: true };
    // It would run: what it needs of this machine (the network for a download, R) must be there.
    const pre = await this.preflight(inst);
    if (pre) return { state: 'blocked', failure: pre };
    return { state: 'stale', key, fingerprint: fp, reasons: await this.whyStale(inst.id, key, fp) };
  }

  /** The kind's preflight of a stage (see StageKind.preflight): its failure, or undefined. */
  async preflight(inst: Instance): Promise<Failure | undefined> {
    const p = await this.prepare(inst);
    if (!p.kind.preflight) return undefined;
    try {
      await p.kind.preflight(p.ctx);
      return undefined;
    } catch (e: unknown) {
      return { ...toFailure(e, 'plan'), stage: inst.id };
    }
  }

  /** Verdicts of instances in dependency order (status, dry-run). */
  async verdicts(instances: Instance[], o: { forced?: ReadonlySet<string>; edits?: boolean } = {}): Promise<Map<string, Verdict>> {
    const out = new Map<string, Verdict>();
    for (const inst of instances) out.set(inst.id, await this.verdict(inst, out, { forced: o.forced?.has(inst.id) ?? false, edits: o.edits ?? false }));
    return out;
  }

  /** Fresh when a run record for the key exists and every output object it names is stored. */
  async freshRecord(key: string): Promise<RunRecord | undefined> {
    const r = await this.store.readRun(key);
    if (!r) return undefined;
    for (const o of Object.values(r.outputs)) if (!(await this.store.hasOutput(o.digest, o.type))) return undefined;
    return r;
  }

  private async fingerprint(p: Planned, known: ReadonlyMap<string, Verdict>): Promise<Fingerprint> {
    const inputs: Fingerprint['inputs'] = {};
    for (const n of p.instance.needs) inputs[n] = outputDigests(recordOf(known, n));
    let plan: Record<string, unknown> = {};
    // A failing plan() is the stage's blocked verdict: the Failure names the stage (verdict()).
    if (p.kind.plan) plan = await p.kind.plan(p.ctx);
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

  /** Why a stage is stale, against the run whose results the working tree holds (the one this
   * pipeline last materialised), else the last run of the stage id: after `--set limit=20` and a
   * plain run that switched back to the cached default, a change says what changed since the
   * default, not since limit=20. */
  private async whyStale(id: string, key: string, fp: Fingerprint): Promise<StaleReason[]> {
    const failure = await this.store.readFailure(id);
    if (failure && failure.key === key) return [{ reason: 'failed-last-time', failure: failure.failure }];
    const current = this.mat.currentKey(id);
    const last = current !== undefined && (current === key || (await this.store.readFingerprint(current))) ? current : await this.store.lastKey(id);
    if (!last) return [{ reason: 'never-run' }];
    if (last === key) return [{ reason: 'outputs-missing' }];
    const prev = await this.store.readFingerprint(last);
    if (!prev) return [{ reason: 'record-gone' }];
    return explain(prev, fp);
  }

  /** What differs between the run whose results a working copy holds (`from`) and the fresh run
   * `to` that replaces them: "param limit: 20 → 12". Empty when unknown. */
  async switchReasons(from: string | undefined, to: string): Promise<StaleReason[]> {
    if (from === undefined || from === to) return [];
    const [a, b] = await Promise.all([this.store.readFingerprint(from), this.store.readFingerprint(to)]);
    return a && b ? explain(a, b) : [];
  }

  /** What a stale stage is given of its upstream stages' outputs. */
  inputsFor(inst: Instance, known: ReadonlyMap<string, Verdict>): Promise<StageInput[]> {
    return Promise.all(
      inst.needs.map(async (n) => {
        const r = recordOf(known, n);
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

  /** The plain-JSON invocation an executor runs for a stale verdict. */
  invocation(p: Planned, v: Extract<Verdict, { state: 'stale' }>, inputs: StageInput[], resources: ResourceRequest): Invocation {
    const inv: Invocation = {
      key: v.key,
      instance: p.ctx.instance,
      projectDir: this.spec.projectDir,
      storeDir: this.store.root,
      spec: this.spec,
      plugins: this.plugins,
      inputs,
      planned: v.fingerprint.plan,
      fingerprint: v.fingerprint as unknown as Record<string, unknown>,
      resources,
    };
    if (p.affinity) inv.affinity = p.affinity;
    if (v.reasons.some((r) => r.reason === 'forced')) inv.forced = true;
    return inv;
  }
}

function recordOf(known: ReadonlyMap<string, Verdict>, id: string): RunRecord {
  const v = known.get(id);
  if (v?.state !== 'fresh') throw new Error(`internal: ${id} has no record yet`);
  return v.record;
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
