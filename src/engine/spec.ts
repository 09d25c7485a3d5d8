// pipeline.yaml → a typed Spec. Parsed with `yaml` (keeping positions), validated with ajv against
// schema/pipeline.schema.json, then checked for what a schema cannot say; every problem becomes a
// Diagnostic that names the file, line, column and field in a researcher's words.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sha256 } from './canonical.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ErrorObject } from 'ajv';
import { isAlias, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { didYouMean, PipelineError, showPath, type Diagnostic, type SourceLocator } from './diagnostics.js';
import { SourceMap } from './source-map.js';
import { builtinTaskNames, domainDefs, formMethods, getDomain, getTask, useDeclaredTasks } from '../tasks/registry.js';
import { checkDeclaration, stimuliColumns, type TaskDeclaration } from '../tasks/forms/declaration.js';
import { interpolate, MATRIX_REFS, parseDuration, parseSize, type Duration, type ExecutorSpec, type MatrixValue, type Pools, type Spec, type StageDecl } from './spec-types.js';
export * from './spec-types.js';
import type { ModelSpec, ResourceRequest, TaskSpec } from './kind.js';
import { retainPolicy } from './retain.js';

export interface LoadOptions {
  /** --set name=value */
  overrides?: Record<string, string>;
  /** Kind names known to the registry (built-ins + plugins), for "unknown stage kind". */
  kinds?: readonly string[];
}

let schemaValidator: ReturnType<AjvClass['compile']> | undefined;
let schemaJson: Record<string, unknown> | undefined;

export function schemaPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../schema/pipeline.schema.json');
}

/** The validator: precompiled at build time (scripts/build-validator.js) when it is there, since
 * compiling the schema costs more than the rest of a no-op run. */
function validator(): ReturnType<AjvClass['compile']> {
  if (!schemaValidator) {
    schemaJson = JSON.parse(readFileSync(schemaPath(), 'utf8')) as Record<string, unknown>;
    try {
      const req = createRequire(import.meta.url);
      const pre = req('./schema-validator.cjs') as { default?: ReturnType<AjvClass['compile']>; schemaDigest?: string } & ReturnType<AjvClass['compile']>;
      if (pre.schemaDigest === sha256(readFileSync(schemaPath()))) schemaValidator = pre.default ?? pre;
    } catch {
      /* not built: compile below */
    }
    if (!schemaValidator) {
      const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
      const ajv = new Ajv({ allErrors: true, strict: false });
      schemaValidator = ajv.compile(schemaJson);
    }
  }
  return schemaValidator;
}

/** Read, parse and validate a pipeline file. Throws PipelineError with every problem found. */
export function loadSpec(file: string, opts: LoadOptions = {}): Spec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PipelineError([{ file, line: 1, col: 1, length: 1, message: `cannot read the pipeline file ${file}: no such file (pass -f <file>, or create pipeline.yaml)` }]);
  }
  return parseSpec(text, file, opts);
}

export function parseSpec(text: string, file: string, opts: LoadOptions = {}): Spec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const src = new SourceMap(displayName(file), text, doc, lines);
  if (doc.errors.length > 0) {
    throw new PipelineError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        const source = text.split('\n')[pos.line - 1] ?? '';
        const msg =
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key: ${e.message.replace(/^Map keys must be unique.*/, 'each stage, model field or task may appear once')}`
            : /Maximum call stack/.test(e.message)
              ? 'the pipeline file nests too deeply for the YAML parser; a pipeline needs a few levels'
              : `YAML syntax error: ${e.message.split('\n')[0]}`;
        return { file: src.file, line: pos.line, col: pos.col, length: Math.max(1, e.pos[1] - e.pos[0]), message: msg, source };
      }),
    );
  }
  const data = toJS(doc, text, src.file, lines);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new PipelineError([src.at([], 'the pipeline file must be a mapping with at least `stages:`')]);
  }
  const diags: Diagnostic[] = [];
  checkStageShape(data as Record<string, unknown>, src, diags);
  const validate = validator();
  if (!validate(data)) diags.push(...explainAjv(validate.errors ?? [], data, src));
  if (diags.length) throw new PipelineError(dedupe(diags));
  const spec = build(data as RawSpec, file, src, opts, diags);
  if (diags.length) throw new PipelineError(dedupe(diags));
  return spec;
}

/** Aliased nodes a pipeline file may expand to (yaml's own default, stated: a guard, not a taste). */
export const MAX_ALIAS_COUNT = 100;

/** The document's data; an alias bomb ("billion laughs") is a located error, not an exhausted heap. */
function toJS(doc: Document, text: string, file: string, lines: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e: unknown) {
    if (!(e instanceof ReferenceError) || !/alias/i.test(e.message)) throw e;
    let at = 0;
    visit(doc, {
      Alias(_key, node) {
        if (isAlias(node) && node.range) at = node.range[0];
        return visit.BREAK;
      },
    });
    const pos = lines.linePos(at);
    const d: Diagnostic = {
      file,
      line: pos.line,
      col: pos.col,
      length: 1,
      message: `the pipeline file's YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} aliased nodes: an alias bomb); write the values out, or alias fewer and smaller nodes`,
      source: text.split('\n')[pos.line - 1] ?? '',
    };
    throw new PipelineError([d]);
  }
}

