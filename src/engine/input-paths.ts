// What the pipeline reads and no store holds: model folders (`path:`), stimuli files, plugins, the
// paths a kind's params name as inputs (annotations, import), `run:` deps, .git and the local
// mirrors. A `run:` stage's outs are deleted before its command runs, so none may overlap these
// (project-paths.ts says how; expand.ts where).
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SpecView } from './kind.js';
import type { Instance } from './expand.js';
import type { KindParams } from './params.js';
import { shown, type ProtectedInput } from './project-paths.js';
import type { Spec } from './spec-types.js';

export interface Mirrors {
  modelsDir?: string;
  stimuliDir?: string;
}

export function protectedInputs(spec: Spec, instances: readonly Instance[], kinds: KindParams | undefined, mirrors: Mirrors = {}): ProtectedInput[] {
  const dir = spec.projectDir;
  const at = (p: string): string => shown(p, dir);
  const out: ProtectedInput[] = [{ path: join(dir, '.git'), what: ".git (the project's git repository)" }];
  spec.models.forEach((m, i) => {
    if (m.path) out.push({ path: m.path, what: `the model folder of "${m.name}" (models[${i}].path: ${at(m.path)})` });
  });
  for (const t of spec.tasks) if (t.stimuli?.path) out.push({ path: t.stimuli.path, what: `the stimuli of task ${t.name} (tasks.${t.name}.stimuli.path: ${at(t.stimuli.path)})` });
  for (const p of spec.plugins) out.push({ path: p, what: `the plugin ${at(p)}` });
  if (mirrors.modelsDir) out.push({ path: resolve(mirrors.modelsDir), what: `the model mirror (--models-dir ${at(mirrors.modelsDir)})` });
  if (mirrors.stimuliDir) out.push({ path: resolve(mirrors.stimuliDir), what: `the stimuli mirror (--stimuli-dir ${at(mirrors.stimuliDir)})` });
  for (const inst of instances) {
    const decls = inst.decl.uses ? kinds?.(inst.decl.uses) : undefined;
    for (const [name, d] of Object.entries(decls ?? {})) {
      const v = inst.params[name];
      if (d.type === 'string' && d.input && typeof v === 'string' && v !== '') {
        out.push({ path: resolve(dir, v), what: `the input "${v}" of stage "${inst.id}" (its param ${name})`, stage: inst.id });
      }
    }
    for (const d of inst.run?.deps ?? []) out.push({ path: resolve(dir, d), what: `"${d}", a dependency of stage "${inst.id}"`, containOnly: true, stage: inst.id });
  }
  return out;
}

/** What an executing `run:` stage can still see of these (its SpecView), also through symbolic
 * links: checked again just before its outs are deleted. */
export function viewInputs(view: SpecView): ProtectedInput[] {
  const list: ProtectedInput[] = [{ path: join(view.projectDir, '.git'), what: ".git (the project's git repository)" }];
  for (const m of view.models) if (m.path) list.push({ path: m.path, what: `the model folder of "${m.name}"` });
  for (const t of view.tasks) if (t.stimuli?.path) list.push({ path: t.stimuli.path, what: `the stimuli of task ${t.name}` });
  if (view.modelsDir) list.push({ path: view.modelsDir, what: 'the model mirror (--models-dir)' });
  if (view.stimuliDir) list.push({ path: view.stimuliDir, what: 'the stimuli mirror (--stimuli-dir)' });
  return list.flatMap((i) => [i, ...(existsSync(i.path) && realpathSync(i.path) !== i.path ? [{ ...i, path: realpathSync(i.path) }] : [])]);
}
