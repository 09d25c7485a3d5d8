// The one list of tasks and analysis domains. The paper's five tasks (one module each) and four
// domains are built in; tasks declared in pipeline.yaml (`form:`) and TypeScript TaskDefs from
// plugin files join them per pipeline. Spec validation, the CLI, fetch-stimuli, demo-stimuli,
// build-config, score, aggregate, plot-data and statistics all ask here.
//
// API: taskDefs(), domainDefs(), getTask(name), getDomain(name), tasksOfDomain(name),
// useDeclaredTasks(specTasks) (registers a pipeline's declared tasks and their domains).

import { crtDomain, crtTask } from './crt.js';
import { digitMatDomain, digitMatTask } from './digit-mat.js';
import { blimpTask, dglTask, pairResponses, syntaxDomain } from './grammaticality.js';
import { lambadaDomain, lambadaTask } from './lambada.js';
import { minimalPairsTask } from './forms/minimal-pairs.js';
import { choiceTask } from './forms/choice.js';
import { wordPredictionTask } from './forms/word-prediction.js';
import type { DomainDecl, TaskDeclaration } from './forms/declaration.js';
import { sizeFormula, type DomainDef, type TaskDef } from './task-def.js';

export type { DomainDef, TaskDef } from './task-def.js';

const BUILTIN_TASKS: readonly TaskDef[] = [lambadaTask, digitMatTask, crtTask, blimpTask, dglTask];
const BUILTIN_DOMAINS: readonly DomainDef[] = [digitMatDomain, crtDomain, lambadaDomain, syntaxDomain];

/** Tasks and domains that pipelines added (declared or from plugins), by name. */
const extraTasks = new Map<string, TaskDef>();
const extraDomains = new Map<string, DomainDef>();

export function builtinTaskNames(): string[] {
  return BUILTIN_TASKS.map((t) => t.name);
}

/** Every task: the built-in ones in the paper's order, then those a pipeline added. */
export function taskDefs(): TaskDef[] {
  return [...BUILTIN_TASKS, ...extraTasks.values()];
}

export function domainDefs(): DomainDef[] {
  return [...BUILTIN_DOMAINS, ...extraDomains.values()];
}

export function getTask(name: string): TaskDef | undefined {
  return extraTasks.get(name) ?? BUILTIN_TASKS.find((t) => t.name === name);
}

export function getDomain(name: string): DomainDef | undefined {
  return extraDomains.get(name) ?? BUILTIN_DOMAINS.find((d) => d.name === name);
}

/** The tasks whose scores a domain analyses, in registry order (syntax: blimp, dgl, then declared). */
export function tasksOfDomain(domain: string): string[] {
  return taskDefs().filter((t) => t.domain === domain).map((t) => t.name);
}

/** Add a task defined in TypeScript (a plugin module's `taskDef` export), and its domain if new. */
export function registerTask(def: TaskDef, domain?: DomainDef): void {
  if (BUILTIN_TASKS.some((t) => t.name === def.name)) throw new Error(`task "${def.name}" is built in; give the new task another name`);
  if (domain) registerDomain(domain);
  extraTasks.set(def.name, def);
}

export function registerDomain(def: DomainDef): void {
  if (BUILTIN_DOMAINS.some((d) => d.name === def.name)) throw new Error(`domain "${def.name}" is built in; join it by naming it, or give the new domain another name`);
  extraDomains.set(def.name, def);
}

/** What a declared task contributes, as the spec carries it (TaskSpec.declared). */
export interface DeclaredTask {
  name: string;
  declared?: TaskDeclaration;
}

function domainName(d: TaskDeclaration['domain'], task: string): string {
  if (d === undefined) return task;
  return typeof d === 'string' ? d : d.name;
}

/** The methods each form measures (low demand first): a declared task joins a domain with the same. */
export function formMethods(form: TaskDeclaration['form']): [string, string] {
  return form === 'choice' ? ['mc', 'generated'] : ['direct', 'meta'];
}

function declaredTaskDef(name: string, d: TaskDeclaration, domain: string): TaskDef {
  switch (d.form) {
    case 'minimal-pairs': return minimalPairsTask(name, d, domain);
    case 'choice': return choiceTask(name, d, domain);
    case 'word-prediction': return wordPredictionTask(name, d, domain);
  }
}

