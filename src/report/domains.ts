// The report's only view of analysis domains, tasks and methods: one adapter, so the source of
// these definitions (today src/analysis/domains.ts, later the task registry) changes in one place.
import { DOMAINS, domainDef, PRETTY_METHOD } from '../analysis/domains.js';

export interface ReportDomain {
  name: string;
  title: string;
  tasks: string[];
  /** Low-demand method first, then high-demand. */
  methods: [string, string];
  metric: 'correct' | 'logprob';
  trainingTime: boolean;
}

const TITLES: Record<string, string> = {
  digit_mat: 'Analogical reasoning (digit matrices)',
  crt: 'Reflective reasoning (CRT)',
  lambada: 'Word prediction (LAMBADA)',
  syntax: 'Grammaticality judgment (BLiMP + DGL)',
};

export function reportDomains(): ReportDomain[] {
  return DOMAINS.map((d) => {
    const def = domainDef(d);
    return { name: d, title: TITLES[d] ?? d, tasks: [...def.tasks], methods: [def.methods[0], def.methods[1]], metric: def.metric, trainingTime: def.trainingTime };
  });
}

export function domainOf(task: string): ReportDomain | undefined {
  return reportDomains().find((d) => d.tasks.includes(task));
}

export function prettyMethod(method: string): string {
  return PRETTY_METHOD[method] ?? method;
}

/** The score CSV column naming an item (requests.jsonl's `item` holds the same value). */
export function itemColumn(task: string, header: string[]): string {
  const preferred = task === 'digit_mat' ? ['problem_id', 'item_id'] : ['item_id', 'problem_id'];
  return preferred.find((c) => header.includes(c)) ?? header[0] ?? 'item_id';
}
