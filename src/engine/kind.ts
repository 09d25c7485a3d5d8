// The contract every stage kind (stages/*.ts) implements. A kind is thin: it wires the engine's
// inputs and params to the libraries in src/ (tasks, lm, analysis, fetch) and writes its outputs
// into a staging folder; the engine hashes, stores and materialises them.

import type { TaskDeclaration } from '../tasks/forms/declaration.js';
import type { ParamDecls } from './params.js';
export type { ParamDecl, ParamDecls, ParamValues } from './params.js';

export type Scalar = string | number | boolean | null;
import type { RetainPolicy } from './retain.js';

export type Vars = Record<string, string | string[]>;

/** A model declared in pipeline.yaml (`models:`). */
export interface ModelSpec {
  /** Hub id (`EleutherAI/pythia-1b-deduped`) or a plain name for a local model. */
  id: string;
  /** Short name used in stage ids and output file names (`pythia-1b-deduped`): the last part of `id` unless given. */
  name: string;
  /** An explicit local folder in the transformers.js layout (takes precedence over mirrors and the hub). */
  path?: string;
  /** Revisions to sweep (branch, tag, commit or step name); '' is the final weights. */
  revisions: string[];
  /** Selection of revisions from the hub's refs, resolved at plan time. */
  revisionSelect?: { glob: string; every?: number; steps?: [number, number] };
  dtype?: string;
  /** `final_step`: the training step of the final weights (training-time tables; docs/analysis.md). */
  display: { name: string; family: string; params_b: number | null; final_step?: number };
  /** Resources a score stage of this model takes (e.g. { gpu: 4 }); merged over the stage's. */
  resources?: ResourceRequest;
  /** Extra per-model flags written into its configs (e.g. half precision, multi-GPU). */
  config?: Record<string, unknown>;
  /** How the tiny built-in model is made, when this model is generated rather than fetched. */
  build?: Record<string, unknown>;
  /** What of a revision sweep leaves the store, and when (retain.ts); absent: everything is kept. */
  retain?: RetainPolicy;
}

/** A task declared in pipeline.yaml (`tasks:`). */
export interface TaskSpec {
  name: string;
  /** crt: crt1, crt2, crt3; [] for tasks without conditions. */
  conditions: string[];
  /** Stimuli source: url + sha256, or a path; a mirror folder (--stimuli-dir) may stand in. */
  stimuli?: { url?: string; sha256?: string; path?: string; file?: string; dataset?: { id: string; file: string; revision?: string } };
  params: Record<string, unknown>;
  /** A task declared with `form:` (no code): its declaration, part of the keys of the stages that read it. */
  declared?: TaskDeclaration;
}

export interface ResourceRequest {
  cpu?: number;
  gpu?: number;
  /** Bytes. */
  memory?: number;
}

export interface OutputDecl {
  /** Name of the output inside the stage (`csv`, `requests`, `model`, ...). */
  name: string;
  type: 'file' | 'dir';
  /** Working-tree path the output is copied to after it is stored (relative to the project), if any. */
  materialize?: string;
}

/** What a stage sees of one of its upstream stages. */
export interface StageInput {
  stageId: string;
  kind: string;
  /** Name of the stage declaration the upstream instance came from. */
  name: string;
  vars: Vars;
  outputs: Record<string, OutputRef>;
  /** The upstream run record's `info` (e.g. fetch-model's resolved commit). */
  info: Record<string, unknown>;
}

export interface OutputRef {
  digest: string;
  type: 'file' | 'dir';
  /** Absolute path to read: the stored file, or a read-only checked-out folder. */
  path: string;
  /** Working-tree path it was materialised to, if any. */
  materialized?: string;
}

export interface StageInstanceView {
  id: string;
  kind: string;
  name: string;
  vars: Vars;
  params: Record<string, unknown>;
}

/** The project-level declarations a kind may read (display metadata, task conditions, mirrors). */
export interface SpecView {
  projectDir: string;
  models: ModelSpec[];
  tasks: TaskSpec[];
  vars: Record<string, string>;
  modelsDir?: string;
  stimuliDir?: string;
  offline: boolean;
}

