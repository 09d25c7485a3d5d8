// A stat cache: (path, size, mtime, ctime, inode) → digest, so unchanged large files (model weights,
// stimuli) are never re-hashed. Folders are re-listed every time (a folder's mtime does not change
// when a file deep inside does), but each of their files goes through the cache.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { hashFile, readJson, readJsonSync, writeFileAtomic } from './fs-util.js';

type Entry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, digest: string];

export class StatCache {
  private entries: Map<string, Entry> | undefined;
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly digestTree: (root: string) => Promise<string>,
  ) {}

  /** Synchronous on purpose: concurrent first callers must not each read and parse the file. */
  private load(): Map<string, Entry> {
    if (!this.entries) {
      const data = readJsonSync<Record<string, Entry>>(this.file);
      this.entries = new Map(Object.entries(data ?? {}));
    }
    return this.entries;
  }

  async digest(path: string): Promise<{ digest: string; type: 'file' | 'dir' }> {
    const abs = resolve(path);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new Error(`${path}: no such file or folder`);
    }
    if (st.isDirectory()) return { digest: await this.digestTree(abs), type: 'dir' };
    const entries = this.load();
    const hit = entries.get(abs);
    if (hit && hit[0] === st.size && hit[1] === st.mtimeMs && hit[2] === st.ctimeMs && hit[3] === st.ino) {
      return { digest: hit[4], type: 'file' };
    }
    const digest = await hashFile(abs, st.size);
    entries.set(abs, [st.size, st.mtimeMs, st.ctimeMs, st.ino, digest]);
    this.dirty = true;
    return { digest, type: 'file' };
  }

  /** The cached digest of a file when its stat still matches, without hashing. */
  current(path: string): string | undefined {
    const abs = resolve(path);
    const hit = this.load().get(abs);
    if (!hit) return undefined;
    try {
      const st = statSync(abs);
      return hit[0] === st.size && hit[1] === st.mtimeMs && hit[2] === st.ctimeMs && hit[3] === st.ino ? hit[4] : undefined;
    } catch {
      return undefined;
    }
  }

  /** Record a digest just computed for a file (a large object as it was stored). */
  remember(path: string, digest: string): void {
    const abs = resolve(path);
    try {
      const st = statSync(abs);
      this.load().set(abs, [st.size, st.mtimeMs, st.ctimeMs, st.ino, digest]);
      this.dirty = true;
    } catch {
      /* gone: nothing to remember */
    }
  }

  async flush(): Promise<void> {
    if (!this.dirty || !this.entries) return;
    // Merge with what another process may have written meanwhile: it is a cache, newest wins per path.
    const onDisk = (await readJson<Record<string, Entry>>(this.file)) ?? {};
    for (const [k, v] of this.entries) onDisk[k] = v;
    await writeFileAtomic(this.file, JSON.stringify(onDisk));
    this.dirty = false;
  }
}
