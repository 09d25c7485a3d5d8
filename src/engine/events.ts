// What the engine tells the world. The engine never prints: reporters (listr2, plain lines, JSON
// lines) turn these events into output (STYLE.md: a thin CLI over an engine that cannot print).
// Reasons and failures travel as data (planner.ts, failure.ts); only reporters word them.
import type { Failure } from './failure.js';
import type { StaleReason } from './planner.js';

export interface RunSummary {
  selected: number;
  /** Stages that ran (in a dry run: that would run, stale or waiting on one that would). */
  ran: number;
  cached: number;
  failed: number;
  /** Stages that cannot run: their plan failed, or an upstream's did (counted apart from failures). */
  blocked: number;
  skipped: number;
  /** The run was asked to go on after a failure (--keep-going): a dry run's count holds only then
   * when something is blocked. */
  keepGoing: boolean;
  interrupted: boolean;
  durationMs: number;
  /** (model, revision) → number of times a worker loaded it in this run. */
  modelLoads: Record<string, number>;
  /** Materialised files that had been edited by hand and were restored (the edit kept beside);
   * in a dry run, those a run would restore. */
  restored: string[];
  /** Materialised outputs of up-to-date stages that had been deleted and were written again from
   * the store (in a dry run: would be). */
  recreated: string[];
  /** Up-to-date stages whose working copies held another run's results (other settings: `--set
   * limit=20`, then the default) and were switched to this run's cached ones, with what differs. */
  switched: Switched[];
  failures: { id: string; failure: Failure }[];
  /** Blocked stages: the failure, and the blocked upstream it comes from (`by`) when not their own. */
  blockages: { id: string; kind: string; failure: Failure; by?: string }[];
  /** Where the selected stages' results are: the project folder and the top-level folders written. */
  results: { projectDir: string; folders: string[] };
  /** Peak concurrent use of each pool. */
  peak: { cpu: number; gpu: number; memory: number; stages: number };
}

export interface Switched {
  stage: string;
  paths: string[];
  /** What differs between the results the working tree held and these (empty when unknown). */
  reasons: StaleReason[];
}

export type EngineEvent =
  | { type: 'plan'; selected: number; dryRun: boolean }
  | { type: 'stage-start'; id: string; kind: string; reasons: StaleReason[]; gpus: string[] }
  | { type: 'stage-cached'; id: string; edited?: string[] }
  | { type: 'stage-done'; id: string; kind: string; durationMs: number; key: string }
  | { type: 'stage-failed'; id: string; message: string; failure: Failure }
  /** Cannot run now: its own plan failed, or (`by`) an upstream is blocked. */
  | { type: 'stage-blocked'; id: string; kind: string; failure: Failure; by?: string }
  | { type: 'stage-skipped'; id: string; because: string }
  /** Dry run: stale (reasons), or waiting on an upstream that would run first (`waitingOn`). */
  | { type: 'stage-would-run'; id: string; reasons: StaleReason[]; waitingOn?: string }
  | { type: 'stage-log'; id: string; line: string }
  /** How far a running stage is (its kind reports it: the score kind in requests). */
  | { type: 'stage-progress'; id: string; done: number; total: number; unit: string }
  /** Its outputs' large files left the store by the model's retain policy (retain.ts). */
  | { type: 'stage-released'; id: string; bytes: number }
  | { type: 'warning'; id?: string; message: string }
  | { type: 'run-done'; summary: RunSummary };

export type Reporter = (e: EngineEvent) => void;

export function emptySummary(projectDir: string): RunSummary {
  return { selected: 0, ran: 0, cached: 0, failed: 0, blocked: 0, skipped: 0, keepGoing: false, interrupted: false, durationMs: 0, modelLoads: {}, restored: [], recreated: [], switched: [], failures: [], blockages: [], results: { projectDir, folders: [] }, peak: { cpu: 0, gpu: 0, memory: 0, stages: 0 } };
}
