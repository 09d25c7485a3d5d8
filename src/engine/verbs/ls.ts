// `pipeline ls` as data: every stage of the current pipeline with its state and, when fresh, its
// cached outputs (digest, size, materialised path). The CLI formats it.
import type { Engine } from '../engine.js';

export interface LsOutput {
  digest: string;
  size: number;
  /** The materialised path (relative to the project folder), or null when not materialised. */
  path: string | null;
}

export interface LsRow {
  id: string;
  state: string;
  /** The stage's key, when it can be planned. */
  key: string | null;
  /** When its cached run ended (fresh stages only). */
  ranAt: string | null;
  outputs: Record<string, LsOutput>;
}

export interface LsResult {
  stages: LsRow[];
  /** Bytes of all listed outputs. */
  bytes: number;
  storeRoot: string;
}

export async function ls(engine: Engine): Promise<LsResult> {
  const stages: LsRow[] = [];
  let bytes = 0;
  for (const [id, s] of await engine.status()) {
    const outputs: Record<string, LsOutput> = {};
    if (s.state === 'fresh') {
      for (const [n, o] of Object.entries(s.record.outputs)) {
        outputs[n] = { digest: o.digest, size: o.size, path: o.materialize ?? null };
        bytes += o.size;
      }
    }
    stages.push({ id, state: s.state, key: 'key' in s ? s.key : null, ranAt: s.state === 'fresh' ? s.record.endedAt : null, outputs });
  }
  return { stages, bytes, storeRoot: engine.store.root };
}