export interface PlanContext {
  instance: StageInstanceView;
  spec: SpecView;
  model?: ModelSpec;
  task?: TaskSpec;
  /** Digest of a file or folder through the store's stat cache (unchanged files are not re-read). */
  digest(path: string): Promise<{ digest: string; type: 'file' | 'dir' }>;
}

export interface StageContext extends PlanContext {
  inputs: StageInput[];
  /** Result of the kind's plan() for this instance (already in the key). */
  planned: Record<string, unknown>;
  /** Staging folder: write each declared output to join(outDir, output.name). */
  outDir: string;
  /** Or name a file or folder that already holds an output (it is stored from there, not copied first). */
  provide?(name: string, path: string): void;
  /** A scratch folder (created when first asked for) removed after the stage. */
  tmpDir: string;
  /** Device ids granted from the gpu pool ([] on cpu). */
  gpus: string[];
  cpus: number;
  log(message: string): void;
  /** How far the stage's work is (structured: reporters show it, the per-item time limit grows
   * with `total` requests); the engine provides it, a hand-made context may not. */
  progress?(p: StageProgress): void;
  warn(message: string): void;
  /** Extra facts for the run record (counters, generation settings, item failures). */
  record(key: string, value: unknown): void;
  signal: AbortSignal;
  /** The run was told to recompute this stage (`--force`): results cached below the stage level
   * (the score stage's per-request cache) are recomputed, not read. */
  forced?: boolean;
  /** State kept for the life of the executing process (a worker keeps its loaded model here). */
  processCache: Map<string, unknown>;
  /** A folder of this stage kind kept across runs in the store (created when asked for), for
   * results cached below the stage level (the score kind's request cache). The store owns where it
   * is (caches.ts); the kind owns what is in it. `name`: lower-case letters, digits, - and _. */
  cacheDir(name: string): string;
}

/** How far a running stage is: `done` of `total` `unit`s (requests, items, files, …). */
export interface StageProgress {
  done: number;
  total: number;
  unit: string;
}

export interface StageKind {
  name: string;
  /** One line for `pipeline --help` and the schema. */
  description: string;
  /** npm packages whose installed versions change this kind's numbers (enter the key). */
  libraries?: string[];
  /**
   * The params the kind takes (name → type, bounds, default, doc). Checked when the pipeline is
   * expanded: an undeclared name or a refused value is a located error (exit 2) before anything
   * runs. Read them typed with readParams() from src/engine/params.ts. A kind without it (an older
   * plugin, `run:` stages) takes any params unchecked.
   */
  params?: ParamDecls;
  /**
   * The default wall-clock limit of a stage of this kind, derived from its work: `baseMs`, plus
   * `perItemMs` for each item once the stage's progress (ctx.progress, unit `requests`) gives the
   * total. Without it a stage has no limit unless pipeline.yaml (`timeout:`, `timeouts:`) or
   * `--stage-timeout` sets one.
   */
  timeout?: { baseMs: number; perItemMs?: number };
  /** 'worker': run in a long-lived worker process (score); 'inline': in the engine process. */
  isolation: 'inline' | 'worker';
  /** Stages with the same affinity go to the same worker (score: the model instance). */
  affinity?(ctx: PlanContext): string | undefined;
  resources?(ctx: PlanContext): ResourceRequest;
  outputs(ctx: PlanContext): OutputDecl[];
  /** Extra key ingredients known before running: a resolved hub commit, a local folder's digest, display metadata. */
  plan?(ctx: PlanContext): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** What the stage needs of this machine whatever its inputs (R and its packages, the network):
   * throws, with the fix, when it is missing. Asked of a stage that would run (it blocks it, in
   * status, --dry-run and the run alike) and, in status and --dry-run, of one still waiting on an
   * upstream, so a plan never promises what the run cannot do. Cheap and cached. */
  preflight?(ctx: PlanContext): Promise<void>;
  execute(ctx: StageContext): Promise<void>;
}
