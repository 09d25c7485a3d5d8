// Provenance of every stage from the planner's verdicts (the ones `status` shows) and the store's
// run records: which run made the current outputs, with what code, params, inputs and device, and
// why that run happened. A stale stage's last run is kept but marked not current.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { explain } from '../engine/fingerprint.js';
import type { Verdict } from '../engine/planner.js';
import type { Fingerprint, RunRecord } from '../engine/store/run-record.js';
import type { Store } from '../engine/store/store.js';
import { staleText, verdictLabel, verdictReasons } from '../words/reasons.js';
import type { ModelLineage, StageProvenance } from './types.js';

/** Every run record in the store, by stage id, oldest first (for "why did it last re-run"). */
async function runsByStage(store: Store): Promise<Map<string, RunRecord[]>> {
  const out = new Map<string, RunRecord[]>();
  const root = store.dir('runs');
  let shards: string[] = [];
  try {
    shards = readdirSync(root);
  } catch {
    return out;
  }
  for (const s of shards) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, s));
    } catch {
      continue;
    }
    for (const n of names) {
      if (!n.endsWith('.json') || n.endsWith('.fingerprint.json')) continue;
      const r = await store.readRun(n.slice(0, -'.json'.length));
      if (r) out.set(r.stageId, [...(out.get(r.stageId) ?? []), r]);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return out;
}

async function whyRan(store: Store, rec: RunRecord, fp: Fingerprint | undefined, history: RunRecord[]): Promise<string[]> {
  const before = history.filter((r) => r.key !== rec.key && r.startedAt < rec.startedAt).pop();
  if (!before) return ['first run of this stage in this store'];
  const prev = await store.readFingerprint(before.key);
  if (!prev || !fp) return [`re-ran after the run of ${before.startedAt} (its fingerprint is gone)`];
  const reasons = explain(prev, fp).map(staleText);
  return reasons.length ? reasons : ['forced (same key as the run before)'];
}

function deviceOf(info: Record<string, unknown>): string | undefined {
  const mi = info['model_info'];
  if (mi && typeof mi === 'object' && typeof (mi as Record<string, unknown>)['device'] === 'string') return String((mi as Record<string, unknown>)['device']);
  return undefined;
}

/** A stage's kind and matrix binding (from the pipeline's graph, or from its stored fingerprint). */
export type Describe = (id: string) => { kind: string; vars: Record<string, unknown> } | undefined;

export async function stageProvenance(describe: Describe, verdicts: Map<string, Verdict>, store: Store): Promise<StageProvenance[]> {
  const history = await runsByStage(store);
  const out: StageProvenance[] = [];
  for (const [id, v] of verdicts) {
    const inst = describe(id);
    const p: StageProvenance = { id, kind: inst?.kind ?? '', state: verdictLabel(v), reasons: verdictReasons(v), vars: { ...(inst?.vars ?? {}) } };
    // The current run for a fresh stage; for a stale or failed one its last successful run, marked not current.
    const key = v.state === 'fresh' ? v.key : await store.lastKey(id);
    const rec = v.state === 'fresh' ? v.record : key ? await store.readRun(key) : undefined;
    if (rec) {
      const fp = await store.readFingerprint(rec.key);
      const device = deviceOf(rec.info);
      p.run = {
        key: rec.key, current: v.state === 'fresh', startedAt: rec.startedAt, durationMs: rec.durationMs, host: rec.host, executor: rec.executor,
        ...(device ? { device } : {}),
        code: fp?.code ?? '', params: fp?.params ?? {}, plan: fp?.plan ?? {}, inputs: fp?.inputs ?? {},
        outputs: Object.fromEntries(Object.entries(rec.outputs).map(([n, o]) => [n, o.materialize ? { digest: o.digest, materialize: o.materialize } : { digest: o.digest }])),
        why: await whyRan(store, rec, fp, history.get(id) ?? []),
        info: rec.info,
      };
    }
    out.push(p);
  }
  const byId = new Map(out.map((p) => [p.id, p]));
  for (const p of out) if (p.kind === 'score') p.model = lineage(p, byId);
  return out;
}

/** The model behind a score stage: walk its inputs up to the fetch/build/convert stages. */
function lineage(p: StageProvenance, byId: Map<string, StageProvenance>): ModelLineage {
  const m: ModelLineage = {};
  const seen = new Set<string>();
  const walk = (s: StageProvenance): void => {
    for (const [up, outs] of Object.entries(s.run?.inputs ?? {})) {
      if (seen.has(up)) continue;
      seen.add(up);
      const u = byId.get(up);
      if (!u) continue;
      const digest = Object.values(outs)[0];
      if (u.kind === 'convert-model') {
        m.convertStage = up;
        if (u.run) m.converterCode = u.run.code;
        if (digest) m.converted = digest;
      } else if (u.kind === 'fetch-model' || u.kind === 'build-model') {
        m.checkpointStage = up;
        if (digest) m.checkpoint = digest;
        const plan = u.run?.plan ?? {};
        if (typeof plan['id'] === 'string') m.id = plan['id'];
        if (typeof plan['revision'] === 'string') m.revision = plan['revision'];
        m.commit = typeof plan['commit'] === 'string' ? plan['commit'] : null;
      }
      walk(u);
    }
  };
  walk(p);
  const plan = p.run?.plan ?? {};
  if (!m.id && typeof plan['model_id'] === 'string') m.id = plan['model_id'];
  if (m.revision === undefined) m.revision = String(p.vars['revision'] ?? '') || 'main';
  return m;
}
