// `pipeline gc` as data (dvc's repo/gc.py is the model): the engine decides what is in use — the
// run records of every current fresh stage and of the last `keepRuns` runs, the objects they name
// and the files of their folders — and the store's parts delete the rest: objects, checked-out
// trees, run records with their logs, and the score kind's request caches of models no kept run
// scored. With the store to itself (its exclusive lease): nothing a run is storing is touched.
import type { Engine } from '../engine.js';
import type { Verdict } from '../planner.js';
import { releaseByPolicy } from '../release.js';

export interface GcOptions {
  /** Also keep what the last n runs used (history/). */
  keepRuns: number;
  /** Say what would be removed; remove nothing. */
  dryRun: boolean;
  /** Why gc waits for the store (a run holds it), as it happens. */
  onWait?: (message: string) => void;
}

export interface GcResult {
  dryRun: boolean;
  /** Objects removed (in a dry run: that would be). */
  objects: number;
  /** Bytes of those objects and of the request caches removed. */
  bytes: number;
  /** Run records removed (with their fingerprints and logs). */
  runs: number;
  /** Models whose request caches were removed: no kept run scored them. */
  requestCaches: number;
  /** Checkpoints or converted models released by their model's retain policy (retain.ts): their
   * large files left the store, their run records stay, marked released. */
  released: { stages: string[]; bytes: number };
  kept: { objects: number; runs: number };
}

/** What the current pipeline and the recent runs use: run keys, and every object they reach. */
export async function inUse(engine: Engine, keepRuns: number, verdicts?: ReadonlyMap<string, Verdict>): Promise<{ keys: Set<string>; digests: Set<string> }> {
  const store = engine.store;
  const keys = await store.runs.recentKeys(keepRuns);
  for (const s of (verdicts ?? (await engine.status())).values()) if (s.state === 'fresh') keys.add(s.key);
  const digests = new Set<string>();
  for (const k of keys) {
    const r = await store.readRun(k);
    if (!r) continue;
    for (const o of Object.values(r.outputs)) {
      digests.add(o.digest);
      if (o.type === 'dir') for (const e of await store.readManifest(o.digest).catch(() => [])) digests.add(e.digest);
    }
  }
  return { keys, digests };
}

export async function gc(engine: Engine, o: GcOptions): Promise<GcResult> {
  const store = engine.store;
  const release = await store.session.exclusive('pipeline gc', o.onWait ?? (() => undefined));
  try {
    const verdicts = await engine.status();
    const { keys, digests } = await inUse(engine, o.keepRuns, verdicts);
    const released = await releaseByPolicy(store, engine.graph, verdicts, keys, o.dryRun);
    const out: GcResult = { dryRun: o.dryRun, objects: 0, bytes: 0, runs: 0, requestCaches: 0, released, kept: { objects: digests.size, runs: keys.size } };
    for (const obj of await store.objects.list()) {
      if (digests.has(obj.digest)) continue;
      out.objects++;
      out.bytes += await sizeOf(obj.path);
      if (!o.dryRun) await store.objects.remove(obj.digest);
    }
    for (const k of await store.runs.keys()) {
      if (keys.has(k)) continue;
      if (await store.readRun(k)) out.runs++;
      if (!o.dryRun) await store.runs.remove(k);
    }
    if (!o.dryRun) store.objects.dropCheckouts((await store.objects.trees()).filter((t) => !digests.has(t)));
    // The score kind's request cache is keyed by the scored model's folder digest: it goes with the model.
    for (const e of await store.caches.kindCacheEntries('score', 'requests')) {
      if (digests.has(e.name)) continue;
      out.requestCaches++;
      out.bytes += e.bytes;
      if (!o.dryRun) await store.caches.removeKindCacheEntry('score', 'requests', e.name);
    }
    return out;
  } finally {
    release();
  }
}

async function sizeOf(path: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  return (await stat(path).catch(() => ({ size: 0 }))).size;
}
