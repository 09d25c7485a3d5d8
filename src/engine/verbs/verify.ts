// `pipeline verify` as data: the integrity part re-hashes every stored object and quarantines the
// corrupt ones; then every run computed from a corrupt object (directly, or as a file of an input
// folder) is forgotten, so it re-runs, and the stages that will re-run are named. With the store
// to itself (its exclusive lease).
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import type { Store } from '../store/store.js';

export interface VerifyOptions {
  /** Why verify waits for the store (a run holds it), as it happens. */
  onWait?: (message: string) => void;
}

export interface VerifyResult {
  /** Objects re-hashed. */
  checked: number;
  /** Digests of the corrupt objects, each moved to `quarantined[digest]`. */
  corrupt: string[];
  quarantined: Record<string, string>;
  /** Stage ids whose runs were computed from corrupt inputs, so forgotten. */
  recomputed: string[];
  /** Stages of the current pipeline that will re-run. */
  affected: string[];
}

export async function verify(engine: Engine, o: VerifyOptions = {}): Promise<VerifyResult> {
  const store = engine.store;
  const release = await store.session.exclusive('pipeline verify', o.onWait ?? (() => undefined));
  try {
    const { checked, corrupt } = await store.integrity.verifyAll();
    const quarantined = Object.fromEntries(corrupt.map((d) => [d, join(store.integrity.quarantineDir, d)]));
    if (corrupt.length === 0) return { checked, corrupt, quarantined, recomputed: [], affected: [] };
    // What was computed from the bad bytes is wrong too, although the object itself will be
    // recomputed to the same digest (so its consumers' keys would not change).
    const recomputed = await forgetConsumers(store, new Set(corrupt));
    const affected: string[] = [];
    for (const [id, s] of await engine.status()) if (s.state !== 'fresh' && s.state !== 'waiting' && s.state !== 'blocked') affected.push(id);
    return { checked, corrupt, quarantined, recomputed, affected };
  } finally {
    release();
  }
}

/** Forget every run record whose fingerprint names a bad digest as an input, directly or as a file
 * of an input folder (folders are known by the output types their run records give). Returns
 * their stage ids. */
async function forgetConsumers(store: Store, bad: Set<string>): Promise<string[]> {
  const keys = await store.runs.keys();
  const folders = new Set(await store.objects.trees());
  for (const k of keys) {
    const r = await store.readRun(k);
    for (const out of Object.values(r?.outputs ?? {})) if (out.type === 'dir') folders.add(out.digest);
  }
  const memo = new Map<string, boolean>();
  const tainted = async (d: string): Promise<boolean> => {
    if (bad.has(d)) return true;
    if (!folders.has(d)) return false;
    let hit = memo.get(d);
    if (hit === undefined) {
      hit = (await store.readManifest(d).catch(() => [])).some((e) => bad.has(e.digest));
      memo.set(d, hit);
    }
    return hit;
  };
  const ids: string[] = [];
  for (const k of keys) {
    const fp = await store.readFingerprint(k);
    if (!fp) continue;
    let uses = false;
    for (const outs of Object.values(fp.inputs)) for (const d of Object.values(outs)) uses ||= await tainted(d);
    if (!uses) continue;
    const rec = await store.readRun(k);
    await store.forgetRun(k);
    if (rec) ids.push(rec.stageId);
  }
  return ids.sort();
}