function displayName(file: string): string {
  const rel = file.startsWith(process.cwd() + '/') ? file.slice(process.cwd().length + 1) : file;
  return rel;
}

function dedupe(d: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return d.filter((x) => {
    const k = `${x.line}:${x.col}:${x.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `uses` xor `run` is a oneOf in the schema, whose raw error is unreadable: say it plainly first. */
function checkStageShape(data: Record<string, unknown>, src: SourceMap, diags: Diagnostic[]): void {
  const stages = data['stages'];
  if (!stages || typeof stages !== 'object' || Array.isArray(stages)) return;
  for (const [name, st] of Object.entries(stages as Record<string, unknown>)) {
    if (!st || typeof st !== 'object' || Array.isArray(st)) continue;
    const s = st as Record<string, unknown>;
    if (s['uses'] !== undefined && s['run'] !== undefined) {
      diags.push(src.at(['stages', name], `stage "${name}" has both \`uses:\` and \`run:\`; a stage is either a built-in kind or a shell command`, { key: true }));
    } else if (s['uses'] === undefined && s['run'] === undefined) {
      diags.push(src.at(['stages', name], `stage "${name}" needs \`uses: <kind>\` (a built-in stage kind) or \`run: <command>\``, { key: true }));
    }
  }
}

function schemaAt(path: (string | number)[]): Record<string, unknown> | undefined {
  // Walk the schema along a data path, following $ref and additionalProperties, to list allowed keys.
  let node: Record<string, unknown> | undefined = schemaJson;
  const deref = (n: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
    const ref = n?.['$ref'];
    if (typeof ref === 'string') {
      const key = ref.replace('#/definitions/', '');
      return (schemaJson?.['definitions'] as Record<string, Record<string, unknown>>)[key];
    }
    return n;
  };
  for (const seg of path) {
    node = deref(node);
    if (!node) return undefined;
    const props = node['properties'] as Record<string, Record<string, unknown>> | undefined;
    if (typeof seg === 'number' && node['items']) node = node['items'] as Record<string, unknown>;
    else if (props?.[String(seg)]) node = props[String(seg)]!;
    else if (node['additionalProperties'] && typeof node['additionalProperties'] === 'object') node = node['additionalProperties'] as Record<string, unknown>;
    else return undefined;
  }
  return deref(node);
}

