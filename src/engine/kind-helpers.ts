// Small helpers the built-in kinds share, so each says a stage and reads a matrix var the same way.
import type { PlanContext } from './kind.js';

/** A matrix var that must be one value (a stage's model, task, revision); '' when unset. */
export function one(ctx: PlanContext, name: string): string {
  const v = ctx.instance.vars[name];
  if (Array.isArray(v)) throw new Error(`stage ${ctx.instance.id}: vars.${name} must be one value, got a list`);
  return v ?? '';
}

/** How a message names the stage: `stage <id> (<kind>)`. */
export function where(ctx: PlanContext): string {
  return `stage ${ctx.instance.id} (${ctx.instance.kind})`;
}
