// The report's only view of analysis domains, tasks and methods: the task registry's definitions
// (src/tasks/registry.ts, through src/analysis/domains.ts), so a declared or plugin task appears in
// the report with nothing more written.
import { domainDef, domainNames } from '../analysis/domains.js';
import { getTask, useDeclaredTasks, type DeclaredTask } from '../tasks/registry.js';

export interface ReportDomain {
  name: string;
  title: string;
  tasks: string[];
  /** Low-demand method first, then high-demand. */
  methods: [string, string];
  metric: 'correct' | 'logprob';
  trainingTime: boolean;
}

/** Register the pipeline's declared tasks, so that their domains are reported too. */
export function useReportTasks(tasks: readonly DeclaredTask[]): void {
  useDeclaredTasks(tasks);
}

export function reportDomains(): ReportDomain[] {
  return domainNames().map((d) => {
    const def = domainDef(d);
    return { name: d, title: def.title, tasks: [...def.tasks], methods: [def.methods[0], def.methods[1]], metric: def.metric, trainingTime: def.trainingTime };
  });
}

export function domainOf(task: string): ReportDomain | undefined {
  return reportDomains().find((d) => d.tasks.includes(task));
}

/** A method's pretty name, as its domain defines it. */
export function prettyMethod(method: string): string {
  for (const d of domainNames()) {
    const m = domainDef(d).methodDefs.find((x) => x.id === method);
    if (m) return m.pretty;
  }
  return method;
}

/** The score CSV column naming an item (requests.jsonl's `item` holds the same value). */
export function itemColumn(task: string, header: string[]): string {
  const declared = getTask(task)?.stimuli.idColumn;
  const preferred = [...(declared ? [declared] : []), 'problem_id', 'item_id'];
  return preferred.find((c) => header.includes(c)) ?? header[0] ?? 'item_id';
}
