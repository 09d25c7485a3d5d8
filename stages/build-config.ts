// build-config: the per-run config the paper kept (its make_configs step), one per task × condition
// × model: `configs/<task>[/<condition>]/<model>.yaml` with the task, hub id, condition,
// max_new_tokens (10 for digit_mat, 100 otherwise, or the params' value) and the model's flags.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { defaultMaxNewTokens } from '../src/tasks/run-task.js';
import { useDeclaredTasks } from '../src/tasks/registry.js';
import { readParams } from '../src/engine/params.js';
import { one } from '../src/engine/kind-helpers.js';

export const buildConfigParams = {
  max_new_tokens: { type: 'integer', min: 1, doc: 'tokens to generate in free production (default 10 for digit_mat, 100 otherwise)' },
} as const;

function names(ctx: PlanContext): { task: string; condition: string; model: string } {
  const task = one(ctx, 'task') || ctx.task?.name || '';
  const model = one(ctx, 'model') || ctx.model?.name || '';
  if (!task) throw new Error(`stage ${ctx.instance.id}: build-config needs vars.task`);
  if (!model) throw new Error(`stage ${ctx.instance.id}: build-config needs vars.model`);
  return { task, condition: one(ctx, 'condition'), model };
}

export function configPath(task: string, condition: string, model: string): string {
  return `configs/${task}${condition ? `/${condition}` : ''}/${model}.yaml`;
}

/** The config document: what a score stage reads (and what a person reads to see how a run was set up). */
export function buildConfig(ctx: PlanContext): Record<string, unknown> {
  useDeclaredTasks(ctx.spec.tasks);
  const { task, condition, model } = names(ctx);
  // Expansion offers the task's params too (a task-level max_new_tokens reaches its configs).
  const params = readParams('build-config', buildConfigParams, { ...(ctx.task?.params ?? {}), ...ctx.instance.params }, `stage ${ctx.instance.id}`);
  const maxNewTokens = params.max_new_tokens ?? defaultMaxNewTokens(task);
  const spec = ctx.model;
  return {
    task,
    model: spec?.id ?? model,
    model_name: model,
    condition: condition || null,
    max_new_tokens: maxNewTokens,
    dtype: spec?.dtype ?? null,
    resources: spec?.resources ?? null,
    ...(spec?.config ?? {}),
  };
}

export const buildConfigKind: StageKind = {
  name: 'build-config',
  description: 'the per-run config (task, model, condition, max_new_tokens, model flags) as configs/<task>[/<condition>]/<model>.yaml',
  params: buildConfigParams,
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs(ctx) {
    const { task, condition, model } = names(ctx);
    return [{ name: 'config', type: 'file', materialize: configPath(task, condition, model) }];
  },
  plan(ctx) {
    // The config's content is the key: a model flag or param change re-runs it (and its scores).
    return { config: buildConfig(ctx) };
  },
  async execute(ctx: StageContext) {
    const config = buildConfig(ctx);
    await writeFile(join(ctx.outDir, 'config'), stringify(config));
    ctx.log(`config for ${String(config.task)}${config.condition ? `/${String(config.condition)}` : ''} × ${String(config.model)}: max_new_tokens ${String(config.max_new_tokens)}`);
  },
};

export default buildConfigKind;
