// Stage declarations → stage instances. A matrix expands over models × revisions × tasks ×
// conditions (or any list); each instance gets a stable readable id; `needs` links an instance to
// the upstream instances that agree with it on every variable they share.
import { didYouMean, PipelineError, type Diagnostic } from './diagnostics.js';
import { getTask } from '../tasks/registry.js';
import { interpolate, MATRIX_REFS, type Spec, type StageDecl } from './spec-types.js';
import type { ModelSpec, ResourceRequest, TaskSpec, Vars } from './kind.js';
import { describePathProblem, inputProblem, runPathProblems } from './project-paths.js';
import { protectedInputs, type Mirrors } from './input-paths.js';
import { quoteForCommand } from './command-values.js';
import { normalizeParams, paramProblems, type KindParams } from './params.js';
import { join } from 'node:path';

export interface Instance {
  id: string;
  /** Declaration name. */
  name: string;
  /** Stage kind (`run` for shell stages). */
  kind: string;
  vars: Vars;
  params: Record<string, unknown>;
  /** Upstream instance ids. */
  needs: string[];
  resources?: ResourceRequest;
  model?: ModelSpec;
  task?: TaskSpec;
  /** For run stages: the command and its declared files, interpolated. */
  run?: { cmd: string; deps: string[]; outs: string[]; /** Values the command reads from the environment (command-values.ts). */ env?: Record<string, string> };
  decl: StageDecl;
}

type Binding = Record<string, string | string[]>;

/** Variables whose values depend on another variable's value. */
const DEPENDENT: Record<string, string> = { $revisions: 'model', $checkpoints: 'model', $conditions: 'task' };

/**
 * `kinds` gives each kind's declared params: with it, params are checked (located errors) and
 * typed here, before anything runs. Params a task declares (`tasks: x: params:`) reach only the
 * kinds that declare them.
 */
