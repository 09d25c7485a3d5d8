// demo-stimuli: small invented stimuli in the paper's formats, for the offline quickstart. Same
// output name and file names as fetch-stimuli, so a pipeline can swap one for the other.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { demoStimuli, demoTasks } from '../src/tasks/demo-stimuli.js';
import { getTask } from '../src/tasks/registry.js';

function taskOf(ctx: PlanContext): string {
  const v = ctx.instance.vars.task;
  const task = (Array.isArray(v) ? undefined : v) || ctx.task?.name;
  if (!task) throw new Error(`stage ${ctx.instance.id}: demo-stimuli needs a task (vars.task)`);
  if (!demoTasks().includes(task)) throw new Error(`stage ${ctx.instance.id}: no demo stimuli for task "${task}" (tasks with demo stimuli: ${demoTasks().join(', ')})`);
  return task;
}

export const demoStimuliKind: StageKind = {
  name: 'demo-stimuli',
  description: 'small invented stimuli in the paper formats (offline quickstart), in place of fetch-stimuli',
  // Takes no params: everything it needs comes from the model, task or stimuli declarations.
  params: {},
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs(ctx) {
    const task = taskOf(ctx);
    return [{ name: 'stimuli', type: 'file', materialize: `external_stimuli/${task}/${getTask(task)!.demo!.file}` }];
  },
  async execute(ctx: StageContext) {
    const task = taskOf(ctx);
    const { file, content } = demoStimuli(task);
    await writeFile(join(ctx.outDir, 'stimuli'), content);
    ctx.log(`demo stimuli for ${task}: ${file}, ${Buffer.byteLength(content)} bytes`);
  },
};

export default demoStimuliKind;
