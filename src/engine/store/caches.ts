// The store's caches part: what is kept only to save work or to answer offline. Losing any of it
// costs time, never a result. The compiled-spec cache and the code-digest cache (compiled/), the
// last resolution of each revision selection (refs/), and the folders stage kinds keep across
// runs (StageContext.cacheDir: caches/<kind>/<name>/; the score kind's request cache stays at
// requests/, where existing stores have it).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonSync, writeFileAtomic } from './fs-util.js';

/** Kind caches kept where they were before caches/ existed (existing stores stay valid; gc knows them). */
const LEGACY: Record<string, string> = { 'score/requests': 'requests' };
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const KIND = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class Caches {
  readonly compiledDir: string;
  readonly refsDir: string;

  constructor(readonly root: string) {
    this.compiledDir = join(root, 'compiled');
    this.refsDir = join(root, 'refs');
  }

  /** A compiled pipeline file (compiled.ts decides the key and what is in it). */
  readCompiled<T>(key: string): T | undefined {
    return readJsonSync<T>(join(this.compiledDir, `${key}.json`));
  }

  async writeCompiled(key: string, data: unknown): Promise<void> {
    await writeFileAtomic(join(this.compiledDir, `${key}.json`), JSON.stringify(data));
  }

  /** Where code-digest.ts keeps its per-file digests between processes. */
  get codeDigestFile(): string {
    return join(this.compiledDir, 'code-files.json');
  }

  /** The last resolution of a revision selection (revisions.ts), for an offline run. */
  readRefs(key: string): unknown {
    return readJsonSync<unknown>(join(this.refsDir, `${key}.json`));
  }

  async writeRefs(key: string, names: string[]): Promise<void> {
    await writeFileAtomic(join(this.refsDir, `${key}.json`), JSON.stringify(names));
  }

  /** A stage kind's named folder kept across runs (created here). The kind owns what is in it. */
  kindCacheDir(kind: string, name: string): string {
    if (!NAME.test(name)) throw new Error(`stage kind ${kind}: cache name "${name}" is not a plain name (lower-case letters, digits, - and _)`);
    if (!KIND.test(kind)) throw new Error(`stage kind "${kind}" cannot keep a cache: its name is not a plain name`);
    const dir = join(this.root, LEGACY[`${kind}/${name}`] ?? join('caches', kind, name));
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}