export function expand(spec: Spec, kinds?: KindParams, where: { storeDir?: string; maxStages?: number } & Mirrors = {}): Instance[] {
  refuseOversized(spec, where.maxStages ?? DEFAULT_MAX_STAGES);
  const diags: Diagnostic[] = [];
  const reported = new Set<string>();
  const once = (d: Diagnostic): void => {
    const k = `${d.line}:${d.col}:${d.message}`;
    if (!reported.has(k)) diags.push(d);
    reported.add(k);
  };
  const src = spec.source;
  const modelsByName = new Map(spec.models.map((m) => [m.name, m]));
  const modelsById = new Map(spec.models.map((m) => [m.id, m]));
  const tasksByName = new Map(spec.tasks.map((t) => [t.name, t]));
  const instances: Instance[] = [];
  const byDecl = new Map<string, Instance[]>();
  const declNames = spec.stages.map((s) => s.name);

  for (const decl of spec.stages) {
    const path = ['stages', decl.name];
    const bindings = expandMatrix(decl, spec, diags);
    if (decl.matrix && bindings.length === 0) {
      diags.push(src.at([...path, 'matrix'], `the matrix of stage "${decl.name}" expands to nothing (an empty list, or every combination excluded); check its values and exclude:`, { key: true }));
    }
    const list: Instance[] = [];
    for (const b of bindings) {
      // Normalise model references (hub id → short name) and check they exist.
      const modelVal = b['model'];
      let model: ModelSpec | undefined;
      if (typeof modelVal === 'string') {
        model = modelsByName.get(modelVal) ?? modelsById.get(modelVal);
        if (!model) {
          diags.push(src.at([...path, 'matrix', 'model'], `stage "${decl.name}": unknown model "${modelVal}"${didYouMean(modelVal, [...modelsByName.keys()])}; declare it under models:`));
          continue;
        }
        b['model'] = model.name;
      }
      const taskVal = b['task'];
      const task = typeof taskVal === 'string' ? tasksByName.get(taskVal) : undefined;
      if (typeof taskVal === 'string' && !task) {
        diags.push(src.at([...path, 'matrix', 'task'], `stage "${decl.name}": unknown task "${taskVal}"${didYouMean(taskVal, [...tasksByName.keys()])}; declare it under tasks:`));
        continue;
      }
      for (const t of Array.isArray(taskVal) ? taskVal : []) {
        if (!tasksByName.has(t)) diags.push(src.at([...path, 'matrix'], `stage "${decl.name}": unknown task "${t}"${didYouMean(t, [...tasksByName.keys()])}`, { key: true }));
      }
      const scope: Record<string, unknown> = { ...spec.vars, ...b };
      if (model) Object.assign(scope, { 'model.id': model.id, 'model.name': model.name });
      const onUnknown = (field: string) => (name: string) =>
        diags.push(src.at([...path, field], `unknown var \${${name}} in stage "${decl.name}"${didYouMean(name, Object.keys(scope))}; use a var from vars: or a matrix variable`));
      let params = interpolate({ ...(task?.params ?? {}), ...decl.params }, scope, onUnknown('params')) as Record<string, unknown>;
      const decls = decl.uses ? kinds?.(decl.uses) : undefined;
      if (decls) {
        // A task's params are offered to every stage of the task; each kind takes the ones it declares.
        const own = Object.keys(decl.params);
        const offered = Object.fromEntries(Object.entries(params).filter(([k]) => own.includes(k) || k in decls));
        for (const p of paramProblems(decl.uses!, decls, offered)) {
          const at = own.includes(p.name) ? [...path, 'params', p.name] : ['tasks', task!.name, 'params', p.name];
          once(src.at(at, `stage "${decl.name}": ${p.message}`, { key: p.problem === 'unknown' }));
        }
        params = normalizeParams(decls, offered);
        // A model's build: block holds build-model's params for every build of that model.
        if (decl.uses === 'build-model' && model?.build) {
          const at = ['models', spec.models.indexOf(model), 'build'];
          for (const p of paramProblems(decl.uses, decls, model.build)) once(src.at([...at, p.name], `model "${model.name}" build: ${p.message}`, { key: p.problem === 'unknown' }));
        }
      }
      const condVal = b['condition'];
      const conds = task ? getTask(task.name)?.conditions : undefined;
      const known = conds && conds.length > 0 ? [...conds] : undefined;
      if (known && typeof condVal === 'string' && condVal !== '' && !known.includes(condVal)) {
        once(src.at([...path, 'matrix', 'condition'], `stage "${decl.name}": unknown ${task!.name} condition "${condVal}"${didYouMean(condVal, known)}; ${task!.name} has conditions ${known.join(', ')}`));
        continue;
      }
      const id = instanceId(decl, b, scope, onUnknown('id'));
      const inst: Instance = { id, name: decl.name, kind: decl.uses ?? 'run', vars: b, params, needs: [], decl };
      if (model) inst.model = model;
      if (task) inst.task = task;
      const res = mergeResources(decl.resources, decl.uses === 'score' ? model?.resources : undefined);
      if (res) inst.resources = res;
      if (decl.run !== undefined) {
        // Values reach the command as data (one word each), never as shell syntax.
        const { cmd, env } = quoteForCommand(decl.run, scope, onUnknown('run'));
        inst.run = {
          cmd,
          deps: decl.deps.map((d) => String(interpolate(d, scope, onUnknown('deps')))),
          outs: decl.outs.map((d) => String(interpolate(d, scope, onUnknown('outs')))),
        };
        // Only when some value goes by the environment: other stages' keys stay as they were.
        if (Object.keys(env).length) inst.run.env = env;
        // The command and its files are the run kind's params: they enter the key like any param.
        inst.params = { ...inst.params, ...inst.run };
        const paths = { projectDir: spec.projectDir, pipelineFile: spec.file, storeDir: where.storeDir ?? join(spec.projectDir, 'cache'), checkSymlinks: true };
        for (const p of runPathProblems(inst.run, paths)) diags.push(src.at([...path, p.field, p.index], `stage "${id}": ${p.message}`));
      }
      list.push(inst);
    }
    byDecl.set(decl.name, list);
    instances.push(...list);
  }

  // Duplicate ids.
  const seen = new Map<string, Instance>();
  for (const inst of instances) {
    const prev = seen.get(inst.id);
    if (prev) {
      diags.push(src.at(['stages', inst.name], `duplicate stage id "${inst.id}" (from stages "${prev.name}" and "${inst.name}"); give one of them a distinct \`id:\` template or matrix`, { key: true }));
    }
    seen.set(inst.id, inst);
  }

  // needs → upstream instances agreeing on shared variables (indexed: a paper-sized DAG has
  // thousands of candidate pairs).
  const indexes = new Map<string, Map<string, Instance[]>>();
  const candidates = (need: string, ups: Instance[], down: Vars): Instance[] => {
    const shared = Object.keys(down).filter((k) => ups.every((u) => k in u.vars) && ups.every((u) => !Array.isArray(u.vars[k]))).sort();
    if (shared.length === 0 || shared.some((k) => Array.isArray(down[k]))) return ups;
    const ix = `${need}\u0000${shared.join('\u0000')}`;
    let index = indexes.get(ix);
    if (!index) {
      index = new Map();
      for (const u of ups) {
        const k = shared.map((v) => u.vars[v]).join('\u0000');
        index.set(k, [...(index.get(k) ?? []), u]);
      }
      indexes.set(ix, index);
    }
    return index.get(shared.map((v) => down[v]).join('\u0000')) ?? [];
  };
  // A need may legitimately match nothing for some instances (the crt aggregate reads no sweep
  // scores); it is an error only when it matches nothing for every instance of the declaration.
  const unmatched: { inst: Instance; need: string; i: number; ups: Instance[] }[] = [];
  const satisfied = new Set<string>();
  for (const inst of instances) {
    inst.decl.needs.forEach((need, i) => {
      const ups = byDecl.get(need);
      if (!ups) {
        diags.push(src.at(['stages', inst.name, 'needs', i], `stage "${inst.name}" needs "${need}", which is not a stage${didYouMean(need, declNames)}`));
        return;
      }
      const matched = candidates(need, ups, inst.vars).filter((u) => agrees(inst.vars, u.vars));
      if (matched.length === 0 && ups.length > 0) unmatched.push({ inst, need, i, ups });
      else satisfied.add(`${inst.name}\u0000${need}`);
      const have = new Set(inst.needs);
      for (const u of matched) if (!have.has(u.id)) inst.needs.push(u.id);
    });
  }
  for (const { inst, need, i, ups } of unmatched) {
    if (satisfied.has(`${inst.name}\u0000${need}`)) continue;
    satisfied.add(`${inst.name}\u0000${need}`);
    diags.push(src.at(['stages', inst.name, 'needs', i], `stage "${inst.id}" needs "${need}", but no instance of "${need}" has the same ${sharedVars(inst.vars, ups[0]!.vars).join(', ') || 'variables'}; check both matrices`));
  }
  // An out over anything the pipeline reads would delete it before the command runs.
  const inputs = protectedInputs(spec, instances, kinds, where);
  for (const inst of instances) {
    inst.run?.outs.forEach((o, i) => {
      const problem = inputProblem(o, spec.projectDir, inputs, inst.id);
      if (problem) once(src.at(['stages', inst.name, 'outs', i], `stage "${inst.id}": ${describePathProblem(problem, 'out', o)}`));
    });
  }
  // run stages: a dep that is another stage's materialised output links the two (as in DVC).
  linkRunDeps(instances);
  if (diags.length) throw new PipelineError(diags);
  return instances;
}

