// The retain policy of a revision sweep (pipeline.yaml `models: - retain:`): which fetched
// checkpoints and converted models may leave the store, and when. Pure: given the stage graph and
// which stages are settled, it says what to release and which sweep-window slots to free. The
// scheduler (during a run) and gc (afterwards) call it; neither decides anything itself.
import type { Instance } from './expand.js';
import type { ModelSpec } from './kind.js';

/** When an output may go: never (keep), once every stage that reads it is done (consumed), or once
 * every score stage downstream of it is done (scored). */
export type RetainWhen = 'keep' | 'consumed' | 'scored';

export interface RetainPolicy {
  checkpoints: RetainWhen;
  converted: RetainWhen;
  /** Revisions of the model that may hold a releasable checkpoint (and, apart, a converted model) at once. */
  window: number;
}

/** The pipeline.yaml form (`true` keep, `false` consumed, `after-scoring` scored), already schema-checked. */
export function retainPolicy(raw: { checkpoints?: boolean | string; converted?: boolean | string; window?: number }): RetainPolicy {
  const when = (v: boolean | string | undefined): RetainWhen => (v === undefined || v === true ? 'keep' : v === false ? 'consumed' : 'scored');
  return { checkpoints: when(raw.checkpoints), converted: when(raw.converted), window: raw.window ?? 1 };
}

/** Which policy field governs a stage's output: fetch-model → checkpoints, convert-model → converted. */
export type RetainRole = 'checkpoints' | 'converted';

const ROLE: Record<string, RetainRole> = { 'fetch-model': 'checkpoints', 'convert-model': 'converted' };

/** A stage whose output the policy may release: its role and when. Undefined for every other stage. */
export function retainOf(inst: Pick<Instance, 'kind' | 'model'>): { role: RetainRole; when: Exclude<RetainWhen, 'keep'>; window: number; model: string } | undefined {
  const role = ROLE[inst.kind];
  const policy = inst.model?.retain;
  if (!role || !policy || policy[role] === 'keep') return undefined;
  return { role, when: policy[role] as Exclude<RetainWhen, 'keep'>, window: policy.window, model: inst.model!.name };
}

/** The sweep-window slot a stage takes while its releasable output exists (`<model>:<role>`). */
export function slotOf(inst: Pick<Instance, 'kind' | 'model'>): { slot: string; size: number } | undefined {
  const r = retainOf(inst);
  return r ? { slot: `${r.model}:${r.role}`, size: r.window } : undefined;
}

export type Settled = 'done' | 'failed' | 'skipped' | 'blocked';

export interface RetainGraph {
  byId: ReadonlyMap<string, Pick<Instance, 'id' | 'kind' | 'model' | 'needs'>>;
  dependents: ReadonlyMap<string, readonly string[]>;
}

/**
 * What the policy says about one candidate stage now:
 * - `release`: every stage the policy waits for is done; its output may go (and its slot is free);
 * - `free`: they are all settled but one did not finish (failed, skipped): keep the output for the
 *   rerun that needs it, but give the slot back so the sweep goes on;
 * - `wait`: one of them is still to come (or outside this run, unknown: `settled` says nothing).
 */
export type RetainDecision = 'release' | 'free' | 'wait' | 'keep';

export function decide(g: RetainGraph, id: string, settled: (id: string) => Settled | undefined): RetainDecision {
  const inst = g.byId.get(id);
  const r = inst && retainOf(inst);
  if (!r) return 'keep';
  const waitFor = r.when === 'consumed' ? [...(g.dependents.get(id) ?? [])] : [...(g.dependents.get(id) ?? []), ...scoresBelow(g, id)];
  let allDone = true;
  for (const d of new Set(waitFor)) {
    const s = settled(d);
    if (s === undefined) return 'wait';
    if (s !== 'done') allDone = false;
  }
  // A stage nobody reads is kept: releasing it would make every later run fetch it again for nothing.
  if (waitFor.length === 0) return 'keep';
  return allDone ? 'release' : 'free';
}

/** Score stages downstream of a stage (through any number of stages). */
function scoresBelow(g: RetainGraph, id: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (x: string): void => {
    for (const d of g.dependents.get(x) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      if (g.byId.get(d)?.kind === 'score') out.push(d);
      walk(d);
    }
  };
  walk(id);
  return out;
}

/** Every candidate whose output the policy releases now (gc: `settled` is "fresh in the store"). */
export function releasable(g: RetainGraph, settled: (id: string) => Settled | undefined): string[] {
  return [...g.byId.keys()].filter((id) => decide(g, id, settled) === 'release');
}
