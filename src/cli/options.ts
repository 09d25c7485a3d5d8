// What every verb module shares: the global options, their parsing into EngineOptions, the usage
// error and the exit codes. Its own module so that verb modules never import main.ts (which
// imports them): the CLI's import graph has no cycle (test/cli/import-cycles.test.ts).
import { resolve } from 'node:path';
import { parseSize } from '../engine/spec-types.js';
import type { EngineOptions } from '../engine/engine.js';

/** Documented exit codes (README "Exit codes"). */
export const EXIT = { ok: 0, failed: 1, usage: 2, corrupt: 3, interrupted: 130 } as const;

export interface GlobalOpts {
  file: string;
  set: string[];
  modelsDir?: string;
  stimuliDir?: string;
  offline?: boolean;
  store?: string;
  cpus?: string;
  gpus?: string;
  memory?: string;
  maxStages?: string;
  json?: boolean;
}

/** Bad usage of the command line: said as `error: …`, exit 2. */
export class UsageError extends Error {}

export function engineOptions(g: GlobalOpts): EngineOptions {
  const overrides: Record<string, string> = {};
  for (const kv of g.set) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--set expects name=value, got "${kv}"`);
    overrides[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const opts: EngineOptions = { file: resolve(g.file), overrides, offline: !!g.offline };
  if (g.modelsDir) opts.modelsDir = g.modelsDir;
  if (g.stimuliDir) opts.stimuliDir = g.stimuliDir;
  if (g.store) opts.storeDir = resolve(g.store);
  const pools: NonNullable<EngineOptions['pools']> = {};
  if (g.cpus) pools.cpu = positiveInt(g.cpus, '--cpus');
  if (g.gpus !== undefined) pools.gpu = g.gpus === '' || g.gpus === 'none' ? [] : g.gpus.split(',').map((s) => s.trim());
  if (g.memory) pools.memory = parseSize(g.memory);
  if (g.maxStages !== undefined) opts.maxStages = positiveInt(g.maxStages, '--max-stages');
  opts.pools = pools;
  return opts;
}

export function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a whole number ≥ 1, got "${v}"`);
  return n;
}

/** Whether the verb asked for JSON (its own --json or the global one). */
export function wantsJson(g: GlobalOpts, f: Record<string, unknown>): boolean {
  return !!(f['json'] || g.json);
}