function linkRunDeps(instances: Instance[]): void {
  const producers = new Map<string, string>();
  for (const inst of instances) for (const o of inst.run?.outs ?? []) producers.set(normal(o), inst.id);
  for (const inst of instances) {
    for (const d of inst.run?.deps ?? []) {
      const p = producers.get(normal(d));
      if (p && p !== inst.id && !inst.needs.includes(p)) inst.needs.push(p);
    }
  }
}

/** Materialised outputs of built-in kinds are linked later (they are known only from the kind). */
export function normal(p: string): string {
  return p.replace(/^\.\//, '').replace(/\/+$/, '');
}

function sharedVars(a: Vars, b: Vars): string[] {
  return Object.keys(a).filter((k) => k in b);
}

/** Downstream value v (scalar or list) agrees with upstream u when equal or when the list contains u. */
export function agrees(down: Vars, up: Vars): boolean {
  for (const k of Object.keys(down)) {
    if (!(k in up)) continue;
    const d = down[k]!;
    const u = up[k]!;
    const ds = Array.isArray(d) ? d : [d];
    const us = Array.isArray(u) ? u : [u];
    if (!us.some((x) => ds.includes(x))) return false;
  }
  return true;
}

function mergeResources(a?: ResourceRequest, b?: ResourceRequest): ResourceRequest | undefined {
  if (!a && !b) return undefined;
  return { ...(a ?? {}), ...(b ?? {}) };
}

/** Stage instances a pipeline may expand to unless --max-stages says otherwise. */
export const DEFAULT_MAX_STAGES = 100_000;

/** Counted before anything is expanded: a six-variable matrix of ten values is a million
 * instances, and building them first would exhaust the engine. */
function refuseOversized(spec: Spec, limit: number): void {
  const diags: Diagnostic[] = [];
  const n = (x: number): string => x.toLocaleString('en-US');
  let total = 0;
  for (const decl of spec.stages) {
    const size = matrixSize(decl, spec);
    total += size;
    if (size > limit) {
      diags.push(spec.source.at(['stages', decl.name, 'matrix'], `stage "${decl.name}": its matrix would expand to ${n(size)} instances, more than the limit of ${n(limit)} (--max-stages); split the stage or narrow its lists`, { key: true }));
    }
  }
  if (diags.length === 0 && total > limit) {
    diags.push(spec.source.at(['stages'], `the pipeline's stages would expand to ${n(total)} instances, more than the limit of ${n(limit)} (--max-stages); narrow the matrices, or raise the limit with --max-stages`, { key: true }));
  }
  if (diags.length) throw new PipelineError(diags);
}

/** The number of instances a declaration's matrix makes (before exclude:), by arithmetic. */
export function matrixSize(decl: StageDecl, spec: Spec): number {
  if (!decl.matrix) return 1;
  const entries = Object.entries(decl.matrix.vars);
  const isDependent = (v: unknown): v is string => typeof v === 'string' && v in DEPENDENT;
  const valuesOf = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === '$models' ? spec.models.map((m) => m.name) : v === '$tasks' ? spec.tasks.map((t) => t.name) : []);
  const dependentCount = (ref: string, parent: string): number => {
    if (ref === '$conditions') return Math.max(1, spec.tasks.find((t) => t.name === parent)?.conditions.length ?? 0);
    const m = spec.models.find((x) => x.name === parent || x.id === parent);
    return (m?.revisions.length ?? 0) + (ref === '$revisions' ? 1 : 0);
  };
  let size = entries.length ? 1 : 0;
  for (const [name, value] of entries) {
    if (isDependent(value)) continue;
    const deps = entries.filter(([, v]) => isDependent(v) && DEPENDENT[v as string] === name).map(([, v]) => v as string);
    const values = valuesOf(value);
    size *= deps.length === 0 ? values.length || (Array.isArray(value) ? 0 : 1) : values.reduce((sum, v) => sum + deps.reduce((p, d) => p * dependentCount(d, v), 1), 0);
  }
  return size + decl.matrix.include.length;
}

