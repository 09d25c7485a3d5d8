// The store's caches part: what is kept only to save work or to answer offline. Losing any of it
// costs time, never a result. The compiled-spec cache and the code-digest cache (compiled/), the
// last resolution of each revision selection (refs/), and the folders stage kinds keep across
// runs (StageContext.cacheDir: caches/<kind>/<name>/; the score kind's request cache stays at
// requests/, where existing stores have it).
import { mkdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
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

  /** The entries of a kind's cache folder, with their sizes in bytes (gc), without creating it. */
  async kindCacheEntries(kind: string, name: string): Promise<{ name: string; bytes: number }[]> {
    const dir = this.kindCachePath(kind, name);
    const out: { name: string; bytes: number }[] = [];
    for (const e of (await fs.readdir(dir).catch(() => [] as string[])).sort()) {
      let bytes = 0;
      for (const f of await fs.readdir(join(dir, e), { withFileTypes: true, recursive: true }).catch(() => [])) {
        if (f.isFile()) bytes += (await fs.stat(join(f.parentPath, f.name)).catch(() => ({ size: 0 }))).size;
      }
      out.push({ name: e, bytes });
    }
    return out;
  }

  /** Remove one entry of a kind's cache folder (gc: what no current run uses). */
  async removeKindCacheEntry(kind: string, name: string, entry: string): Promise<void> {
    if (entry.includes('/') || entry === '.' || entry === '..' || entry === '') throw new Error(`cache entry "${entry}" is not a plain name`);
    await fs.rm(join(this.kindCachePath(kind, name), entry), { recursive: true, force: true });
  }

  private kindCachePath(kind: string, name: string): string {
    if (!NAME.test(name)) throw new Error(`stage kind ${kind}: cache name "${name}" is not a plain name (lower-case letters, digits, - and _)`);
    if (!KIND.test(kind)) throw new Error(`stage kind "${kind}" cannot keep a cache: its name is not a plain name`);
    return join(this.root, LEGACY[`${kind}/${name}`] ?? join('caches', kind, name));
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
