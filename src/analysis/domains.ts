// The four analysis domains: which tasks feed each, and which evaluation method carries low and
// high task demands (TASKS.md, "Analysis").

export type Domain = 'digit_mat' | 'crt' | 'lambada' | 'syntax';

export const DOMAINS: Domain[] = ['digit_mat', 'crt', 'lambada', 'syntax'];

export interface DomainDef {
  domain: Domain;
  tasks: string[];
  /** Low-demand method first, then high-demand. */
  methods: [string, string];
  /** Whether the metric is a proportion correct (log odds) or a mean log-probability (lambada). */
  metric: 'correct' | 'logprob';
  /** Training-time tables and regression exist for this domain. */
  trainingTime: boolean;
}

export const PRETTY_METHOD: Record<string, string> = {
  generated: 'Production',
  mc: 'Forced choice',
  direct: 'Direct',
  meta: 'Metalinguistic',
};

const DEFS: Record<Domain, DomainDef> = {
  digit_mat: { domain: 'digit_mat', tasks: ['digit_mat'], methods: ['mc', 'generated'], metric: 'correct', trainingTime: true },
  crt: { domain: 'crt', tasks: ['crt'], methods: ['mc', 'generated'], metric: 'correct', trainingTime: false },
  lambada: { domain: 'lambada', tasks: ['lambada'], methods: ['direct', 'meta'], metric: 'logprob', trainingTime: true },
  syntax: { domain: 'syntax', tasks: ['blimp', 'dgl'], methods: ['direct', 'meta'], metric: 'correct', trainingTime: false },
};

export function domainDef(domain: string): DomainDef {
  const d = (DEFS as Record<string, DomainDef | undefined>)[domain];
  if (!d) throw new Error(`unknown analysis domain ${JSON.stringify(domain)}; expected one of ${DOMAINS.join(', ')}`);
  return d;
}

/** The domain a task's scores belong to, if any. */
export function domainOfTask(task: string): Domain | undefined {
  return DOMAINS.find((d) => DEFS[d].tasks.includes(task));
}

/** The regression's reference level: the alphabetically first method (as R orders factor levels). */
export function referenceMethod(def: DomainDef): string {
  return [...def.methods].sort()[0]!;
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