function expandMatrix(decl: StageDecl, spec: Spec, diags: Diagnostic[]): Binding[] {
  if (!decl.matrix) return [{}];
  const src = spec.source;
  const path = ['stages', decl.name, 'matrix'];
  const entries = Object.entries(decl.matrix.vars);
  // Independent variables first, then those whose values depend on another (revision on model).
  const order = [...entries].sort(([, a], [, b]) => Number(typeof a === 'string' && a in DEPENDENT) - Number(typeof b === 'string' && b in DEPENDENT));
  let combos: Binding[] = entries.length ? [{}] : [];
  for (const [name, value] of order) {
    const next: Binding[] = [];
    for (const c of combos) {
      const values = matrixValues(name, value, c, spec, (msg) => diags.push(src.at([...path, name], msg)));
      for (const v of values) next.push({ ...c, [name]: v });
    }
    combos = next;
  }
  // Keep declared order of variables in each binding (ids follow it).
  combos = combos.map((c) => Object.fromEntries(entries.map(([k]) => [k, c[k]!])));
  for (const inc of decl.matrix.include) {
    const b: Binding = {};
    for (const [k, v] of Object.entries(inc)) b[k] = Array.isArray(v) ? v.map(String) : String(v);
    combos.push(b);
  }
  return combos.filter((c) => !decl.matrix!.exclude.some((ex) => Object.entries(ex).every(([k, v]) => c[k] === String(v ?? ''))));
}