/** A new domain for declared tasks of one form, measured as the paper's domain of that form. */
function declaredDomain(decl: DomainDecl, tasks: Array<{ name: string; declared: TaskDeclaration }>): DomainDef {
  const form = tasks[0]!.declared.form;
  const base = { name: decl.name, title: decl.title ?? decl.name, trainingTime: true, leadColumns: [] };
  if (form === 'word-prediction') {
    return {
      ...base,
      methods: [{ id: 'direct', pretty: 'Direct' }, { id: 'meta', pretty: 'Metalinguistic' }],
      measure: 'logprob',
      gap: 'logprob-difference',
      itemColumns: ['dataset', 'item_id', 'prefix', 'final_word'],
      responseColumns: ['logprob'],
      wideColumns: ['dataset', 'logprob_diff'],
      deriveWide(row, _src, ctx) {
        row.dataset = ctx.task;
        const dl = ctx.num('direct_logprob');
        const ml = ctx.num('meta_logprob');
        row.logprob_diff = dl !== null && ml !== null ? dl - ml : null;
      },
      responses: (_row, method, read) => [{ logprob: read.num(`${method}_logprob`) }],
      formula: sizeFormula('logprob'),
    };
  }
  if (form === 'choice') {
    const items = ['dataset'];
    for (const t of tasks) { const c = t.declared.id ?? 'item_id'; if (!items.includes(c)) items.push(c); }
    return {
      ...base,
      methods: [{ id: 'mc', pretty: 'Forced choice' }, { id: 'generated', pretty: 'Production' }],
      measure: 'accuracy',
      gap: 'log-odds-difference',
      itemColumns: items,
      responseColumns: ['response', 'response_correct'],
      wideColumns: ['dataset'],
      annotatedColumn: 'generated_response_label',
      deriveWide(row, src, ctx) {
        row.dataset = ctx.task;
        // The `labels` answer rule: correct when the (hand or naive) label is the correct choice's.
        if ('correct_label' in src) row.generated_response_correct = src.generated_response_label === src.correct_label;
      },
      responses: (row, method, read) => [{ response: row[`${method}_response`] ?? null, response_correct: read.bool(`${method}_response_correct`) }],
      formula: sizeFormula('accuracy'),
    };
  }
  return pairDomain(decl, tasks);
}

/** A new domain for declared minimal-pair tasks: direct vs metalinguistic, accuracy, as syntax. */
function pairDomain(decl: DomainDecl, tasks: Array<{ name: string; declared: TaskDeclaration }>): DomainDef {
  const items = ['dataset'];
  for (const t of tasks) {
    const d = t.declared;
    if (d.form !== 'minimal-pairs') continue;
    for (const c of [d.id ?? 'item_id', d.good, d.bad]) if (!items.includes(c)) items.push(c);
  }
  return {
    name: decl.name,
    title: decl.title ?? decl.name,
    methods: [{ id: 'direct', pretty: 'Direct' }, { id: 'meta', pretty: 'Metalinguistic' }],
    measure: 'accuracy',
    gap: 'log-odds-difference',
    trainingTime: true,
    leadColumns: [],
    itemColumns: items,
    responseColumns: ['response_correct'],
    wideColumns: ['dataset'],
    deriveWide(row, _src, ctx) {
      row.dataset = ctx.task;
    },
    responses: pairResponses,
    formula: sizeFormula('accuracy'),
  };
}

/**
 * Register a pipeline's declared tasks (and the domains they declare), replacing what an earlier
 * pipeline in this process declared. Built-in names are refused by spec validation before this.
 */
export function useDeclaredTasks(tasks: readonly DeclaredTask[]): void {
  for (const [name, def] of extraTasks) if (def.origin === 'declared') extraTasks.delete(name);
  const declared = tasks.filter((t): t is { name: string; declared: TaskDeclaration } => t.declared !== undefined);
  const newDomains = new Map<string, { decl: DomainDecl; tasks: Array<{ name: string; declared: TaskDeclaration }> }>();
  for (const t of declared) {
    const dn = domainName(t.declared.domain, t.name);
    extraTasks.set(t.name, declaredTaskDef(t.name, t.declared, dn));
    if (BUILTIN_DOMAINS.some((d) => d.name === dn)) continue;
    const decl = typeof t.declared.domain === 'object' ? t.declared.domain : { name: dn };
    const entry = newDomains.get(dn) ?? { decl, tasks: [] };
    if (decl.title) entry.decl = decl;
    entry.tasks.push(t);
    newDomains.set(dn, entry);
  }
  for (const [name, d] of extraDomains) if (d.declared) extraDomains.delete(name);
  for (const { decl, tasks: ts } of newDomains.values()) extraDomains.set(decl.name, { ...declaredDomain(decl, ts), declared: true });
}

/**
 * What a stage's key must hold about a domain beyond its code: the declarations of its declared
 * tasks (templates, columns, domain title), so that editing one re-runs exactly what reads it.
 * Empty for the paper's domains, whose definitions are code (in the stages' code digests).
 */
export function domainDeclarations(domain: string, tasks: readonly DeclaredTask[]): Record<string, unknown> {
  const mine = tasks.filter((t) => t.declared && (tasksOfDomain(domain).includes(t.name)));
  return mine.length ? { declared_tasks: Object.fromEntries(mine.map((t) => [t.name, t.declared])) } : {};
}

/** Plugin modules defining a domain's tasks (their digests go into the analysis stages' keys). */
export function domainPluginFiles(domain: string): string[] {
  return taskDefs().filter((t) => t.domain === domain && t.source).map((t) => t.source!);
}

