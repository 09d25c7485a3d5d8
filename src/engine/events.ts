// What the engine tells the world. The engine never prints: reporters (listr2, plain lines, JSON
// lines) turn these events into output (STYLE.md: a thin CLI over an engine that cannot print).

export interface RunSummary {
  selected: number;
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
  interrupted: boolean;
  durationMs: number;
  /** (model, revision) → number of times a worker loaded it in this run. */
  modelLoads: Record<string, number>;
  /** Materialised files that had been edited by hand and were restored (the edit kept beside). */
  restored: string[];
  failures: { id: string; message: string }[];
  /** Where the selected stages' results are: the project folder and the top-level folders written. */
  results: { projectDir: string; folders: string[] };
  /** Peak concurrent use of each pool. */
  peak: { cpu: number; gpu: number; memory: number; stages: number };
}

export type EngineEvent =
  | { type: 'plan'; selected: number; dryRun: boolean }
  | { type: 'stage-start'; id: string; kind: string; reasons: string[]; gpus: string[] }
  | { type: 'stage-cached'; id: string }
  | { type: 'stage-done'; id: string; kind: string; durationMs: number; key: string }
  | { type: 'stage-failed'; id: string; message: string; reason: string }
  | { type: 'stage-skipped'; id: string; because: string }
  | { type: 'stage-would-run'; id: string; reasons: string[] }
  | { type: 'stage-log'; id: string; line: string }
  | { type: 'warning'; id?: string; message: string }
  | { type: 'run-done'; summary: RunSummary };

export type Reporter = (e: EngineEvent) => void;
