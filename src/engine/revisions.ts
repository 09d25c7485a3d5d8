// Revision sweeps declared as a selection (`revisions: { glob: "step*-tokens*", every: 4 }`) are
// resolved to a list before expansion — from the model's folder, the mirror or the hub's refs —
// and remembered in the store so that an offline run plans from the last resolution.
import { join } from 'node:path';
import type { SpecView } from './kind.js';
import type { Spec } from './spec.js';
import { readJson, writeFileAtomic } from './store/fs-util.js';
import { sha256 } from './canonical.js';
import { isValidRefName } from '../util/safe-path.js';

export async function resolveRevisionSelections(spec: Spec, view: SpecView, storeDir: string): Promise<void> {
  const todo = spec.models.filter((m) => m.revisionSelect);
  if (todo.length === 0) return;
  const { selectModelRevisions } = await import('../fetch/revision-select.js');
  const { HubClient } = await import('../fetch/hub-client.js');
  const { hubConfigFromEnv } = await import('../fetch/hub-config.js');
  const client = new HubClient(hubConfigFromEnv(process.env, view.offline ? { offline: true } : {}));
  for (const m of todo) {
    const memo = join(storeDir, 'refs', `${sha256(JSON.stringify([m.id, m.path ?? '', m.revisionSelect])).slice(0, 24)}.json`);
    try {
      const ref: { id: string; name: string; path?: string } = { id: m.id, name: m.name };
      if (m.path) ref.path = m.path;
      const opts: { offline: boolean; client: typeof client; modelsDir?: string } = { offline: view.offline, client };
      if (view.modelsDir) opts.modelsDir = view.modelsDir;
      const names = await selectModelRevisions(ref, m.revisionSelect!, opts);
      await writeFileAtomic(memo, JSON.stringify(names));
      m.revisions = [...new Set([...m.revisions, ...names])];
    } catch (e: unknown) {
      // A hub or mirror that hands over unsafe names is refused, not bypassed with an old answer.
      if ((e as { reason?: unknown }).reason === 'unsafe-name') throw new Error(`model ${m.id}: ${(e as Error).message}`);
      const remembered = (await readJson<unknown[]>(memo))?.filter((n): n is string => isValidRefName(n));
      if (!remembered) throw new Error(`model ${m.id}: cannot resolve its revision selection (${m.revisionSelect!.glob}): ${(e as Error).message}`);
      m.revisions = [...new Set([...m.revisions, ...remembered])];
    }
  }
}