function explainAjv(errors: ErrorObject[], data: unknown, src: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  // oneOf/anyOf wrappers repeat their branches' errors; keep the concrete ones.
  const concrete = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of concrete) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  for (const [ipath, errs] of byPath) {
    const path: (string | number)[] = ipath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const where = path.length ? showPath(path) : 'the top level';
    const value = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], data);
    const addl = errs.filter((e) => e.keyword === 'additionalProperties');
    for (const e of addl) {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((schemaAt(path)?.['properties'] as object | undefined) ?? {});
      out.push(src.at([...path, key], `unknown key "${key}" in ${where}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}`, { key: true }));
    }
    if (addl.length) continue;
    const req = errs.filter((e) => e.keyword === 'required');
    for (const e of req) {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      if (path[0] === 'stages' && path.length === 2 && (missing === 'uses' || missing === 'run')) continue;
      out.push(src.at(path, `${where} is missing the required field "${missing}"`, { key: path.length > 0 }));
    }
    const types = errs.filter((e) => e.keyword === 'type');
    const enums = errs.filter((e) => e.keyword === 'enum' || e.keyword === 'const');
    const isMatrixVar = path[0] === 'stages' && (path[2] === 'matrix' || path[2] === 'foreach') && path.length === 4;
    if (isMatrixVar) {
      out.push(src.at(path, `matrix variable "${String(path[3])}" must be a list of values or one of ${MATRIX_REFS.join(', ')} (got ${JSON.stringify(value)})${typeof value === 'string' ? didYouMean(value, MATRIX_REFS) : ''}`));
      continue;
    }
    if (enums.length) {
      const allowed = enums.flatMap((e) => ((e.params as { allowedValues?: unknown[] }).allowedValues ?? [(e.params as { allowedValue?: unknown }).allowedValue]).map(String));
      const uniq = [...new Set(allowed)];
      if (types.length === 0 || typeof value === 'string') {
        out.push(src.at(path, `${where} must be one of ${uniq.map((a) => JSON.stringify(a)).join(', ')}, not ${JSON.stringify(value)}${typeof value === 'string' ? didYouMean(value, uniq) : ''}`));
        continue;
      }
    }
    if (types.length) {
      const wanted = [...new Set(types.flatMap((e) => String((e.params as { type: string }).type).split(',')))];
      out.push(src.at(path, `${where} must be ${wanted.map(article).join(' or ')}, not ${describe(value)}`));
      continue;
    }
    for (const e of errs) {
      if (['required', 'type', 'enum', 'const', 'additionalProperties'].includes(e.keyword)) continue;
      if (e.keyword === 'minProperties' && path.join('.') === 'stages') out.push(src.at(path, '`stages:` is empty; declare at least one stage', { key: true }));
      else if (e.keyword === 'pattern') out.push(src.at(path, `${where} has an invalid value ${JSON.stringify(value)} (expected ${path.at(-1) === 'sha256' ? '64 lower-case hex digits' : `to match ${String((e.params as { pattern: string }).pattern)}`})`));
      else out.push(src.at(path, `${where} ${e.message ?? 'is invalid'}`));
    }
  }
  return out;
}

function article(t: string): string {
  return t === 'array' ? 'a list' : t === 'object' ? 'a mapping' : t === 'integer' ? 'a whole number' : `a ${t}`;
}

function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

// ---- building the typed spec ---------------------------------------------------------------

interface RawModel {
  id: string;
  name?: string;
  path?: string;
  dtype?: string;
  revisions?: string[] | { glob: string; every?: number; steps?: [number, number] };
  display?: { name?: string; family?: string; params_b?: number; final_step?: number };
  resources?: Record<string, unknown>;
  config?: Record<string, unknown>;
  build?: Record<string, unknown>;
  retain?: { checkpoints?: boolean | string; converted?: boolean | string; window?: number };
}
interface RawSpec {
  vars?: Record<string, string | number | boolean>;
  executor?: string | ExecutorSpec;
  pools?: { cpu?: number; gpu?: (string | number)[]; memory?: string | number; workers?: number };
  timeouts?: Record<string, string | number>;
  plugins?: string[];
  models?: RawModel[];
  tasks?: Record<string, { conditions?: string[]; stimuli?: TaskSpec['stimuli']; params?: Record<string, unknown>; form?: string } & Record<string, unknown>>;
  stages: Record<string, Record<string, unknown>>;
}

