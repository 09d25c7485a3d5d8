// The content-addressed store under cache/: immutable objects by sha256, folder manifests, read-only
// checked-out trees, run records by key, a stat cache, staging space and locks (DESIGN.md
// "Content addressing"). Every write is staged in tmp/ and renamed into place.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { canonicalJson, sha256 } from '../canonical.js';
import { copyFileFast, ensureDir, exists, listFiles, pidAlive, readJson, uniqueSuffix, writeFileAtomic } from './fs-util.js';
import { StatCache } from './stat-cache.js';
import type { Fingerprint, RunRecord } from './run-record.js';

const SMALL_FILE = 4 * 1024 * 1024;

export interface ManifestEntry {
  path: string;
  size: number;
  /** Only the executable bit is kept: objects are stored read-only, so other mode bits carry no meaning. */
  exec: boolean;
  digest: string;
}

export class Store {
  readonly root: string;
  readonly stat: StatCache;
  private checkedOut = new Map<string, Promise<string>>();

  constructor(root: string) {
    this.root = root;
    this.stat = new StatCache(join(root, 'stat-cache.json'), (p) => this.digestTreeUncached(p));
  }

  dir(name: 'objects' | 'trees' | 'runs' | 'stages' | 'tmp' | 'locks' | 'logs' | 'quarantine' | 'failures' | 'history' | 'invocations'): string {
    return join(this.root, name);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir('tmp'), { recursive: true });
    await this.cleanTmp();
  }

  /** Remove staging left by processes that are gone (a kill -9 mid-stage leaves its staging here). */
  async cleanTmp(): Promise<void> {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(this.dir('tmp'));
    } catch {
      return;
    }
    for (const e of entries) {
      const pid = Number(e.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) {
        await fs.rm(join(this.dir('tmp'), e), { recursive: true, force: true });
      }
    }
  }

  /** A fresh staging folder owned by this process. */
  async makeTmp(label: string): Promise<string> {
    const p = join(this.dir('tmp'), `${uniqueSuffix()}-${label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60)}`);
    await ensureDir(this.dir('tmp'));
    mkdirSync(p);
    return p;
  }

  objectPath(digest: string): string {
    return join(this.dir('objects'), digest.slice(0, 2), digest.slice(2));
  }

  async hasObject(digest: string): Promise<boolean> {
    return exists(this.objectPath(digest));
  }

  /** Store a file: hash while copying into staging, then rename into objects/ (read-only). Small
   * files are read whole: a stream pipeline costs more than the copy for a 1 KB config. */
  async putFile(src: string): Promise<string> {
    const st = statSync(src);
    if (st.size <= SMALL_FILE) return this.putBytes(readFileSync(src));
    const tmp = join(this.dir('tmp'), `${uniqueSuffix()}.obj`);
    await ensureDir(this.dir('tmp'));
    const h = createHash('sha256');
    await pipeline(
      createReadStream(src),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          h.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    const digest = h.digest('hex');
    await this.adopt(tmp, digest);
    return digest;
  }

  async putBytes(data: string | Uint8Array): Promise<string> {
    const digest = sha256(data);
    if (await this.hasObject(digest)) return digest;
    const tmp = join(this.dir('tmp'), `${uniqueSuffix()}.obj`);
    await ensureDir(this.dir('tmp'));
    writeFileSync(tmp, data);
    await this.adopt(tmp, digest);
    return digest;
  }

  private async adopt(tmp: string, digest: string): Promise<void> {
    const dst = this.objectPath(digest);
    if (existsSync(dst)) {
      rmSync(tmp, { force: true });
      return;
    }
    chmodSync(tmp, 0o444);
    await ensureDir(dirname(dst));
    renameSync(tmp, dst);
  }

  /** Store a folder: every file as an object, then its manifest, whose digest is the folder's digest. */
  async putTree(src: string): Promise<string> {
    const files = await listFiles(src);
    const entries: ManifestEntry[] = [];
    for (const rel of files) {
      const p = join(src, rel);
      const st = await fs.stat(p);
      entries.push({ path: rel, size: st.size, exec: (st.mode & 0o111) !== 0, digest: await this.putFile(p) });
    }
    return this.putBytes(manifestBytes(entries));
  }

  async readManifest(digest: string): Promise<ManifestEntry[]> {
    const text = await fs.readFile(this.objectPath(digest), 'utf8');
    return JSON.parse(text) as ManifestEntry[];
  }

  /** A read-only folder with the tree's files (hard links to the objects), for loaders that need paths. */
  checkoutTree(digest: string): Promise<string> {
    let p = this.checkedOut.get(digest);
    if (!p) {
      p = this.checkoutTreeUncached(digest);
      this.checkedOut.set(digest, p);
      p.catch(() => this.checkedOut.delete(digest));
    }
    return p;
  }

  private async checkoutTreeUncached(digest: string): Promise<string> {
    const dst = join(this.dir('trees'), digest);
    if (await exists(join(dst, '.complete'))) return dst;
    const entries = await this.readManifest(digest);
    const tmp = await this.makeTmp('tree');
    for (const e of entries) {
      const to = join(tmp, e.path);
      await fs.mkdir(dirname(to), { recursive: true });
      try {
        await fs.link(this.objectPath(e.digest), to);
      } catch {
        await copyFileFast(this.objectPath(e.digest), to);
      }
    }
    await fs.writeFile(join(tmp, '.complete'), digest);
    await fs.mkdir(this.dir('trees'), { recursive: true });
    await fs.rm(dst, { recursive: true, force: true });
    try {
      await fs.rename(tmp, dst);
    } catch (e: unknown) {
      // Another process checked it out first: theirs is identical.
      if (!(await exists(join(dst, '.complete')))) throw e;
      await fs.rm(tmp, { recursive: true, force: true });
    }
    return dst;
  }

  /** True when the output's object (and for a folder every file object) is present. */
  async hasOutput(digest: string, type: 'file' | 'dir'): Promise<boolean> {
    if (!(await this.hasObject(digest))) return false;
    if (type === 'file') return true;
    try {
      const entries = await this.readManifest(digest);
      for (const e of entries) if (!(await this.hasObject(e.digest))) return false;
      return true;
    } catch {
      return false;
    }
  }

  /** Path to read an output: the object for a file, a checked-out tree for a folder. */
  async outputPath(digest: string, type: 'file' | 'dir'): Promise<string> {
    return type === 'file' ? this.objectPath(digest) : this.checkoutTree(digest);
  }

  /** Digest of a working-tree file or folder, through the stat cache. */
  digestPath(path: string): Promise<{ digest: string; type: 'file' | 'dir' }> {
    return this.stat.digest(path);
  }

  private async digestTreeUncached(root: string): Promise<string> {
    const files = await listFiles(root);
    const entries: ManifestEntry[] = [];
    for (const rel of files) {
      const p = join(root, rel);
      const st = await fs.stat(p);
      entries.push({ path: rel, size: st.size, exec: (st.mode & 0o111) !== 0, digest: (await this.stat.digest(p)).digest });
    }
    return sha256(manifestBytes(entries));
  }

  // ---- run records -------------------------------------------------------------------------

  runPath(key: string): string {
    return join(this.dir('runs'), key.slice(0, 2), `${key}.json`);
  }

  readRun(key: string): Promise<RunRecord | undefined> {
    return readJson<RunRecord>(this.runPath(key));
  }

  /** The fingerprint is kept beside the record, not in it: a fan-in stage's fingerprint names
   * every input, and a no-op run reads every record but needs no fingerprint. */
  fingerprintPath(key: string): string {
    return join(this.dir('runs'), key.slice(0, 2), `${key}.fingerprint.json`);
  }

  readFingerprint(key: string): Promise<Fingerprint | undefined> {
    return readJson<Fingerprint>(this.fingerprintPath(key)).catch(() => undefined);
  }

  /** The commit marker: written last, after every output (and the fingerprint) is stored. */
  async writeRun(record: RunRecord & { fingerprint?: Fingerprint }): Promise<string> {
    const { fingerprint, ...rest } = record;
    // The fingerprint and the stage pointer only explain staleness; they are read tolerantly, so they
    // are written in place. The record is the commit marker: staged and renamed.
    if (fingerprint) {
      await ensureDir(dirname(this.fingerprintPath(record.key)));
      writeFileSync(this.fingerprintPath(record.key), JSON.stringify(fingerprint));
    }
    const p = this.runPath(record.key);
    await writeFileAtomic(p, JSON.stringify(rest, null, 1));
    await ensureDir(this.dir('stages'));
    writeFileSync(this.stagePointer(record.stageId), JSON.stringify({ id: record.stageId, key: record.key }));
    rmSync(this.failurePath(record.stageId), { force: true });
    return p;
  }

  /** Remove a run record (verify does this when an output it names is corrupt). */
  async forgetRun(key: string): Promise<void> {
    await fs.rm(this.runPath(key), { force: true });
    await fs.rm(this.fingerprintPath(key), { force: true });
  }

  private stagePointer(stageId: string): string {
    return join(this.dir('stages'), `${sha256(stageId).slice(0, 32)}.json`);
  }

  /** The key of the last successful run of a stage id, for "why is this stale". */
  async lastKey(stageId: string): Promise<string | undefined> {
    return (await readJson<{ key: string }>(this.stagePointer(stageId)).catch(() => undefined))?.key;
  }

  failurePath(stageId: string): string {
    return join(this.dir('failures'), `${sha256(stageId).slice(0, 32)}.json`);
  }

  async writeFailure(stageId: string, key: string, message: string): Promise<void> {
    await writeFileAtomic(this.failurePath(stageId), JSON.stringify({ id: stageId, key, message, at: new Date().toISOString() }));
  }

  readFailure(stageId: string): Promise<{ key: string; message: string; at: string } | undefined> {
    return readJson(this.failurePath(stageId));
  }

  logPath(key: string): string {
    return join(this.dir('logs'), key.slice(0, 2), `${key}.log`);
  }

  // ---- locks -------------------------------------------------------------------------------

  /** A per-stage lock so two `pipeline run`s never compute the same stage twice: the second waits. */
  async lock(key: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    const p = join(this.dir('locks'), `${key}.lock`);
    await ensureDir(this.dir('locks'));
    for (;;) {
      try {
        const fd = openSync(p, 'wx');
        writeSync(fd, JSON.stringify({ pid: process.pid, at: Date.now() }));
        closeSync(fd);
        return async () => {
          rmSync(p, { force: true });
        };
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readJson<{ pid: number }>(p).catch(() => undefined);
      if (holder && !pidAlive(holder.pid)) {
        // The holder died (kill -9): its staging is discarded, so the lock can be taken over.
        await fs.rm(p, { force: true });
        continue;
      }
      if (signal?.aborted) throw new Error('interrupted while waiting for a stage lock');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await this.stat.flush();
  }
}

export function manifestBytes(entries: ManifestEntry[]): string {
  return canonicalJson([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}

