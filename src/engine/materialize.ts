// Materialisation: copies of stored outputs at their declared working-tree paths (output/…,
// configs/…, processed_data/…). They are copies (reflinks where possible), so a user editing one
// never alters the store; an edited copy is reported by `status`, and a run restores the stored
// version after keeping the edit beside it (nothing the user wrote is lost). What was last written
// at each path is remembered, so a copy the engine wrote itself is replaced without fuss.
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunRecord, StoredOutput } from './store/run-record.js';
import type { Store } from './store/store.js';
import { copyFileFast, readJsonSync, writeFileAtomic } from './store/fs-util.js';

export class Materializer {
  private written: Record<string, string> | undefined;
  private dirty = false;

  constructor(
    private readonly store: Store,
    private readonly projectDir: string,
  ) {}

  private get file(): string {
    return join(this.store.root, 'materialized.json');
  }

  private last(rel: string): string | undefined {
    this.written ??= readJsonSync<Record<string, string>>(this.file) ?? {};
    return this.written[rel];
  }

  private remember(rel: string, digest: string): void {
    this.last(rel);
    this.written![rel] = digest;
    this.dirty = true;
  }

  async flush(): Promise<void> {
    if (!this.dirty || !this.written) return;
    const onDisk = readJsonSync<Record<string, string>>(this.file) ?? {};
    await writeFileAtomic(this.file, JSON.stringify({ ...onDisk, ...this.written }));
    this.dirty = false;
  }

  private async current(path: string): Promise<string | undefined> {
    try {
      return (await this.store.digestPath(path)).digest;
    } catch {
      return undefined;
    }
  }

  /** Materialised paths of a record whose working copy exists but differs from the store. */
  async edited(record: RunRecord): Promise<string[]> {
    const out: string[] = [];
    for (const o of Object.values(record.outputs)) {
      if (!o.materialize) continue;
      const d = await this.current(join(this.projectDir, o.materialize));
      if (d !== undefined && d !== o.digest && d !== this.last(o.materialize)) out.push(o.materialize);
    }
    return out;
  }

  /** Make every materialised output of a record match the store. Returns the paths restored over an edit. */
  async ensure(record: RunRecord): Promise<string[]> {
    const restored: string[] = [];
    for (const o of Object.values(record.outputs)) {
      if (!o.materialize) continue;
      const path = join(this.projectDir, o.materialize);
      const d = await this.current(path);
      if (d === o.digest) {
        if (this.last(o.materialize) !== d) this.remember(o.materialize, d);
        continue;
      }
      if (d !== undefined && d !== this.last(o.materialize)) {
        const kept = `${path}.edited-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await fs.rename(path, kept);
        restored.push(`${o.materialize} (your edit kept as ${kept.slice(this.projectDir.length + 1)})`);
      }
      await this.write(o, path);
      this.remember(o.materialize, o.digest);
    }
    return restored;
  }

  private async write(o: StoredOutput, path: string): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await fs.rm(tmp, { recursive: true, force: true });
    if (o.type === 'file') {
      await copyFileFast(this.store.objectPath(o.digest), tmp);
      await fs.chmod(tmp, 0o644);
    } else {
      for (const e of await this.store.readManifest(o.digest)) {
        const to = join(tmp, e.path);
        await fs.mkdir(dirname(to), { recursive: true });
        await copyFileFast(this.store.objectPath(e.digest), to);
        await fs.chmod(to, e.exec ? 0o755 : 0o644);
      }
    }
    await fs.rm(path, { recursive: true, force: true });
    await fs.rename(tmp, path);
  }
}
