// The compiled-spec cache: a pipeline file that validated and expanded before is not parsed again.
// Keyed by the file's text, the --set overrides and the code that parses, expands and links it, the
// stored result lets a no-op run skip the YAML and JSON Schema libraries entirely.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './canonical.js';
import type { Diagnostic, SourceLocator } from './diagnostics.js';
import type { Instance } from './expand.js';
import type { Spec } from './spec-types.js';
import { Caches } from './store/caches.js';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Stored {
  spec: Omit<Spec, 'source'>;
  instances: (Omit<Instance, 'decl' | 'model' | 'task'> & { decl: string; model?: string; task?: string })[];
}

let codeDigest: string | undefined;
/** The parser, the expansion and every built-in kind's outputs decide what is cached here. */
function engineCode(plugins: string[]): string {
  if (!codeDigest) {
    const files = ['spec.js', 'spec-types.js', 'expand.js', 'params.js', 'engine.js', 'compiled.js', 'command-values.js', 'project-paths.js', 'input-paths.js'].map((f) => join(HERE, f));
    const stages = join(HERE, '..', '..', 'stages');
    for (const f of readdirSync(stages).sort()) if (f.endsWith('.js')) files.push(join(stages, f));
    codeDigest = sha256(files.map((f) => sha256(readFileSync(f))).join('\n'));
  }
  return sha256(codeDigest + plugins.map((p) => { try { return sha256(readFileSync(p)); } catch { return 'missing'; } }).join('\n'));
}

export function compiledKey(file: string, text: string, overrides: Record<string, string>, mirrors: string[] = []): string {
  return sha256(JSON.stringify([file, text, Object.entries(overrides).sort(), ...(mirrors.some(Boolean) ? [mirrors] : [])]));
}

export function loadCompiled(storeDir: string, key: string): { spec: Spec; instances: Instance[] } | undefined {
  const stored = new Caches(storeDir).readCompiled<Stored & { code: string }>(key);
  if (!stored || stored.code !== engineCode(stored.spec.plugins)) return undefined;
  const spec: Spec = { ...stored.spec, source: lazySource(stored.spec.file) };
  const decls = new Map(spec.stages.map((d) => [d.name, d]));
  const models = new Map(spec.models.map((m) => [m.name, m]));
  const tasks = new Map(spec.tasks.map((t) => [t.name, t]));
  const instances = stored.instances.map((i) => {
    const inst: Instance = { ...i, decl: decls.get(i.decl)!, model: undefined as never, task: undefined as never };
    delete inst.model;
    delete inst.task;
    if (i.model) inst.model = models.get(i.model)!;
    if (i.task) inst.task = tasks.get(i.task)!;
    return inst;
  });
  return { spec, instances };
}

export async function saveCompiled(storeDir: string, key: string, spec: Spec, instances: Instance[]): Promise<void> {
  const { source: _source, ...rest } = spec;
  const stored: Stored & { code: string } = {
    code: engineCode(spec.plugins),
    spec: rest,
    instances: instances.map(({ decl, model, task, ...i }) => ({ ...i, decl: decl.name, ...(model ? { model: model.name } : {}), ...(task ? { task: task.name } : {}) })),
  };
  await new Caches(storeDir).writeCompiled(key, stored);
}

/** A compiled spec validated already; should a message need a position, it names the file only. */
function lazySource(file: string): SourceLocator {
  return {
    file,
    at: (p, message): Diagnostic => ({ file, line: 1, col: 1, length: 1, message: `${message} (at ${p.join('.')})` }),
  };
}
