// Stage kinds by name: the built-ins under stages/ and a pipeline's plugins. Kind modules are
// imported on first use; they keep their heavy libraries behind dynamic imports, so planning a
// no-op run never loads the ML stack.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kindCodeDigest } from './code-digest.js';
import type { StageKind } from './kind.js';
import { installedVersion } from '../util/library-version.js';
import { getDomain, registerTask } from '../tasks/registry.js';
import type { DomainDef, TaskDef } from '../tasks/task-def.js';

const STAGES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../stages');

export const BUILTIN_KINDS = ['fetch-model', 'convert-model', 'build-model', 'fetch-stimuli', 'demo-stimuli', 'build-config', 'score', 'import', 'annotations', 'aggregate', 'plot-data', 'statistics', 'report', 'run'] as const;

export class KindRegistry {
  private loaded = new Map<string, Promise<StageKind>>();
  private plugins = new Map<string, string>();
  private codeDigests = new Map<string, string>();

  /** Register plugin modules (paths); returns their kind names. */
  async addPlugins(paths: string[]): Promise<string[]> {
    const names: string[] = [];
    for (const p of paths) {
      // A task plugin (a module exporting `taskDef`) adds a task, not a stage kind.
      if (await registerTaskPlugin(pathToFileURL(p).href, p)) continue;
      const kind = await importKind(pathToFileURL(p).href, p);
      this.plugins.set(kind.name, p);
      this.loaded.set(kind.name, Promise.resolve(kind));
      names.push(kind.name);
    }
    return names;
  }

  names(): string[] {
    return [...BUILTIN_KINDS, ...this.plugins.keys()];
  }

  modulePath(name: string): string {
    return this.plugins.get(name) ?? join(STAGES_DIR, `${name}.js`);
  }

  get(name: string): Promise<StageKind> {
    let k = this.loaded.get(name);
    if (!k) {
      k = importKind(pathToFileURL(this.modulePath(name)).href, name);
      this.loaded.set(name, k);
    }
    return k;
  }

  /** Digest of a kind's implementation: the project files its module reaches by imports (without
   * comments; see code-digest.ts) and the installed versions of the libraries that change its
   * numbers. `kind.code` is no longer read: a hand-kept list missed files and keyed whole folders. */
  async codeDigest(name: string): Promise<string> {
    const hit = this.codeDigests.get(name);
    if (hit) return hit;
    const kind = await this.get(name);
    const libs = Object.fromEntries((kind.libraries ?? []).map((lib) => [lib, installedVersion(lib)]));
    const d = kindCodeDigest(this.modulePath(name), libs).digest;
    this.codeDigests.set(name, d);
    return d;
  }

  /** The project files a kind's key covers (for `inspect` and tests). */
  async codeFiles(name: string): Promise<string[]> {
    await this.get(name);
    return kindCodeDigest(this.modulePath(name), {}).files;
  }
}


/** Register a module's `taskDef` (and `domainDef`) with the task registry; false when it has none. */
async function registerTaskPlugin(url: string, path: string): Promise<boolean> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e: unknown) {
    // Worded as importKind words it: registerPlugins turns it into "cannot be loaded: …".
    throw new Error(`cannot load stage kind "${path}": ${(e as Error).message}`);
  }
  const task = mod['taskDef'] as TaskDef | undefined;
  if (!task) return false;
  if (typeof task !== 'object' || typeof task.name !== 'string' || typeof task.run !== 'function' || typeof task.domain !== 'string') {
    throw new Error(`task plugin ${path}: \`taskDef\` must be a TaskDef (name, domain, run(), …; src/tasks/task-def.ts)`);
  }
  const domain = mod['domainDef'] as DomainDef | undefined;
  registerTask({ ...task, origin: 'plugin', source: path }, domain && !getDomain(domain.name) ? domain : undefined);
  if (!getDomain(task.domain)) throw new Error(`task plugin ${path}: task ${task.name} names domain "${task.domain}", which is neither built in nor exported as \`domainDef\``);
  return true;
}

async function importKind(url: string, label: string): Promise<StageKind> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e: unknown) {
    throw new Error(`cannot load stage kind "${label}": ${(e as Error).message}`);
  }
  const isKind = (v: unknown): v is StageKind => !!v && typeof v === 'object' && typeof (v as StageKind).execute === 'function' && typeof (v as StageKind).outputs === 'function';
  const kind = [mod['default'], mod['kind'], ...Object.values(mod)].find(isKind);
  if (!kind || typeof kind.execute !== 'function' || typeof kind.outputs !== 'function') {
    throw new Error(`stage kind module ${label} must export a StageKind (with name, outputs() and execute()) as \`default\` or \`kind\``);
  }
  return kind;
}
