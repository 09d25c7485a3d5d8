// fetch-stimuli: a task's stimuli file, from its path:, the stimuli mirror, or a URL pinned by
// sha256. plan() needs no network: a local file's digest (stat-cached) or the pin is the key.

import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind, TaskSpec } from '../src/engine/kind.js';
import { fetchCodeUrls } from '../src/fetch/code.js';
import { FetchError } from '../src/fetch/errors.js';
import { hubConfigFromEnv } from '../src/fetch/hub-config.js';
import { fetchStimuli, resolveStimuliSource, stimuliFileName, type StimuliSource } from '../src/fetch/stimuli.js';

/** The paper's file names: a built-in task without a `stimuli:` block is looked up in the mirror by these. */
const DEFAULT_FILES: Record<string, string> = { blimp: 'stimuli.csv', crt: 'stimuli.csv', dgl: 'stimuli.csv', digit_mat: 'problems.json', lambada: 'stimuli.jsonl' };

function taskOf(ctx: PlanContext): { name: string; task: TaskSpec } {
  const v = ctx.instance.vars.task;
  const name = Array.isArray(v) ? undefined : v ?? ctx.task?.name;
  if (!name || !ctx.task) throw new FetchError('bad-spec', `stage ${ctx.instance.id}: fetch-stimuli needs a task (vars.task)`);
  if (!ctx.task.stimuli) {
    const file = DEFAULT_FILES[name];
    if (!file) throw new FetchError('bad-spec', `task ${name}: no stimuli: declared (url + sha256, or path)`);
    return { name, task: { ...ctx.task, stimuli: { file } } };
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

export const fetchStimuliKind: StageKind = {
  name: 'fetch-stimuli',
  description: "a task's stimuli file from its path, the stimuli mirror or a URL pinned by sha256",
  code: [import.meta.url, ...fetchCodeUrls()],
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs(ctx) {
    const { name, task } = taskOf(ctx);
    const file = stimuliFileName(name, task.stimuli ?? {});
    return [{ name: 'stimuli', type: 'file', materialize: `external_stimuli/${name}/${file}` }];
  },

  async plan(ctx) {
    const src = await resolve(ctx);
    if (src.source === 'url') return { source: 'url', url: src.url, sha256: src.sha256, file: src.file };
    // A local copy is keyed by its content; a pin, when declared, is checked when the stage runs.
    return { source: src.source, file: src.file, digest: (await ctx.digest(src.path)).digest };
  },

  async execute(ctx: StageContext) {
    const { name } = taskOf(ctx);
    const src = await resolve(ctx);
    const res = await fetchStimuli(name, src, join(ctx.outDir, 'stimuli'), {
      signal: ctx.signal,
      retry: hubConfigFromEnv(process.env).retry,
    });
    const from = src.source === 'url' ? src.url : src.path;
    if (res.bytes === 0) throw new Error(`${from}: empty stimuli file (task ${name}); expected the task's items`);
    ctx.log(`stimuli for ${name}: ${res.bytes} bytes from ${from} (sha256 ${res.sha256})`);
    ctx.record('resolved', { source: src.source, from, file: src.file, sha256: res.sha256, bytes: res.bytes });
  },
};

export default fetchStimuliKind;