function build(raw: RawSpec, file: string, src: SourceMap, opts: LoadOptions, diags: Diagnostic[]): Spec {
  const projectDir = dirname(resolve(file));
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.vars ?? {})) vars[k] = String(v);
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (!(k in vars)) {
      diags.push(src.at(['vars'], `--set ${k}=…: there is no var "${k}" in vars:${didYouMean(k, Object.keys(vars))}; declare it under vars: to make it settable`, { key: true }));
      continue;
    }
    vars[k] = v;
  }
  const interp = (value: unknown, path: (string | number)[]): unknown =>
    interpolate(value, vars, (name) => diags.push(src.at(path, `unknown var \${${name}} in ${showPath(path)}${didYouMean(name, Object.keys(vars))}; declare it under vars:`)));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(projectDir, p));

  const models: ModelSpec[] = [];
  const names = new Map<string, number>();
  (raw.models ?? []).forEach((m, i) => {
    const name = m.name ?? m.id.split('/').pop() ?? m.id;
    if (names.has(name)) diags.push(src.at(['models', i, 'id'], `model "${m.id}" has the same short name "${name}" as models[${names.get(name)}]; give one of them a distinct \`name:\``));
    names.set(name, i);
    const dispName = m.display?.name ?? name;
    const sizeMatch = /(\d+(?:\.\d+)?)\s*([BM])\b/i.exec(dispName);
    const params_b = m.display?.params_b ?? (sizeMatch ? Number(sizeMatch[1]) / (sizeMatch[2]!.toUpperCase() === 'M' ? 1000 : 1) : null);
    const path = m.path === undefined ? undefined : abs(String(interp(m.path, ['models', i, 'path'])));
    const model: ModelSpec = {
      id: m.id,
      name,
      revisions: Array.isArray(m.revisions) ? m.revisions : [],
      display: { name: dispName, family: m.display?.family ?? dispName.split(/\s+/)[0] ?? dispName, params_b },
    };
    if (m.display?.final_step !== undefined) model.display.final_step = m.display.final_step;
    if (path !== undefined) model.path = path;
    if (m.dtype) model.dtype = m.dtype;
    if (m.revisions && !Array.isArray(m.revisions)) model.revisionSelect = m.revisions;
    if (m.resources) model.resources = resourceRequest(m.resources, ['models', i, 'resources'], src, diags);
    if (m.config) model.config = interp(m.config, ['models', i, 'config']) as Record<string, unknown>;
    if (m.build) model.build = interp(m.build, ['models', i, 'build']) as Record<string, unknown>;
    if (m.retain) model.retain = retainPolicy(m.retain);
    models.push(model);
  });

  const tasks: TaskSpec[] = [];
  const builtin = builtinTaskNames();
  for (const [name, t] of Object.entries(raw.tasks ?? {})) {
    const declaring = t?.form !== undefined;
    if (!declaring && !builtin.includes(name) && (raw.plugins ?? []).length === 0) {
      diags.push(src.at(['tasks', name], `unknown task "${name}"${didYouMean(name, builtin)}; the built-in tasks are ${builtin.join(', ')} (or declare one with \`form:\`, docs/tasks.md)`, { key: true }));
    }
    if (declaring && builtin.includes(name)) diags.push(src.at(['tasks', name], `task "${name}" is built in; give the declared task another name`, { key: true }));
    if (declaring && !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) diags.push(src.at(['tasks', name], `task name "${name}": use letters, digits, _ and - (it names folders under output/)`, { key: true }));
    const def = builtin.includes(name) ? getTask(name) : undefined;
    const known = def && def.conditions.length > 0 ? [...def.conditions] : undefined;
    (t?.conditions ?? []).forEach((c, i) => {
      if (known && !known.includes(c)) diags.push(src.at(['tasks', name, 'conditions', i], `unknown ${name} condition "${c}"${didYouMean(c, known)}; ${name} has conditions ${known.join(', ')}`));
      else if (!known && (def || declaring)) diags.push(src.at(['tasks', name, 'conditions', i], `task ${name} has no conditions (tasks with conditions: ${builtin.filter((b) => (getTask(b)?.conditions.length ?? 0) > 0).join(', ')}); remove \`conditions:\``));
    });
    const task: TaskSpec = { name, conditions: t?.conditions ?? (def ? [...def.conditions] : []), params: (interp(t?.params ?? {}, ['tasks', name, 'params']) as Record<string, unknown>) };
    if (t?.stimuli) {
      const s = interp(t.stimuli, ['tasks', name, 'stimuli']) as NonNullable<TaskSpec['stimuli']>;
      if (s.path) s.path = abs(s.path);
      task.stimuli = s;
    }
    if (declaring) {
      const { conditions: _c, stimuli: _s, params: _p, ...decl } = interp(t, ['tasks', name]) as Record<string, unknown>;
      if (!task.stimuli) diags.push(src.at(['tasks', name], `declared task ${name} has no \`stimuli:\` (a path:, or url: + sha256:)`, { key: true }));
      const problems = checkDeclaration(decl, stimuliColumns(task.stimuli?.path));
      for (const p of problems) diags.push(src.at(['tasks', name, ...p.path], `task ${name}: ${p.message}`, p.key ? { key: true } : undefined));
      task.declared = decl as unknown as TaskDeclaration;
    }
    tasks.push(task);
  }
  diags.push(...declaredDomainDiagnostics(tasks, src));
  if (!diags.length) useDeclaredTasks(tasks);

  let executor: ExecutorSpec = { kind: 'local' };
  if (typeof raw.executor === 'string') executor = { kind: raw.executor as 'local' | 'slurm' };
  else if (raw.executor) executor = raw.executor;

  const pools: Partial<Pools> = {};
  if (raw.pools?.cpu !== undefined) pools.cpu = raw.pools.cpu;
  if (raw.pools?.gpu !== undefined) pools.gpu = raw.pools.gpu.map(String);
  if (raw.pools?.workers !== undefined) pools.workers = raw.pools.workers;
  if (raw.pools?.memory !== undefined) {
    try {
      pools.memory = parseSize(raw.pools.memory);
    } catch (e: unknown) {
      diags.push(src.at(['pools', 'memory'], (e as Error).message));
    }
  }

  const stages: StageDecl[] = [];
  for (const [name, st] of Object.entries(raw.stages)) {
    const decl: StageDecl = { name, deps: [], outs: [], needs: (st['needs'] as string[] | undefined) ?? [], params: (st['params'] as Record<string, unknown> | undefined) ?? {} };
    if (typeof st['uses'] === 'string') decl.uses = st['uses'];
    if (typeof st['run'] === 'string') decl.run = st['run'];
    if (Array.isArray(st['deps'])) decl.deps = st['deps'] as string[];
    if (Array.isArray(st['outs'])) decl.outs = st['outs'] as string[];
    if ((decl.deps.length || decl.outs.length) && decl.uses) diags.push(src.at(['stages', name, decl.deps.length ? 'deps' : 'outs'], `\`deps:\`/\`outs:\` belong to \`run:\` stages; a \`uses: ${decl.uses}\` stage declares its outputs itself`, { key: true }));
    if (decl.run && decl.outs.length === 0) diags.push(src.at(['stages', name, 'run'], `run stage "${name}" declares no \`outs:\`; list the files it writes so they can be cached (or it would re-run every time)`, { key: true }));
    if (typeof st['id'] === 'string') decl.idTemplate = st['id'];
    if (st['timeout'] !== undefined) {
      try {
        decl.timeout = parseDuration(st['timeout'] as string | number);
      } catch (e: unknown) {
        diags.push(src.at(['stages', name, 'timeout'], `stages.${name}.timeout: ${(e as Error).message}`));
      }
    }
    if (st['resources']) decl.resources = resourceRequest(st['resources'] as Record<string, unknown>, ['stages', name, 'resources'], src, diags);
    if (st['matrix'] !== undefined && st['foreach'] !== undefined) diags.push(src.at(['stages', name, 'foreach'], `stage "${name}" has both \`matrix:\` and \`foreach:\` (the same thing); keep one`, { key: true }));
    const matrix = (st['matrix'] ?? st['foreach']) as Record<string, unknown> | undefined;
    if (matrix) {
      const { include, exclude, ...rest } = matrix;
      decl.matrix = { vars: rest as Record<string, MatrixValue>, include: (include as Record<string, unknown>[] | undefined) ?? [], exclude: (exclude as Record<string, unknown>[] | undefined) ?? [] };
    }
    stages.push(decl);
  }
  const timeouts: Record<string, Duration> = {};
  for (const [kind, d] of Object.entries(raw.timeouts ?? {})) {
    try {
      timeouts[kind] = parseDuration(d);
    } catch (e: unknown) {
      diags.push(src.at(['timeouts', kind], `timeouts.${kind}: ${(e as Error).message}`));
    }
  }
  const plugins = (raw.plugins ?? []).map((p, i) => abs(String(interp(p, ['plugins', i]))));
  plugins.forEach((p, i) => {
    if (!existsSync(p)) diags.push(src.at(['plugins', i], `plugin ${p} does not exist (plugin paths are relative to the pipeline file's folder)`));
  });
  if (opts.kinds) diags.push(...kindDiagnostics(stages, src, opts.kinds));
  const spec: Spec = { file: resolve(file), projectDir, vars, executor, pools, plugins, models, tasks, stages, source: src };
  if (Object.keys(timeouts).length) spec.timeouts = timeouts;
  return spec;
}

