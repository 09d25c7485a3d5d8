// Carrying out the retain policy (retain.ts decides): during a run, the sweep window a fetch or
// convert takes before it starts and the release of its output once the policy allows, which
// gives the slot back; after a run, `pipeline gc` releases what the policy allows of the store.
import type { EngineEvent } from './events.js';
import type { Graph } from './graph.js';
import type { Instance } from './expand.js';
import type { Verdict } from './planner.js';
import { SweepWindow } from './pools.js';
import { decide, releasable, slotOf, type Settled } from './retain.js';
import type { RunRecord } from './store/run-record.js';
import type { ManifestEntry, Store } from './store/store.js';

export class Retainer {
  readonly window = new SweepWindow();
  /** Stage id → the window slot it holds until its output is released. */
  private holding = new Map<string, string>();
  /** Candidates whose outputs are in the store in this run, waiting for the policy's moment. */
  private tracked = new Set<string>();
  private pending = new Map<string, Promise<void>>();
  private manifests = new Map<string, ManifestEntry[]>();

  constructor(
    private readonly graph: Graph,
    private readonly store: Store,
    private readonly emit: (e: EngineEvent) => void,
    /** The records this run knows as fresh and present (a released one's large files are not kept for it). */
    private readonly present: () => Iterable<RunRecord>,
    /** Called once a release is done (the scheduler marks the verdict released and dispatches). */
    private readonly onReleased: (id: string, record: RunRecord | undefined) => void,
  ) {}

  /** Before a stage starts: false while its model's window is full (`force` when nothing else
   * runs or is being released, so a window can never stall the run). */
  take(inst: Instance, force = false): boolean {
    const s = slotOf(inst);
    if (!s || this.holding.has(inst.id)) return true;
    if (!this.window.tryTake(s.slot, force ? Number.MAX_SAFE_INTEGER : s.size)) return false;
    this.holding.set(inst.id, s.slot);
    return true;
  }

  /** A stage that did not start or did not finish: its slot back, its output (if any) kept. */
  giveBack(id: string): void {
    const slot = this.holding.get(id);
    if (slot === undefined) return;
    this.holding.delete(id);
    this.window.give(slot);
  }

  /** A candidate's outputs are in the store now (it ran, or was up to date). */
  stored(id: string): void {
    if (slotOf(this.graph.byId.get(id)!)) this.tracked.add(id);
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** After a stage settles: release (or just free the slot of) what the policy allows now. */
  settle(statusOf: (id: string) => Settled | undefined, recordOf: (id: string) => RunRecord | undefined): void {
    for (const id of [...this.tracked]) {
      const d = decide(this.graph, id, statusOf);
      if (d === 'wait') continue;
      this.tracked.delete(id);
      if (d !== 'release') {
        this.giveBack(id);
        continue;
      }
      const rec = recordOf(id);
      const p = (rec ? this.release(id, rec) : Promise.resolve())
        .catch((e: unknown) => this.emit({ type: 'warning', id, message: `could not release its outputs: ${(e as Error).message}` }))
        .finally(() => {
          this.pending.delete(id);
          this.giveBack(id);
          this.onReleased(id, rec);
        });
      this.pending.set(id, p);
    }
  }

  private async release(id: string, rec: RunRecord): Promise<void> {
    const used = new Set<string>();
    for (const r of this.present()) {
      if (r.key === rec.key) continue;
      for (const o of Object.values(r.outputs)) {
        used.add(o.digest);
        if (o.type === 'dir') for (const e of await this.manifest(o.digest)) used.add(e.digest);
      }
    }
    const bytes = await this.store.release(rec, (d) => used.has(d));
    this.emit({ type: 'stage-released', id, bytes });
  }

  private async manifest(digest: string): Promise<ManifestEntry[]> {
    let m = this.manifests.get(digest);
    if (!m) {
      m = await this.store.readManifest(digest).catch(() => []);
      this.manifests.set(digest, m);
    }
    return m;
  }

  /** Wait for a stage's release in flight (before it runs again), or for all of them (run end). */
  async quiet(id?: string): Promise<void> {
    if (id !== undefined) await this.pending.get(id);
    else while (this.pending.size > 0) await Promise.all(this.pending.values());
  }
}

/** `pipeline gc`: release what the models' retain policies allow, given the pipeline's verdicts;
 * the large files of records still referenced otherwise (`keys`, less those released) stay. With
 * `dryRun`, say what would be released and remove nothing. */
export async function releaseByPolicy(store: Store, graph: Graph, verdicts: ReadonlyMap<string, Verdict>, keys: ReadonlySet<string>, dryRun = false): Promise<{ stages: string[]; bytes: number }> {
  const settled = (id: string): Settled | undefined => (verdicts.get(id)?.state === 'fresh' ? 'done' : undefined);
  const ids = releasable(graph, settled).filter((id) => {
    const v = verdicts.get(id);
    return v?.state === 'fresh' && !v.released;
  });
  const going = new Set(ids.map((id) => (verdicts.get(id) as Extract<Verdict, { state: 'fresh' }>).key));
  const used = new Set<string>();
  for (const k of keys) {
    if (going.has(k)) continue;
    const r = await store.readRun(k);
    for (const o of Object.values(r?.outputs ?? {})) {
      used.add(o.digest);
      if (o.type === 'dir') for (const e of await store.readManifest(o.digest).catch(() => [])) used.add(e.digest);
    }
  }
  let bytes = 0;
  for (const id of ids) bytes += await store.release((verdicts.get(id) as Extract<Verdict, { state: 'fresh' }>).record, (d) => used.has(d), dryRun);
  return { stages: ids, bytes };
}
