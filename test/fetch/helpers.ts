// Shared bits of the fetch tests: paths, temp dirs, a fast retry policy, hand-made stage contexts.

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { ModelSpec, PlanContext, SpecView, StageContext, TaskSpec } from '../../src/engine/kind.js';
import { sharedDir } from '../support/fake-hub.js';

export const SHARED = sharedDir();
export const TINY = join(SHARED, 'models', 'tiny-gpt2');
export const STIMULI = join(SHARED, 'data', 'stimuli');
export const FAST_RETRY = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

export function tempDir(t: { after(fn: () => Promise<void> | void): void }, prefix = 'fetch-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Relative path → sha256 of every file under a folder (revisions/ of a root folder left out). */
export function treeHashes(folder: string, root = folder, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(folder, { withFileTypes: true })) {
    const full = join(folder, e.name);
    const rel = relative(root, full).split(sep).join('/');
    if (e.isDirectory()) {
      if (rel !== 'revisions') treeHashes(full, root, out);
    } else out[rel] = createHash('sha256').update(readFileSync(full)).digest('hex');
  }
  return out;
}

/** A stand-in for the store's stat-cached digest: counts its calls. */
export function fakeDigest(): { digest: PlanContext['digest']; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    digest: async (path: string) => {
      calls.push(path);
      if (statSync(path).isDirectory()) {
        const h = treeHashes(path);
        return { digest: createHash('sha256').update(JSON.stringify(h)).digest('hex'), type: 'dir' as const };
      }
      return { digest: createHash('sha256').update(readFileSync(path)).digest('hex'), type: 'file' as const };
    },
  };
}

export function tinyModelSpec(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    id: 'test-org/tiny-gpt2',
    name: 'tiny-gpt2',
    revisions: [''],
    display: { name: 'tiny-gpt2', family: 'test', params_b: 0.003 },
    ...over,
  };
}

export function specView(projectDir: string, over: Partial<SpecView> = {}): SpecView {
  return { projectDir, models: [], tasks: [], vars: {}, offline: false, ...over };
}

export interface ContextParts {
  projectDir: string;
  kind: string;
  vars: Record<string, string>;
  model?: ModelSpec;
  task?: TaskSpec;
  spec?: Partial<SpecView>;
}

export function planContext(p: ContextParts, digest = fakeDigest().digest): PlanContext {
  const id = `${p.kind}:${Object.values(p.vars).join(':')}`;
  return {
    instance: { id, kind: p.kind, name: p.kind, vars: p.vars, params: {} },
    spec: specView(p.projectDir, p.spec),
    model: p.model,
    task: p.task,
    digest,
  };
}

export function stageContext(plan: PlanContext, planned: Record<string, unknown>, outDir: string, tmpDir: string): StageContext & { logs: string[]; records: Record<string, unknown> } {
  const logs: string[] = [];
  const records: Record<string, unknown> = {};
  return {
    ...plan,
    inputs: [],
    planned,
    outDir,
    tmpDir,
    gpus: [],
    cpus: 1,
    log: (m) => logs.push(m),
    warn: (m) => logs.push(`warn: ${m}`),
    record: (k, v) => { records[k] = v; },
    signal: new AbortController().signal,
    processCache: new Map(),
    cacheDir: (name) => join(tmpDir, 'caches', name),
    logs,
    records,
  };
}