/**
 * Register the pipeline's plugins; a module that cannot be imported (it throws, or exports no
 * StageKind) is a located error at its `plugins:` entry.
 */
export async function registerPlugins(spec: Spec, registry: { addPlugins(paths: string[]): Promise<string[]> }): Promise<void> {
  const diags: Diagnostic[] = [];
  for (const [i, p] of spec.plugins.entries()) {
    try {
      await registry.addPlugins([p]);
    } catch (e: unknown) {
      diags.push(spec.source.at(['plugins', i], `plugin ${p}: ${(e as Error).message.replace(/^cannot load stage kind "[^"]*": /, 'cannot be loaded: ')}`));
    }
  }
  if (diags.length) throw new PipelineError(diags);
}

/** `uses:` must name a known kind (built-in or plugin): checked once plugins are registered. */
export function kindDiagnostics(stages: StageDecl[], src: SourceLocator, kinds: readonly string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const decl of stages) {
    if (decl.uses && !kinds.includes(decl.uses)) {
      out.push(src.at(['stages', decl.name, 'uses'], `unknown stage kind "${decl.uses}"${didYouMean(decl.uses, kinds)}; built-in kinds: ${kinds.join(', ')} (\`run\` is also written \`run: <command>\` in place of \`uses:\`)`));
    }
  }
  return out;
}