function matrixValues(name: string, value: unknown, bound: Binding, spec: Spec, error: (m: string) => void): (string | string[])[] {
  if (Array.isArray(value)) return value.map((v) => (Array.isArray(v) ? v.map(String) : String(v)));
  switch (value) {
    case '$models':
      return spec.models.map((m) => m.name);
    case '$tasks':
      return spec.tasks.map((t) => t.name);
    case '$revisions':
    case '$checkpoints': {
      const m = bound['model'];
      const model = typeof m === 'string' ? spec.models.find((x) => x.name === m || x.id === m) : undefined;
      if (!model) {
        error(`matrix variable "${name}: ${value}" needs a \`model:\` variable in the same matrix`);
        return [];
      }
      return value === '$revisions' ? ['', ...model.revisions] : [...model.revisions];
    }
    case '$conditions': {
      const t = bound['task'];
      const task = typeof t === 'string' ? spec.tasks.find((x) => x.name === t) : undefined;
      if (!task) {
        error(`matrix variable "${name}: $conditions" needs a \`task:\` variable in the same matrix`);
        return [];
      }
      return task.conditions.length ? task.conditions : [''];
    }
    default:
      error(`matrix variable "${name}" must be a list or one of ${MATRIX_REFS.join(', ')}`);
      return [];
  }
}

/** `<name>/<v1>/<v2>…` with model@revision, empty values dropped; or the declared `id:` template. */
function instanceId(decl: StageDecl, b: Binding, scope: Record<string, unknown>, onUnknown: (n: string) => void): string {
  const show = (v: string | string[]): string => (Array.isArray(v) ? v.join('+') : v);
  let id: string;
  if (decl.idTemplate) {
    id = String(interpolate(decl.idTemplate, { ...scope, ...Object.fromEntries(Object.entries(b).map(([k, v]) => [k, show(v)])) }, onUnknown));
  } else {
    const parts = [decl.name];
    for (const [k, v] of Object.entries(b)) {
      if (k === 'revision') continue;
      let s = show(v);
      if (k === 'model' && b['revision']) s += `@${show(b['revision'])}`;
      parts.push(s);
    }
    if (!('model' in b) && b['revision']) parts.push(`@${show(b['revision'])}`);
    id = parts.join('/');
  }
  return id.replace(/\/{2,}/g, '/').replace(/@(?=\/|$)/g, '').replace(/\/+$/, '');
}
