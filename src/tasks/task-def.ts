// What a task and an analysis domain are, as data. A task (paper task module, declared form or
// plugin) is one TaskDef; the engine's stages, the CLI and the analysis read these and nothing else
// (src/tasks/registry.ts lists them).

import type { TaskArgs, TaskOutput } from './common.js';
import type { Cell, Row } from '../util/row.js';

/** Where a task's stimuli come from by default (fetch-stimuli), unless pipeline.yaml says otherwise. */
export interface StimuliDefault {
  /** File name in the stimuli mirror and under external_stimuli/<task>/ (default: the URL's last part). */
  file?: string;
  /** A pinned URL (sha256 required). */
  url?: string;
  sha256?: string;
  /** A file of a hub dataset repo at a revision. */
  dataset?: { id: string; file: string; revision?: string };
}

export interface TaskDef {
  name: string;
  /** Conditions the task runs under (crt1…); [] when it has none. */
  conditions: readonly string[];
  stimuli: StimuliDefault & {
    /** Columns a CSV stimuli file must have (checked when the task runs). */
    requiredColumns?: readonly string[];
    /** The column naming items (rows are keyed by position when absent). */
    idColumn?: string;
  };
  /** Tokens generated in free production by default (the paper: 10 for digit_mat, 100 otherwise). */
  maxNewTokens: number;
  /** The analysis domain the task's scores belong to. */
  domain: string;
  /** Stimuli → requests (through args.session) → rows with the task's columns. */
  run(args: TaskArgs): Promise<TaskOutput>;
  /**
   * Small invented stimuli for offline demos (demo-stimuli stage), if the task has them: the file
   * name, and the export of src/tasks/demo-stimuli.ts that makes the content. Named, not imported,
   * so that scoring's code key does not reach the demo generators.
   */
  demo?: { file: string; make: DemoMaker };
  /** One line for CLI help. */
  summary: string;
  /** builtin: a paper task module; declared: a `form:` in pipeline.yaml; plugin: a TypeScript file. */
  origin: 'builtin' | 'declared' | 'plugin';
  /** A plugin task's module file (its digest enters the keys of the stages that run it). */
  source?: string;
}

/** The generators of src/tasks/demo-stimuli.ts. */
export type DemoMaker = 'demoBlimpCsv' | 'demoDglCsv' | 'demoCrtCsv' | 'demoLambadaJsonl' | 'demoDigitMatJson';

export interface MethodDef {
  /** Column prefix and eval_method value (`mc`, `generated`, `direct`, `meta`). */
  id: string;
  /** pretty_eval_method (`Forced choice`, `Production`, `Direct`, `Metalinguistic`). */
  pretty: string;
}

/** Extra derived values of a wide row (set on `row`; `src` is the score row). */
export type WideDerive = (row: Row, src: Row, ctx: { task: string; condition: string; num(column: string): number | null }) => void;

/** The response cells of one method for one wide row (more than one: several long rows). */
export type LongResponses = (
  row: Row,
  method: string,
  read: { bool(column: string): boolean | null; num(column: string): number | null },
) => Array<Record<string, Cell>>;

export interface DomainDef {
  name: string;
  /** Figure title. */
  title: string;
  /** Low-demand method first, then high-demand. */
  methods: readonly [MethodDef, MethodDef];
  /** What each method measures: accuracy (proportion correct) or a log-probability. */
  measure: 'accuracy' | 'logprob';
  /** How the gap between the methods is computed per model. */
  gap: 'log-odds-difference' | 'logprob-difference';
  /** Training-time tables, regression and figure exist for this domain. */
  trainingTime: boolean;
  /** Long table: columns before the model columns (crt: condition). */
  leadColumns: readonly string[];
  /** Long table: item columns copied from the wide row after model/family/size. */
  itemColumns: readonly string[];
  /** Long table: the response columns `responses` fills. */
  responseColumns: readonly string[];
  /** Wide table: derived columns appended (after model_family, model_n_params[, training_step]). */
  wideColumns: readonly string[];
  deriveWide?: WideDerive;
  /**
   * Productions labelled by hand: annotation files (annotations stage) replace this column of the
   * score rows before the wide table is built (crt: generated_response_label).
   */
  annotatedColumn?: string;
  /** A score file without that column is unlabelled (label empty, production not correct), as the paper read crt imports. */
  unlabelledWithoutColumn?: boolean;
  /** Score rows the analysis drops (dgl's duplicated items). */
  dropRow?(task: string, src: Row): boolean;
  responses: LongResponses;
  /** Subtitle words after the metric (lambada: " of the final word"). */
  metricNote?: string;
  /** The size mixed model's formula (R, lme4), as summary() prints it. */
  formula: string;
  /** Made from a pipeline's declaration (replaced when another pipeline is read in this process). */
  declared?: boolean;
}

/** The size model formula of a domain measuring accuracy or log-probability (analysis/lmers.R). */
export function sizeFormula(measure: DomainDef['measure']): string {
  const y = measure === 'accuracy' ? 'response_correct' : 'logprob';
  return `${y} ~ model_n_params_log*eval_method + (model_n_params_log*eval_method | model_family)`;
}
