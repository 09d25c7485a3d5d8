// The shapes the report page reads (data/report.js and data/items/<n>.js): plain JSON, built by
// collect.ts and read by assets/report.js. Numbers are the stored ones, never re-rounded here.

export type StageLabel = 'fresh' | 'stale' | 'failed' | 'waiting' | 'blocked';

/** Where one stage's numbers came from. */
export interface StageProvenance {
  id: string;
  kind: string;
  state: StageLabel;
  /** Why it is not fresh (words, from the planner's verdict: the same `status` shows). */
  reasons: string[];
  vars: Record<string, unknown>;
  /** The run that made the current outputs (fresh), or the last successful run (stale: not current). */
  run?: {
    key: string;
    current: boolean;
    startedAt: string;
    durationMs: number;
    host: string;
    executor: string;
    device?: string;
    code: string;
    params: Record<string, unknown>;
    plan: Record<string, unknown>;
    /** Upstream stage id → output name → digest. */
    inputs: Record<string, Record<string, string>>;
    outputs: Record<string, { digest: string; materialize?: string }>;
    /** Why this run happened: what changed since the run before it ("first run" when none). */
    why: string[];
    info: Record<string, unknown>;
  };
  /** Score stages: the model behind the numbers, from the upstream fetch/convert/build stages. */
  model?: ModelLineage;
}

export interface ModelLineage {
  id?: string;
  revision?: string;
  commit?: string | null;
  /** Digest of the checkpoint folder (fetch-model or build-model output). */
  checkpoint?: string;
  checkpointStage?: string;
  /** convert-model: its code digest (the converter) and the converted folder's digest. */
  converterCode?: string;
  converted?: string;
  convertStage?: string;
}

export interface FigureView {
  name: string;
  stage: string;
  spec: Record<string, unknown>;
  rows: Record<string, unknown>[];
  csv?: string;
}

export interface TableRow {
  domain: string;
  /** The series the row comes from (by_method, training_time; by_task: split by the report). */
  figure: string;
  model: string;
  /** '' for the final weights. */
  revision: string;
  task: string;
  method: string;
  methodLabel: string;
  mean: number;
  ciLow: number;
  ciHigh: number;
  n: number;
  /** The stage whose output holds this number (plot-data), and the file. */
  stage: string;
  source: string;
  /** Item sets (indexes into ReportData.itemSets) behind this number. */
  items: number[];
}

export interface DomainView {
  name: string;
  title: string;
  tasks: string[];
  methods: [string, string];
  metric: 'correct' | 'logprob';
  figures: FigureView[];
  table: TableRow[];
  /** Stages of this domain (aggregate, plot-data) that are not fresh: shown as a warning. */
  problems: { id: string; state: StageLabel; reasons: string[] }[];
}

export interface ItemSetIndex {
  index: number;
  stage: string;
  task: string;
  condition: string;
  model: string;
  display: string;
  revision: string;
  domain: string;
  state: StageLabel;
  count: number;
  /** Data files data/items/<index>-<k>.js, k < chunks; `file` is the first ('' when not current). */
  chunks: number;
  file: string;
}

export interface ItemRequest {
  kind: string;
  text: string;
  continuation?: string;
  separator?: string;
  reduction?: string;
  logprob?: number;
  /** [token text, log-probability] pairs (conditional, sequence). */
  tokens?: [string, number][];
  generated?: string;
}

export interface Item {
  id: string;
  condition: string;
  /** Method → the item's value under it (1/0 correct or a log-probability), response and label. */
  methods: Record<string, { value: number | null; response?: string; label?: string }>;
  agree: boolean | null;
  requests: ItemRequest[];
  row: Record<string, string>;
}

export interface ItemSet {
  index: number;
  stage: string;
  columns: string[];
  items: Item[];
}

export interface ReportData {
  generatedAt: string;
  pipeline: string;
  compare?: { revision: string; pairs: { base: number; other: number }[] };
  counts: Record<string, number>;
  domains: DomainView[];
  itemSets: ItemSetIndex[];
  stages: StageProvenance[];
}
