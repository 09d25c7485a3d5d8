// The store's objects part: immutable objects by sha256 (objects/ab/…), folder manifests (an object
// listing a folder's files), read-only checked-out trees of them (trees/<digest>/) and the stat
// cache (stat-cache.json) that spares re-hashing unchanged files (DESIGN.md "Content addressing").
// Every object is staged in the session's tmp/ and renamed into place, read-only.
import { createHash } from 'node:crypto';
import { chmodSync, constants as fsConstants, createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { canonicalJson, sha256 } from '../canonical.js';
import { copyFileFast, ensureDir, exists, hashFile, listFiles, SMALL_FILE, withPath } from './fs-util.js';
import { StatCache } from './stat-cache.js';
import type { Session } from './session.js';

export { SMALL_FILE };

export interface ManifestEntry {
  path: string;
  size: number;
  /** Only the executable bit is kept: objects are stored read-only, so other mode bits carry no meaning. */
  exec: boolean;
  digest: string;
}

export class Objects {
  readonly objectsDir: string;
  readonly treesDir: string;
  readonly stat: StatCache;
  private checkedOut = new Map<string, Promise<string>>();

  constructor(
    readonly root: string,
    private readonly session: Session,
    /** An existing object about to be reused: true when intact; false once a damaged one is
     * quarantined (the integrity part decides), so storing the same bytes again repairs it. */
    private readonly reusable: (digest: string) => Promise<boolean>,
  ) {
    this.objectsDir = join(root, 'objects');
    this.treesDir = join(root, 'trees');
    this.stat = new StatCache(join(root, 'stat-cache.json'), (p) => this.digestTreeUncached(p));
  }

  objectPath(digest: string): string {
    return join(this.objectsDir, digest.slice(0, 2), digest.slice(2));
  }

  async hasObject(digest: string): Promise<boolean> {
    return exists(this.objectPath(digest));
  }

  /** How a large staged file enters objects/ without a copy (tests replace them: a link that
   * fails as across file systems forces the copy). */
  adoptOps: AdoptOps = { ...defaultAdoptOps };
  /** How each large file of the last puts entered the store (moved, linked, cloned, copied): tests and the disk benchmark read it. */
  readonly adopted = { moved: 0, linked: 0, cloned: 0, copied: 0 };

  /** Store a file: hash while copying into staging, then rename into objects/ (read-only). Small
   * files are read whole: a stream pipeline costs more than the copy for a 1 KB config.
   * With `adopt` (a stage's own staging output, never read again once stored), a large file is
   * not copied: one only the staging holds is moved in; one that is read-only and shared (a
   * hub-cache file a fetch linked, which is only ever replaced by rename) is hard-linked, else
   * reflinked; each is hashed where it lands, so the object is verified by its digest. A copy is
   * made only when neither works (another file system). */
  async putFile(src: string, opts: { adopt?: boolean } = {}): Promise<string> {
    const st = statSync(src);
    if (st.size <= SMALL_FILE) return this.putBytes(readFileSync(src));
    const tmp = await this.session.tmpFile('.obj');
    if (opts.adopt) {
      const how = await this.adoptInPlace(src, st, tmp);
      if (how) {
        let digest: string;
        try {
          digest = await hashFile(tmp);
        } catch (e: unknown) {
          rmSync(tmp, { force: true });
          throw withPath(e, src, 'storing');
        }
        this.adopted[how]++;
        await this.adopt(tmp, digest);
        if (await this.hasObject(digest)) this.stat.remember(this.objectPath(digest), digest);
        return digest;
      }
    }
    this.adopted.copied++;
    const h = createHash('sha256');
    try {
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
    } catch (e: unknown) {
      rmSync(tmp, { force: true }); // ENOSPC: nothing partial stays behind
      throw withPath(e, src, 'storing');
    }
    const digest = h.digest('hex');
    await this.adopt(tmp, digest);
    // Large objects are checked on read through the stat cache (checkInputs): remember this one.
    if (await this.hasObject(digest)) this.stat.remember(this.objectPath(digest), digest);
    return digest;
  }

  /** Put a staged file at `tmp` without copying its bytes: how, or undefined when only a copy will do. */
  private async adoptInPlace(src: string, st: { nlink: number; mode: number }, tmp: string): Promise<'moved' | 'linked' | 'cloned' | undefined> {
    const ops = this.adoptOps;
    // Nothing else names it: the staging gives it up.
    if (st.nlink === 1) {
      try {
        await ops.rename(src, tmp);
        return 'moved';
      } catch {
        /* another file system: clone or copy */
      }
    } else if ((st.mode & 0o222) === 0) {
      // Shared and read-only: its other name promises never to write it in place.
      try {
        await ops.link(src, tmp);
        // The staging's name goes now, not after the stat cache has remembered the object: an
        // unlink changes the inode's ctime, and the next check would hash the file again.
        await fs.rm(src, { force: true });
        return 'linked';
      } catch {
        /* another file system, or links refused (fs.protected_hardlinks): clone or copy */
      }
    }
    try {
      await ops.clone(src, tmp);
      return 'cloned';
    } catch {
      rmSync(tmp, { force: true });
      return undefined;
    }
  }

  async putBytes(data: string | Uint8Array): Promise<string> {
    const digest = sha256(data);
    if ((await this.hasObject(digest)) && (await this.reusable(digest))) return digest;
    const tmp = await this.session.tmpFile('.obj');
    try {
      writeFileSync(tmp, data);
    } catch (e: unknown) {
      rmSync(tmp, { force: true });
      throw withPath(e, tmp);
    }
    await this.adopt(tmp, digest);
    return digest;
  }

  private async adopt(tmp: string, digest: string): Promise<void> {
    const dst = this.objectPath(digest);
    if (existsSync(dst) && (await this.reusable(digest))) {
      rmSync(tmp, { force: true });
      return;
    }
    try {
      chmodSync(tmp, 0o444);
    } catch (e: unknown) {
      // A linked file of another owner: it is read-only already (adoptInPlace links no other).
      if ((statSync(tmp).mode & 0o222) !== 0) throw e;
    }
    await ensureDir(dirname(dst));
    renameSync(tmp, dst);
  }

  /** Store a folder: every file as an object, then its manifest, whose digest is the folder's digest. */
  async putTree(src: string, opts: { adopt?: boolean } = {}): Promise<string> {
    // A checked-out tree of this store (a kind passing an input through) is that tree already; its
    // `.complete` marker is the store's, not the stage's.
    const checkedOut = relative(this.treesDir, resolve(src));
    if (/^[0-9a-f]{64}$/.test(checkedOut) && (await exists(join(src, '.complete'))) && (await this.hasOutput(checkedOut, 'dir'))) return checkedOut;
    const files = await listFiles(src);
    const entries: ManifestEntry[] = [];
    for (const rel of files) {
      const p = join(src, rel);
      const st = await fs.stat(p);
      entries.push({ path: rel, size: st.size, exec: (st.mode & 0o111) !== 0, digest: await this.putFile(p, opts) });
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
    const dst = join(this.treesDir, digest);
    if (await exists(join(dst, '.complete'))) return dst;
    const entries = await this.readManifest(digest);
    const tmp = await this.session.makeTmp('tree');
    let relinked = false;
    for (const e of entries) {
      const to = join(tmp, e.path);
      const obj = this.objectPath(e.digest);
      await fs.mkdir(dirname(to), { recursive: true });
      // A new hard link changes the object's ctime: keep a stat-cache entry that was current just
      // before, or the next check on read (checkInputs) would re-hash a model's weights.
      const current = this.stat.current(obj) === e.digest;
      try {
        await fs.link(obj, to);
        if (current) {
          this.stat.remember(obj, e.digest);
          relinked = true;
        }
      } catch {
        await copyFileFast(obj, to);
      }
    }
    if (relinked) await this.stat.flush(); // a worker process checks the inputs next
    // Written beside and renamed in: a tree that itself holds a `.complete` file has it hard-linked
    // here, and writing through that link would change a stored object.
    await fs.writeFile(join(tmp, '.complete.tmp'), digest);
    await fs.rename(join(tmp, '.complete.tmp'), join(tmp, '.complete'));
    await fs.mkdir(this.treesDir, { recursive: true });
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

  /** Every stored object (gc, verify): its digest and where it is. */
  async list(): Promise<{ digest: string; path: string }[]> {
    const out: { digest: string; path: string }[] = [];
    for (const shard of (await fs.readdir(this.objectsDir).catch(() => [] as string[])).sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const rest of (await fs.readdir(join(this.objectsDir, shard)).catch(() => [] as string[])).sort()) {
        if (/^[0-9a-f]{62}$/.test(rest)) out.push({ digest: shard + rest, path: join(this.objectsDir, shard, rest) });
      }
    }
    return out;
  }

  /** The stored objects whose digest starts with `prefix` (inspect's short digests). */
  async withPrefix(prefix: string): Promise<{ digest: string; path: string }[]> {
    if (!/^[0-9a-f]{2,64}$/.test(prefix)) return [];
    const shard = prefix.slice(0, 2);
    const names = await fs.readdir(join(this.objectsDir, shard)).catch(() => [] as string[]);
    return names.filter((n) => (shard + n).startsWith(prefix)).sort().map((n) => ({ digest: shard + n, path: join(this.objectsDir, shard, n) }));
  }

  /** Delete an object nothing references (gc; the caller holds the store exclusively). */
  async remove(digest: string): Promise<void> {
    await fs.rm(this.objectPath(digest), { force: true });
  }

  /** The digests of the checked-out trees present. */
  async trees(): Promise<string[]> {
    return (await fs.readdir(this.treesDir).catch(() => [] as string[])).filter((t) => /^[0-9a-f]{64}$/.test(t)).sort();
  }

  /** Remove checked-out trees (integrity does, when one links a corrupt object) and forget every
   * checkout this process made, so the next reader checks out again. */
  /** Remove the large file objects of a released output that `stillUsed` does not claim, and its
   * checked-out tree: the bytes removed. Small files (config, tokenizer, manifests) stay: they cost
   * nothing and other outputs share them. */
  async releaseLarge(o: { digest: string; type: 'file' | 'dir'; size?: number }, stillUsed: (digest: string) => boolean, dryRun = false): Promise<number> {
    const files = o.type === 'dir' ? await this.readManifest(o.digest).catch(() => [] as ManifestEntry[]) : [{ digest: o.digest, size: o.size ?? 0 }];
    if (o.type === 'dir' && !dryRun) {
      await fs.rm(join(this.treesDir, o.digest), { recursive: true, force: true });
      this.checkedOut.delete(o.digest);
    }
    let bytes = 0;
    for (const f of files) {
      if (f.size <= SMALL_FILE || stillUsed(f.digest)) continue;
      const p = this.objectPath(f.digest);
      const size = statSync(p, { throwIfNoEntry: false })?.size;
      if (size === undefined) continue;
      if (!dryRun) await fs.rm(p, { force: true });
      bytes += size;
    }
    return bytes;
  }

  dropCheckouts(trees: string[]): void {
    for (const t of trees) rmSync(join(this.treesDir, t), { recursive: true, force: true });
    this.checkedOut.clear();
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
}

/** The store root an output path was read from: objects/ab/<rest> for a file, trees/<digest> for a
 * folder (a stage given its inputs as paths, the report, finds their store here, not by guessing). */
export function storeRootOfOutput(path: string, type: 'file' | 'dir'): string {
  return type === 'file' ? dirname(dirname(dirname(path))) : dirname(dirname(path));
}

export function manifestBytes(entries: ManifestEntry[]): string {
  return canonicalJson([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}

export interface AdoptOps {
  rename(from: string, to: string): Promise<void>;
  link(from: string, to: string): Promise<void>;
  /** A copy-on-write clone (FICLONE), failing where the file system has none. */
  clone(from: string, to: string): Promise<void>;
}

const defaultAdoptOps: AdoptOps = {
  rename: (a, b) => fs.rename(a, b),
  link: (a, b) => fs.link(a, b),
  clone: (a, b) => fs.copyFile(a, b, fsConstants.COPYFILE_FICLONE_FORCE),
};
