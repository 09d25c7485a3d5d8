// Before a run touches the working tree: refuse to write over files another pipeline file in the
// same folder wrote, and remove the results of stages this pipeline no longer has.
import type { Engine } from './engine.js';
import type { EngineEvent } from './events.js';
import type { Instance } from './expand.js';
import { PipelineError } from './diagnostics.js';
import { conflictMessage, prunedMessages, type Materializer } from './materialize.js';

/** Throws a PipelineError (exit 2) pointing at the first conflicting stage of the pipeline file;
 * otherwise prunes (or, in a dry run, says what it would prune) and reports it as warnings. */
export async function guardMaterialized(engine: Engine, mat: Materializer, pipeline: string, selected: Instance[], dryRun: boolean, emit: (e: EngineEvent) => void): Promise<void> {
  const claims = await Promise.all(
    selected.map(async (i) => {
      const p = await engine.planner.prepare(i);
      let paths: string[] = [];
      try {
        paths = p.kind.outputs(p.ctx).flatMap((o) => (o.materialize ? [o.materialize] : []));
      } catch {
        // A kind that cannot name its outputs yet fails at plan time with its own message.
      }
      return { stage: i.id, name: i.name, paths };
    }),
  );
  const conflicts = mat.conflicts(claims);
  if (conflicts.length) {
    const name = claims.find((c) => c.stage === conflicts[0]!.stage)!.name;
    throw new PipelineError([engine.spec.source.at(['stages', name], conflictMessage(conflicts, pipeline), { key: true })]);
  }
  const pruned = await mat.prune(dryRun);
  for (const message of prunedMessages(pruned, pipeline, dryRun)) emit({ type: 'warning', message });
  if (!dryRun) await mat.flush();
}
