// The analysis domains as the analysis code reads them: a view of the registry's DomainDef
// (src/tasks/registry.ts) with the method ids, the metric and the domain's tasks resolved.

import { domainDefs, getDomain, tasksOfDomain } from '../tasks/registry.js';
import type { DomainDef as Definition } from '../tasks/task-def.js';

/** A domain's name: the paper's digit_mat, crt, lambada, syntax, or one a pipeline declares. */
export type Domain = string;

/** The built-in and registered domains' names, in registry order. */
export function domainNames(): Domain[] {
  return domainDefs().map((d) => d.name);
}

/** The paper's four domains (and any a pipeline registered), in order. */
export const DOMAINS: readonly Domain[] = new Proxy([] as Domain[], {
  get(_t, prop) {
    const names = domainNames();
    const v = (names as unknown as Record<string | symbol, unknown>)[prop];
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(names) : v;
  },
});

export interface DomainView extends Omit<Definition, 'methods'> {
  domain: Domain;
  tasks: string[];
  /** Low-demand method first, then high-demand. */
  methods: [string, string];
  methodDefs: Definition['methods'];
  /** Whether the metric is a proportion correct (log odds) or a mean log-probability. */
  metric: 'correct' | 'logprob';
}

export function domainDef(domain: string): DomainView {
  const d = getDomain(domain);
  if (!d) throw new Error(`unknown analysis domain ${JSON.stringify(domain)}; expected one of ${domainNames().join(', ')}`);
  return {
    ...d,
    domain: d.name,
    tasks: tasksOfDomain(d.name),
    methods: [d.methods[0].id, d.methods[1].id],
    methodDefs: d.methods,
    metric: d.measure === 'accuracy' ? 'correct' : 'logprob',
  };
}

/** The pretty name of a method in a domain (`Forced choice`…). */
export function prettyMethod(def: Pick<DomainView, 'methodDefs'>, method: string): string {
  return def.methodDefs.find((m) => m.id === method)?.pretty ?? method;
}

/** Methods in the order long rows are written: alphabetical, so the reference level comes first. */
export function methodOrder(def: Pick<DomainView, 'methods'>): string[] {
  return [...def.methods].sort();
}

/** The domain a task's scores belong to, if any. */
export function domainOfTask(task: string): Domain | undefined {
  return domainNames().find((d) => tasksOfDomain(d).includes(task));
}

/** The regression's reference level: the alphabetically first method (as R orders factor levels). */
export function referenceMethod(def: Pick<DomainView, 'methods'>): string {
  return methodOrder(def)[0]!;
}

/** File names (without .csv/.txt) of the tables aggregate writes for a domain. */
export function aggregateTableNames(domain: Domain, withTrainingTime: boolean): string[] {
  const def = domainDef(domain);
  const names = [`${domain}_wide_size`, `${domain}_long_size`, def.metric === 'correct' ? `${domain}_log_odds_diff` : `${domain}_logprob_diff`];
  if (def.trainingTime && withTrainingTime) {
    names.push(`${domain}_wide_training_time`, `${domain}_long_training_time`, `${domain}_regression_training_time`);
  }
  return names;
}
