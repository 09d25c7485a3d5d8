// Revision sweeps declared as a selection (`revisions: { glob: "step*-tokens*", every: 4 }`) are
// resolved to a list before expansion — from the model's folder, the mirror or the hub's refs —
// and remembered in the store so that an offline run plans from the last resolution.
import type { SpecView } from './kind.js';
import type { Spec } from './spec.js';
import { Caches } from './store/caches.js';
import { sha256 } from './canonical.js';
import { isValidRefName } from '../util/safe-path.js';
import { PipelineError, type Diagnostic } from './diagnostics.js';

export async function resolveRevisionSelections(spec: Spec, view: SpecView, storeDir: string): Promise<void> {
  const todo = spec.models.filter((m) => m.revisionSelect);
  if (todo.length === 0) return;
  const { selectModelRevisionsFrom } = await import('../fetch/revision-select.js');
  const { HubClient, noteOfflineFallback, unreachableEndpoint } = await import('../fetch/hub-client.js');
  const { hubConfigFromEnv } = await import('../fetch/hub-config.js');
  const client = new HubClient(hubConfigFromEnv(process.env, view.offline ? { offline: true } : {}));
  const { closeRefs } = await import('../fetch/revisions.js');
  const problems: Diagnostic[] = [];
  const caches = new Caches(storeDir);
  for (const m of todo) {
    let empty: { available: string[]; from: string } | undefined;
    const memo = sha256(JSON.stringify([m.id, m.path ?? '', m.revisionSelect])).slice(0, 24);
    try {
      const ref: { id: string; name: string; path?: string } = { id: m.id, name: m.name };
      if (m.path) ref.path = m.path;
      const opts: { offline: boolean; client: typeof client; modelsDir?: string } = { offline: view.offline, client };
      if (view.modelsDir) opts.modelsDir = view.modelsDir;
      const { names, available, from } = await selectModelRevisionsFrom(ref, m.revisionSelect!, opts);
      if (names.length === 0) empty = { available, from };
      else {
        await caches.writeRefs(memo, names);
        m.revisions = [...new Set([...m.revisions, ...names])];
      }
    } catch (e: unknown) {
      // A hub or mirror that hands over unsafe names is refused, not bypassed with an old answer.
      if ((e as { reason?: unknown }).reason === 'unsafe-name') throw new Error(`model ${m.id}: ${(e as Error).message}`);
      const stored = caches.readRefs(memo);
      const remembered = Array.isArray(stored) ? stored.filter((n): n is string => isValidRefName(n)) : undefined;
      if (!remembered) throw new Error(`model ${m.id}: cannot resolve its revision selection (${m.revisionSelect!.glob}): ${(e as Error).message}`);
      // No network: the last resolution stands, and the run says once that it works from the cache.
      if (unreachableEndpoint(client.config.endpoint)) noteOfflineFallback(client.config.endpoint);
      m.revisions = [...new Set([...m.revisions, ...remembered])];
    }
    // A glob that matches no ref: blame the glob (not the stage's matrix, which then expands to
    // nothing) and show what there is, closest first.
    if (empty) problems.push(emptySelection(spec, m, empty.available, empty.from, closeRefs));
  }
  if (problems.length) throw new PipelineError(problems);
}

function emptySelection(spec: Spec, m: Spec['models'][number], available: string[], from: string, closeRefs: (name: string, names: readonly string[], n?: number) => string[]): Diagnostic {
  const sel = m.revisionSelect!;
  const extra = [sel.steps ? `steps [${sel.steps.join(', ')}]` : '', sel.every && sel.every > 1 ? `every ${sel.every}` : ''].filter(Boolean).join(', ');
  const near = closeRefs(sel.glob.replace(/[*?[\]{}]/g, ''), available, 5);
  const what = available.length === 0
    ? `${from} has no revisions`
    : `${from} has ${available.length} ref${available.length === 1 ? '' : 's'}, e.g. (closest first) ${near.join(', ')}`;
  const message = `revisions glob "${sel.glob}"${extra ? ` (${extra})` : ''} of model ${m.id} matches no revision: ${what}`;
  const i = spec.models.indexOf(m);
  return spec.source.at(['models', i, 'revisions', 'glob'], message);
}
