// The typed pipeline declaration and the small pure helpers around it (interpolation, sizes,
// pools). Kept apart from the parser so that a run planned from the compiled-spec cache never
// loads the YAML and JSON Schema libraries.
import { cpus, totalmem } from 'node:os';
import type { SourceLocator } from './diagnostics.js';
import type { ModelSpec, ResourceRequest, TaskSpec } from './kind.js';

export const MATRIX_REFS = ['$models', '$tasks', '$revisions', '$checkpoints', '$conditions'] as const;

export type MatrixValue = string | (string | number | string[])[];

export interface StageDecl {
  name: string;
  uses?: string;
  run?: string;
  deps: string[];
  outs: string[];
  idTemplate?: string;
  needs: string[];
  params: Record<string, unknown>;
  resources?: ResourceRequest;
  /** `timeout:` — the wall-clock limit of each instance. */
  timeout?: Duration;
  matrix?: { vars: Record<string, MatrixValue>; include: Record<string, unknown>[]; exclude: Record<string, unknown>[] };
}

export interface ExecutorSpec {
  kind: 'local' | 'slurm';
  partition?: string;
  account?: string;
  time?: string;
  max_queued?: number;
  retries?: number;
  flags?: string[];
  group_window_ms?: number;
  group_max?: number;
}

export interface Pools {
  cpu: number;
  gpu: string[];
  memory: number;
  workers: number;
}

export interface Spec {
  file: string;
  projectDir: string;
  vars: Record<string, string>;
  executor: ExecutorSpec;
  /** Pools as declared (undefined fields take machine defaults in resolvePools). */
  pools: Partial<Pools>;
  plugins: string[];
  models: ModelSpec[];
  tasks: TaskSpec[];
  stages: StageDecl[];
  /** `timeouts:` — wall-clock limits per stage kind. */
  timeouts?: Record<string, Duration>;
  source: SourceLocator;
}

/** A duration as given (for messages) and in milliseconds. */
export interface Duration {
  text: string;
  ms: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `2h`, `1h30m`, `1500ms`, or a number of seconds. */
export function parseDuration(v: string | number): Duration {
  const text = String(v).trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else if (/^(\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$/.test(text)) {
    ms = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  } else throw new Error(`cannot read the duration "${text}" (use e.g. 90s, 30m, 2h, 1h30m, or a number of seconds)`);
  if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`a duration must be more than 0, got "${text}"`);
  return { text, ms };
}

/** A duration for messages: 1 s, 1.5 s, 30 min, 2 h. */
export function showDuration(ms: number): string {
  const n = (x: number): string => String(Math.round(x * 10) / 10);
  if (ms < 60_000) return `${n(ms / 1000)} s`;
  if (ms < 3_600_000) return `${n(ms / 60_000)} min`;
  return `${n(ms / 3_600_000)} h`;
}

const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;

/** Replace ${name} from vars; a value that is exactly one ${name} keeps the var's type (number, bool). */
export function interpolate(value: unknown, vars: Record<string, unknown>, onUnknown: (name: string) => void): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_.]*)\}$/.exec(value);
    if (whole) {
      const v = vars[whole[1]!];
      if (v === undefined) onUnknown(whole[1]!);
      return typed(v);
    }
    return value.replace(VAR_RE, (_m, name: string) => {
      const v = vars[name];
      if (v === undefined) {
        onUnknown(name);
        return '';
      }
      return Array.isArray(v) ? v.join(',') : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars, onUnknown));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, vars, onUnknown);
    return out;
  }
  return value;
}

function typed(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
}

export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$/i.exec(v);
  if (!m) throw new Error(`cannot read the size "${v}" (use bytes or e.g. 512MiB, 16GiB)`);
  const unit = (m[2] ?? 'B').toUpperCase().replace('IB', '').replace('B', '');
  const mult: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  return Math.round(Number(m[1]) * (mult[unit] ?? 1));
}

/** Pools with machine defaults: cpu = cores, memory = total RAM, gpu = detected devices. */
export function resolvePools(declared: Partial<Pools>, cli: Partial<Pools>, detectedGpus: string[]): Pools {
  const cpu = cli.cpu ?? declared.cpu ?? cpus().length;
  return {
    cpu,
    gpu: cli.gpu ?? declared.gpu ?? detectedGpus,
    memory: cli.memory ?? declared.memory ?? totalmem(),
    workers: cli.workers ?? declared.workers ?? Math.max(1, cpu),
  };
}
