// fetch-stimuli: a task's stimuli file, from its path:, the stimuli mirror, a URL pinned by sha256,
// or a file of a hub dataset repo at a revision. plan() keys a local file by its digest
// (stat-cached), a URL by its pin, a dataset file by the commit its revision resolves to (asked of
// the hub like a model revision, through the same client: HF_ENDPOINT, HF_TOKEN, --offline).

import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind, TaskSpec } from '../src/engine/kind.js';
import { FetchError } from '../src/fetch/errors.js';
import { HubClient } from '../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../src/fetch/hub-config.js';
import { builtinTaskNames, getTask } from '../src/tasks/registry.js';
import { fetchStimuli, resolveDatasetCommit, resolveStimuliSource, stimuliFileName, type StimuliDecl, type StimuliSource } from '../src/fetch/stimuli.js';
import { StageError } from '../src/engine/failure.js';
import { reachable } from '../src/engine/reachable.js';

/**
 * A built-in task without a `stimuli:` block: the paper's public sources (digit_mat: the paper
 * repository's all_problems.npz, pinned; lambada: the hub dataset the paper loaded), the others by
 * file name in the mirror. A mirror copy (--stimuli-dir) under the same file name still wins.
 */
export function defaultStimuli(task: string): StimuliDecl | undefined {
  const def = getTask(task);
  if (!def || def.origin === 'declared') return undefined;
  const { requiredColumns: _r, idColumn: _i, ...decl } = def.stimuli;
  return decl as StimuliDecl;
}

/** The built-in tasks' default sources, by task (from their TaskDefs). */
export const DEFAULT_STIMULI: Record<string, StimuliDecl> = Object.fromEntries(
  builtinTaskNames().map((t) => [t, defaultStimuli(t)!]),
);

function taskOf(ctx: PlanContext): { name: string; task: TaskSpec } {
  const v = ctx.instance.vars.task;
  const name = Array.isArray(v) ? undefined : v ?? ctx.task?.name;
  if (!name || !ctx.task) throw new FetchError('bad-spec', `stage ${ctx.instance.id}: fetch-stimuli needs a task (vars.task)`);
  if (!ctx.task.stimuli) {
    const stimuli = defaultStimuli(name);
    if (!stimuli) throw new FetchError('bad-spec', `task ${name}: no stimuli: declared (url + sha256, path, or dataset)`);
    return { name, task: { ...ctx.task, stimuli } };
  }
  return { name, task: ctx.task };
}

function resolve(ctx: PlanContext): Promise<StimuliSource> {
  const { name, task } = taskOf(ctx);
  return resolveStimuliSource(name, task.stimuli ?? {}, {
    projectDir: ctx.spec.projectDir,
    stimuliDir: ctx.spec.stimuliDir,
    offline: ctx.spec.offline,
  });
}

function clientFor(ctx: PlanContext): HubClient {
  const config = hubConfigFromEnv(process.env);
  return new HubClient({ ...config, offline: config.offline || ctx.spec.offline });
}

export const fetchStimuliKind: StageKind = {
  name: 'fetch-stimuli',
  description: "a task's stimuli file from its path, the stimuli mirror or a URL pinned by sha256",
  // Takes no params: everything it needs comes from the model, task or stimuli declarations.
  params: {},
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs(ctx) {
    const { name, task } = taskOf(ctx);
    const file = stimuliFileName(name, task.stimuli ?? {});
    return [{ name: 'stimuli', type: 'file', materialize: `external_stimuli/${name}/${file}` }];
  },

  // A stage that would download from a URL (its file is in no mirror and not stored yet): a host
  // that cannot be reached blocks it, in the plan, as a hub that cannot be reached blocks a model.
  async preflight(ctx) {
    const src = await resolve(ctx);
    if (src.source !== 'url') return;
    const r = await reachable(src.url);
    if (r.ok) return;
    const { name } = taskOf(ctx);
    throw new StageError({
      reason: 'fetch',
      cause: 'network',
      message: `stage ${ctx.instance.id}: cannot reach ${new URL(src.url).host} (${r.code}) to download ${src.url}; without network, give task ${name}'s ${src.file} with --stimuli-dir <dir> (or a path: in its stimuli: block)`,
    });
  },

  async plan(ctx) {
    const src = await resolve(ctx);
    if (src.source === 'url') return { source: 'url', url: src.url, sha256: src.sha256, file: src.file };
    if (src.source === 'dataset') {
      // The commit names the content wherever it is served from (the endpoint is recorded, not keyed).
      const commit = await resolveDatasetCommit(taskOf(ctx).name, src, clientFor(ctx));
      return { source: 'dataset', id: src.id, revision: src.revision, commit, repo_file: src.repoFile, sha256: src.sha256 ?? null, file: src.file };
    }
    // A local copy is keyed by its content; a pin, when declared, is checked when the stage runs.
    return { source: src.source, file: src.file, digest: (await ctx.digest(src.path)).digest };
  },

  async execute(ctx: StageContext) {
    const { name } = taskOf(ctx);
    let src = await resolve(ctx);
    const client = clientFor(ctx);
    if (src.source === 'dataset' && typeof ctx.planned.commit === 'string') src = { ...src, commit: ctx.planned.commit };
    const res = await fetchStimuli(name, src, join(ctx.outDir, 'stimuli'), {
      signal: ctx.signal,
      retry: client.config.retry,
      client,
    });
    if (res.bytes === 0) throw new Error(`${res.from}: empty stimuli file (task ${name}); expected the task's items`);
    ctx.log(`stimuli for ${name}: ${res.bytes} bytes from ${res.from} (sha256 ${res.sha256})`);
    const commit = src.source === 'dataset' ? { commit: src.commit ?? null, endpoint: client.config.endpoint } : {};
    ctx.record('resolved', { source: src.source, from: res.from, file: src.file, sha256: res.sha256, bytes: res.bytes, ...commit });
  },
};

export default fetchStimuliKind;