function resourceRequest(r: Record<string, unknown>, path: (string | number)[], src: SourceMap, diags: Diagnostic[]): ResourceRequest {
  const out: ResourceRequest = {};
  if (typeof r['cpu'] === 'number') out.cpu = r['cpu'];
  if (typeof r['gpu'] === 'number') out.gpu = r['gpu'];
  if (r['memory'] !== undefined) {
    try {
      out.memory = parseSize(r['memory'] as string | number);
    } catch (e: unknown) {
      diags.push(src.at([...path, 'memory'], (e as Error).message));
    }
  }
  return out;
}


/**
 * A declared task's `domain:` names an existing domain whose methods its form measures, or a domain
 * one declared task of this file creates (`domain: { name, title }`); one new domain, one form.
 */
function declaredDomainDiagnostics(tasks: TaskSpec[], src: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const created = new Map<string, string>();
  for (const t of tasks) {
    const d = t.declared?.domain;
    if (d && typeof d === 'object') created.set(d.name, t.declared!.form);
  }
  for (const t of tasks) {
    const decl = t.declared;
    if (!decl) continue;
    const d = decl.domain;
    const name = d === undefined ? t.name : typeof d === 'string' ? d : d.name;
    const existing = getDomain(name);
    const at = ['tasks', t.name, 'domain'];
    if (existing && !existing.declared) {
      if (typeof d === 'object') out.push(src.at(at, `domain "${name}" exists already; join it with \`domain: ${name}\`, or name the new domain otherwise`));
      const want = formMethods(decl.form);
      const have = existing.methods.map((m) => m.id);
      if (want.join() !== have.join()) out.push(src.at(at, `task ${t.name}: domain ${name} compares ${have.join(' vs ')}, a ${decl.form} task measures ${want.join(' vs ')}; join a domain of its form or declare a new one (\`domain: { name: …, title: … }\`)`));
      continue;
    }
    if (typeof d === 'string' && !created.has(d)) {
      const known = [...domainDefs().filter((x) => !x.declared).map((x) => x.name), ...created.keys()];
      out.push(src.at(at, `task ${t.name}: unknown domain "${d}"${didYouMean(d, known)}; join one of ${known.join(', ')}, or declare a new one with \`domain: { name: ${d}, title: … }\``));
      continue;
    }
    const form = created.get(name);
    if (form !== undefined && form !== decl.form) out.push(src.at(at, `task ${t.name}: domain ${name} holds ${form} tasks; a ${decl.form} task needs a domain of its own`));
  }
  return out;
}
