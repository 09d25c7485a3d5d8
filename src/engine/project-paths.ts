// Paths a `run:` stage declares must stay inside the project: the engine deletes a stage's outs
// before its command runs and restores them afterwards, so an out that is the project itself, lies
// outside it, or overlaps an input of any stage (a model's folder, stimuli, annotations, a plugin,
// another stage's dep, its own deps), the pipeline file, .git, the store or a mirror would destroy
// data that no store holds. Checked lexically at expansion (located errors) and again against the real file
// system (symlinks) just before anything is deleted.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export type PathProblem =
  | { reason: 'absolute' }
  | { reason: 'outside-project' }
  | { reason: 'is-project' }
  | { reason: 'escapes-by-symlink'; real: string }
  | { reason: 'contains-dep'; dep: string }
  | { reason: 'contains-pipeline-file' }
  | { reason: 'contains-store'; store: string }
  /** An input of the pipeline (a model's folder, stimuli, a plugin, another stage's source dep…). */
  | { reason: 'contains-input' | 'inside-input'; input: string };

/** True when `inner` is `outer` or lies below it (both absolute, normalised). */
export function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Lexical check of one declared path (no file-system access). */
export function lexicalProblem(p: string, projectDir: string, role: 'out' | 'dep'): PathProblem | undefined {
  if (isAbsolute(p)) return { reason: 'absolute' };
  const abs = resolve(projectDir, p);
  if (!within(abs, projectDir)) return { reason: 'outside-project' };
  if (role === 'out' && abs === resolve(projectDir)) return { reason: 'is-project' };
  return undefined;
}

/** The deepest existing ancestor's real path must stay inside the project's real path. */
export function symlinkProblem(p: string, projectDir: string): PathProblem | undefined {
  let probe = resolve(projectDir, p);
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  let real: string;
  let realProject: string;
  try {
    real = realpathSync(probe);
    realProject = realpathSync(projectDir);
  } catch {
    return undefined;
  }
  return within(real, realProject) ? undefined : { reason: 'escapes-by-symlink', real };
}

/** What an out would swallow: one of the stage's deps, the pipeline file, the store. */
export function containmentProblem(out: string, ctx: { projectDir: string; deps: string[]; pipelineFile: string; storeDir: string }): PathProblem | undefined {
  const abs = resolve(ctx.projectDir, out);
  for (const d of ctx.deps) if (within(resolve(ctx.projectDir, d), abs)) return { reason: 'contains-dep', dep: d };
  if (within(resolve(ctx.pipelineFile), abs)) return { reason: 'contains-pipeline-file' };
  if (within(resolve(ctx.storeDir), abs) || within(abs, resolve(ctx.storeDir))) return { reason: 'contains-store', store: shown(ctx.storeDir, ctx.projectDir) };
  return undefined;
}

/** Something a `run:` stage's outs must leave alone: `what` names it for the message. */
export interface ProtectedInput {
  /** Absolute path. */
  path: string;
  what: string;
  /** Only an out that contains it is refused (another stage's dep: an out inside that dep's folder
   * is that stage's input by declaration, not a file the out would delete). */
  containOnly?: boolean;
  /** The stage it belongs to: a stage's own deps are checked by containmentProblem. */
  stage?: string;
}

/** An out over a protected input, either way round. */
export function inputProblem(out: string, projectDir: string, inputs: readonly ProtectedInput[], stage: string): PathProblem | undefined {
  const abs = resolve(projectDir, out);
  for (const i of inputs) {
    if (i.stage === stage) continue;
    if (within(i.path, abs) && !(i.containOnly && i.path === abs)) return { reason: 'contains-input', input: i.what };
    if (!i.containOnly && within(abs, i.path)) return { reason: 'inside-input', input: i.what };
  }
  return undefined;
}

/** A path for a message: relative to the project when inside it. */
export function shown(p: string, projectDir: string): string {
  const abs = resolve(projectDir, p);
  return within(abs, resolve(projectDir)) ? relative(resolve(projectDir), abs) || '.' : abs;
}

export function describePathProblem(p: PathProblem, role: 'out' | 'dep', path: string): string {
  const what = role === 'out' ? 'output' : 'dependency';
  switch (p.reason) {
    case 'absolute':
      return `${what} "${path}" is an absolute path; declare paths relative to the project folder (the pipeline file's folder)`;
    case 'outside-project':
      return `${what} "${path}" is outside the project folder; the engine only reads and writes inside it — move the file into the project`;
    case 'is-project':
      return `output "${path}" is the project folder itself; the engine deletes a stage's outputs before running it — name the files or a subfolder the command writes`;
    case 'escapes-by-symlink':
      return `${what} "${path}" leads outside the project folder through a symbolic link (to ${p.real}); declare a path inside the project`;
    case 'contains-dep':
      return `output "${path}" contains the stage's own dependency "${p.dep}"; outputs are deleted before the command runs — write the output somewhere else`;
    case 'contains-pipeline-file':
      return `output "${path}" contains the pipeline file; outputs are deleted before the command runs — write the output somewhere else`;
    case 'contains-store':
      return `output "${path}" overlaps the store (${p.store}/); write the output somewhere else`;
    case 'contains-input':
      return `output "${path}" contains ${p.input}; outputs are deleted before the command runs — write the output somewhere else`;
    case 'inside-input':
      return `output "${path}" lies inside ${p.input}; outputs are deleted before the command runs — write the output somewhere else`;
  }
}

/** Every problem of a run stage's declared files, as (field, index, message). */
export function runPathProblems(
  run: { deps: string[]; outs: string[] },
  ctx: { projectDir: string; pipelineFile: string; storeDir: string; checkSymlinks: boolean },
): { field: 'outs' | 'deps'; index: number; message: string }[] {
  const found: { field: 'outs' | 'deps'; index: number; message: string }[] = [];
  const check = (field: 'outs' | 'deps', role: 'out' | 'dep', list: string[]) =>
    list.forEach((p, index) => {
      const problem = lexicalProblem(p, ctx.projectDir, role) ??
        (ctx.checkSymlinks ? symlinkProblem(p, ctx.projectDir) : undefined) ??
        (role === 'out' ? containmentProblem(p, { ...ctx, deps: run.deps }) : undefined);
      if (problem) found.push({ field, index, message: describePathProblem(problem, role, p) });
    });
  check('outs', 'out', run.outs);
  check('deps', 'dep', run.deps);
  return found;
}
