// One entry point for the score stage: run a task over its stimuli with a language model and
// return the paper-format CSV, every request sent, per-item failures, warnings and counters.

import type { LanguageModel } from '../lm/types.js';
import type { TaskArgs, TaskOutput } from './common.js';
import { toCsv } from './csv-write.js';
import { LmSession } from './lm-session.js';
import { getTask, taskDefs } from './registry.js';

/** The task's max_new_tokens (the paper: 10 for digit matrices, 100 otherwise). */
export function defaultMaxNewTokens(task: string): number {
  return getTask(task)?.maxNewTokens ?? 100;
}

export interface RunTaskArgs {
  task: string;
  condition?: string;
  stimuliPath: string;
  lm: LanguageModel;
  /** Hub id for the `model` column. */
  model: string;
  /** '' for the final weights. */
  revision: string;
  limit?: number;
  maxNewTokens: number;
  onProgress?(done: number, total: number, unit?: string): void;
  /** Requests per LM call (default 2048; an item's requests are never split). */
  chunkSize?: number;
}

export interface RunTaskResult {
  header: string[];
  csv: string;
  /** One per LM request, in the order sent: item id, kind, texts, token ids, per-token logprobs. */
  requests: object[];
  failures: { item: string; message: string }[];
  warnings: string[];
  counters: Record<string, number>;
}

export async function runTask(args: RunTaskArgs): Promise<RunTaskResult> {
  const def = getTask(args.task);
  if (!def) throw new Error(`unknown task "${args.task}" (known: ${taskDefs().map((t) => t.name).join(', ')})`);
  const runner = (a: TaskArgs): Promise<TaskOutput> => def.run(a);
  const session = new LmSession(args.lm, { chunkSize: args.chunkSize, onProgress: args.onProgress });
  const zeroBefore = args.lm.stats.zeroTokenContinuations;
  const out = await runner({
    session,
    stimuliPath: args.stimuliPath,
    condition: args.condition,
    limit: args.limit,
    maxNewTokens: args.maxNewTokens,
    model: args.model,
    revision: args.revision,
  });
  const failures = [...session.failures].map(([item, message]) => ({ item, message }));
  const counters: Record<string, number> = {
    items: out.rows.length,
    requests: session.requests.length,
    failed_items: failures.length,
    ...session.counters,
  };
  // The model's own count of zero-token continuations, as a cross-check of the task's count.
  counters.lm_zero_token_continuations = args.lm.stats.zeroTokenContinuations - zeroBefore;
  const warnings = [...session.warnings];
  if (failures.length > 0) {
    warnings.push(`${args.task}${args.condition ? `/${args.condition}` : ''}: ${failures.length} item(s) failed and have empty score cells (first: ${failures[0]!.item}: ${failures[0]!.message})`);
  }
  return { header: out.header, csv: toCsv(out.header, out.rows), requests: session.requests, failures, warnings, counters };
}
