// The content-addressed store under cache/: immutable objects by sha256, folder manifests, read-only
// checked-out trees, run records by key, a stat cache, staging space and locks (DESIGN.md
// "Content addressing"). Every write is staged in tmp/ and renamed into place.
import { createHash } from 'node:crypto';
import { chmodSync, constants as fsConstants, createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { canonicalJson, sha256 } from '../canonical.js';
import { isFailure, type Failure } from '../failure.js';
import { copyFileFast, ensureDir, hashFile, exists, listFiles, uniqueSuffix, withPath, writeFileAtomic } from './fs-util.js';
import { StatCache } from './stat-cache.js';
import type { Fingerprint, RunRecord } from './run-record.js';
import type { StageInput } from '../kind.js';
import { readMetaSync, registerStoreRoot } from './damage.js';
import { beat, describeOwner, selfOwner, STALE_MS, type Owner } from './liveness.js';
import { acquireLock, breakLock, judge, readHolder } from './lock-file.js';
import { acquireShared } from './lease.js';

const SMALL_FILE = 4 * 1024 * 1024;
/** Store roots this process has written its owner record into. */
const ownersWritten = new Set<string>();

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
  private releaseLease: (() => void) | undefined;
  /** Where the store's warnings go (damaged metadata quarantined, waiting for a lock or a lease);
   * the engine routes them to its reporter. */
  private warnTo: (message: string) => void = (m) => void process.stderr.write(`warning: ${m}\n`);
  /** A full disk (or a read-only store) is said once, with the file that could not be written;
   * later writes that fail for the same reason add nothing. */
  private saidFull = false;
  /** The caller has reported a full disk (an error that ends the command). */
  noteFull(): void {
    this.saidFull = true;
  }
  get warn(): (message: string) => void {
    return this.warnTo;
  }
  set warn(fn: (message: string) => void) {
    this.warnTo = (m) => {
      if (/\b(ENOSPC|EDQUOT|EROFS)\b/.test(m)) {
        if (this.saidFull) return;
        this.saidFull = true;
      }
      fn(m);
    };
    registerStoreRoot(this.root, (m) => this.warnTo(m), true);
  }

  constructor(root: string) {
    this.root = root;
    this.stat = new StatCache(join(root, 'stat-cache.json'), (p) => this.digestTreeUncached(p));
    registerStoreRoot(root, (m) => this.warnTo(m));
  }

  dir(name: 'objects' | 'trees' | 'runs' | 'stages' | 'tmp' | 'locks' | 'leases' | 'owners' | 'logs' | 'quarantine' | 'failures' | 'history' | 'invocations' | 'requests' | 'released'): string {
    return join(this.root, name);
  }

  /** Take a shared lease (run, status: gc and verify wait or refuse meanwhile) and clean up what
   * dead processes left. Released by close(). */
  async init(signal?: AbortSignal): Promise<void> {
    await fs.mkdir(this.dir('tmp'), { recursive: true });
    const warn = (m: string): void => this.warnTo(m);
    try {
      this.releaseLease ??= await acquireShared(this.root, signal ? { warn, signal } : { warn });
    } catch (e: unknown) {
      // A full disk, a read-only or someone else's store: status must still answer. (A run fails
      // anyway at its first write, with that error.)
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw e;
      const why = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'not permitted' }[code];
      warn(`could not take a lease on the store ${this.root} (${why}, ${code}): it is answered from as it is, nothing is written; gc and verify will not know this process uses it`);
      this.releaseLease = () => undefined;
    }
    await this.cleanTmp();
  }

  // ---- owners and staging ------------------------------------------------------------------

  /** owners/<token>.json: who this process is, with its heartbeat (mtime). Staging entries and
   * stage locks name the token; written before the first of them (once per process and store),
   * removed at exit. */
  private ensureOwner(): void {
    if (ownersWritten.has(this.root)) return;
    ownersWritten.add(this.root);
    const me = selfOwner();
    const file = join(this.dir('owners'), `${me.token}.json`);
    mkdirSync(this.dir('owners'), { recursive: true });
    mkdirSync(this.dir('tmp'), { recursive: true });
    const tmp = join(this.dir('tmp'), `${me.token}-owner.part`);
    try {
      writeFileSync(tmp, JSON.stringify(me));
      renameSync(tmp, file);
    } catch (e: unknown) {
      rmSync(tmp, { force: true });
      ownersWritten.delete(this.root);
      throw e;
    }
    beat(file);
    const tmpDir = this.dir('tmp');
    process.on('exit', () => {
      // A normal exit (also process.exit mid-stage) leaves none of this process's staging.
      try {
        for (const n of readdirSync(tmpDir)) if (n.startsWith(`${me.token}-`)) rmSync(join(tmpDir, n), { recursive: true, force: true });
      } catch {
        /* the store is gone */
      }
      rmSync(file, { force: true });
    });
  }

  /** Heartbeat of an owner: its owner record's mtime. */
  private heartbeat(o: Owner): number | undefined {
    try {
      return statSync(join(this.dir('owners'), `${o.token}.json`)).mtimeMs;
    } catch {
      return undefined;
    }
  }

  /** Remove staging, owner records and stage locks of provably dead processes only (liveness.ts):
   * another host's work survives as long as its heartbeat is fresh. */
  async cleanTmp(): Promise<void> {
    const owners = new Map<string, { owner: Owner | undefined; dead: boolean }>();
    const ownerOf = (token: string): { owner: Owner | undefined; dead: boolean } => {
      let hit = owners.get(token);
      if (!hit) {
        const h = readHolder(join(this.dir('owners'), `${token}.json`));
        hit = { owner: h?.owner, dead: h ? judge(h).dead : false };
        owners.set(token, hit);
      }
      return hit;
    };
    const now = Date.now();
    for (const e of readdirSafe(this.dir('tmp'))) {
      const p = join(this.dir('tmp'), e);
      const token = /^([0-9a-f]{12})-/.exec(e)?.[1];
      let dead: boolean;
      if (token && existsSync(join(this.dir('owners'), `${token}.json`))) dead = ownerOf(token).dead;
      else {
        // No owner record (an older version's `<pid>-…`, or an owner that exited): only once untouched for STALE_MS.
        let m: number;
        try {
          m = statSync(p).mtimeMs;
        } catch {
          continue;
        }
        dead = now - m > STALE_MS;
      }
      if (dead) await fs.rm(p, { recursive: true, force: true });
    }
    for (const e of readdirSafe(this.dir('owners'))) {
      const token = e.replace(/\.json$/, '');
      if (token !== selfOwner().token && ownerOf(token).dead) rmSync(join(this.dir('owners'), e), { force: true });
    }
    for (const e of readdirSafe(this.dir('locks'))) {
      if (!e.endsWith('.lock')) continue;
      const p = join(this.dir('locks'), e);
      const h = readHolder(p);
      if (h && judge(h, (o) => this.heartbeat(o)).dead) breakLock(p, h, this.dir('tmp'));
    }
  }

  /** A fresh staging folder owned by this process. */
  async makeTmp(label: string): Promise<string> {
    this.ensureOwner();
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
    this.ensureOwner();
    const tmp = join(this.dir('tmp'), `${uniqueSuffix()}.obj`);
    await ensureDir(this.dir('tmp'));
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
    if ((await this.hasObject(digest)) && (await this.intactOrQuarantined(digest))) return digest;
    this.ensureOwner();
    const tmp = join(this.dir('tmp'), `${uniqueSuffix()}.obj`);
    await ensureDir(this.dir('tmp'));
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
    if (existsSync(dst) && (await this.intactOrQuarantined(digest))) {
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
    const checkedOut = relative(this.dir('trees'), resolve(src));
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
    const dst = join(this.dir('trees'), digest);
    if (await exists(join(dst, '.complete'))) return dst;
    const entries = await this.readManifest(digest);
    const tmp = await this.makeTmp('tree');
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

  /** A damaged record is quarantined and reads as absent: the stage re-runs (damage.ts). */
  async readRun(key: string): Promise<RunRecord | undefined> {
    return readMetaSync<RunRecord>(this.runPath(key), isRunRecord);
  }

  /** The fingerprint is kept beside the record, not in it: a fan-in stage's fingerprint names
   * every input, and a no-op run reads every record but needs no fingerprint. */
  fingerprintPath(key: string): string {
    return join(this.dir('runs'), key.slice(0, 2), `${key}.fingerprint.json`);
  }

  async readFingerprint(key: string): Promise<Fingerprint | undefined> {
    return readMetaSync<Fingerprint>(this.fingerprintPath(key), (v) => isObject(v) && isObject(v['inputs']));
  }

  /** The commit marker: written last, after every output (and the fingerprint) is stored. */
  async writeRun(record: RunRecord & { fingerprint?: Fingerprint }): Promise<string> {
    const { fingerprint, ...rest } = record;
    // Every file is staged and renamed: a reader that found a half-written one would quarantine it.
    // The fingerprint goes first (it explains staleness and marks what verify must re-check), the
    // record is the commit marker.
    if (fingerprint) await writeFileAtomic(this.fingerprintPath(record.key), JSON.stringify(fingerprint));
    const p = this.runPath(record.key);
    await writeFileAtomic(p, JSON.stringify(rest, null, 1));
    await writeFileAtomic(this.stagePointer(record.stageId), JSON.stringify({ id: record.stageId, key: record.key }));
    rmSync(this.failurePath(record.stageId), { force: true });
    rmSync(this.releasedPath(record.key), { force: true }); // its outputs are stored again
    return p;
  }

  // ---- outputs released by a retain policy (retain.ts) -----------------------------------------

  private releasedPath(key: string): string {
    return join(this.dir('released'), key.slice(0, 2), `${key}.json`);
  }

  /** The record of a run whose outputs a retain policy released: its key and digests still stand
   * (its consumers' keys do not change), its large files are gone until a stage needs them again. */
  async releasedRun(key: string): Promise<RunRecord | undefined> {
    if (!existsSync(this.releasedPath(key))) return undefined;
    return this.readRun(key);
  }

  /** Release a run's outputs: its record stays, marked released (written first, so a crash halfway
   * reads as released, never as fresh); its files over 4 MiB that `stillUsed` does not claim leave
   * objects/, and its checked-out trees go. Small files (config, tokenizer, manifests) stay: they
   * cost nothing and other outputs share them. Returns the bytes removed. */
  async release(record: RunRecord, stillUsed: (digest: string) => boolean): Promise<number> {
    await writeFileAtomic(this.releasedPath(record.key), JSON.stringify({ key: record.key, stageId: record.stageId, at: new Date().toISOString() }));
    let bytes = 0;
    for (const o of Object.values(record.outputs)) {
      const files = o.type === 'dir' ? await this.readManifest(o.digest).catch(() => [] as ManifestEntry[]) : [{ digest: o.digest, size: o.size ?? 0 }];
      if (o.type === 'dir') {
        await fs.rm(join(this.dir('trees'), o.digest), { recursive: true, force: true });
        this.checkedOut.delete(o.digest);
      }
      for (const f of files) {
        if (f.size <= SMALL_FILE || stillUsed(f.digest)) continue;
        const p = this.objectPath(f.digest);
        const size = statSync(p, { throwIfNoEntry: false })?.size;
        if (size === undefined) continue;
        await fs.rm(p, { force: true });
        bytes += size;
      }
    }
    return bytes;
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
    return readMetaSync<{ key: string }>(this.stagePointer(stageId), (v) => isObject(v) && typeof v['key'] === 'string')?.key;
  }

  failurePath(stageId: string): string {
    return join(this.dir('failures'), `${sha256(stageId).slice(0, 32)}.json`);
  }

  /** The failure record: the stage's Failure as data, plus its first words for a reader by hand. */
  async writeFailure(stageId: string, key: string, failure: Failure): Promise<void> {
    await writeFileAtomic(this.failurePath(stageId), JSON.stringify({ id: stageId, key, message: failure.message, failure, at: new Date().toISOString() }));
  }

  /** The last failure of a stage id; a record from before failures were stored as data reads as a stage error. */
  async readFailure(stageId: string): Promise<{ key: string; failure: Failure; at: string } | undefined> {
    const v = readMetaSync<{ key: string; message: string; at?: unknown; failure?: unknown }>(this.failurePath(stageId), (x) => isObject(x) && typeof x['key'] === 'string' && typeof x['message'] === 'string');
    if (!v) return undefined;
    const failure: Failure = isFailure(v.failure) ? v.failure : { reason: 'execute', cause: 'stage-error', message: v.message };
    return { key: v.key, failure, at: typeof v.at === 'string' ? v.at : '' };
  }

  logPath(key: string): string {
    return join(this.dir('logs'), key.slice(0, 2), `${key}.log`);
  }

  // ---- locks -------------------------------------------------------------------------------

  /** A per-stage lock so two `pipeline run`s (on any hosts) never compute the same stage twice:
   * the second waits, and takes the lock over once its holder is provably dead (liveness.ts). The
   * lock file is created atomically (lock-file.ts): no full disk or kill can leave an empty one. */
  async lock(key: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    this.ensureOwner();
    const p = join(this.dir('locks'), `${key}.lock`);
    await ensureDir(this.dir('locks'));
    const opts: Parameters<typeof acquireLock>[1] = {
      tmpDir: this.dir('tmp'),
      heartbeatOf: (o) => this.heartbeat(o),
      onWait: (h) => this.warn(`stage ${key.slice(0, 12)} is being computed by ${describeOwner(h.owner)}; waiting for it (lock ${p})`),
      onStillWaiting: (h, ms) => this.warn(`stage ${key.slice(0, 12)}: still waiting for ${describeOwner(h.owner)} (${Math.round(ms / 1000)} s)`),
    };
    if (signal) opts.signal = signal;
    const release = await acquireLock(p, opts);
    return async () => release();
  }

  // ---- checks on read ----------------------------------------------------------------------

  /** Does a stored object still hold the bytes of its digest? Small ones are re-hashed; large
   * ones go through the stat cache (unchanged size, mtime, ctime and inode since they were hashed). */
  async objectIntact(digest: string): Promise<boolean> {
    const p = this.objectPath(digest);
    let size: number;
    try {
      size = statSync(p).size;
    } catch {
      return false;
    }
    if (size <= SMALL_FILE) return sha256(readFileSync(p)) === digest;
    return (await this.stat.digest(p)).digest === digest;
  }

  /** An existing object about to be reused: true when intact; a damaged one is quarantined (false),
   * so storing the same bytes again repairs it instead of keeping the damage for ever. */
  private async intactOrQuarantined(digest: string): Promise<boolean> {
    if (await this.objectIntact(digest)) return true;
    this.warn(`stored object ${digest.slice(0, 12)}… was damaged; quarantined it to ${this.quarantineObject(digest)} and stored it again`);
    return false;
  }

  /** Move a corrupt object to quarantine/ and drop checked-out trees that link it. */
  quarantineObject(digest: string, trees: string[] = []): string {
    const q = join(this.dir('quarantine'), digest);
    mkdirSync(this.dir('quarantine'), { recursive: true });
    try {
      renameSync(this.objectPath(digest), q);
    } catch {
      /* moved by another process */
    }
    for (const t of trees) rmSync(join(this.dir('trees'), t), { recursive: true, force: true });
    this.checkedOut.clear();
    return q;
  }

  /** Check every input object of a stage before it runs: a corrupt one is quarantined and the
   * stage fails with a message saying so (the next run recomputes the object first). */
  async checkInputs(inputs: StageInput[]): Promise<void> {
    for (const inp of inputs) {
      for (const [name, o] of Object.entries(inp.outputs)) {
        const bad: string[] = [];
        if (!(await this.objectIntact(o.digest))) bad.push(o.digest);
        else if (o.type === 'dir') {
          for (const e of await this.readManifest(o.digest)) if (!(await this.objectIntact(e.digest))) bad.push(e.digest);
        }
        if (bad.length === 0) continue;
        const q = bad.map((d) => this.quarantineObject(d, o.type === 'dir' ? [o.digest] : []));
        throw new Error(
          `input "${name}" of ${inp.stageId}: the stored object ${bad[0]!.slice(0, 12)}… no longer matches its digest (damaged on disk); ` +
            `quarantined to ${q[0]}. Run again: ${inp.stageId} is recomputed first.`,
        );
      }
    }
  }

  async close(): Promise<void> {
    try {
      await this.stat.flush();
    } catch (e: unknown) {
      // Only a cache: a full disk costs some re-hashing next time, never the command.
      const full = isFull(e);
      if (!(full && this.saidFull)) this.warnTo(`could not save the stat cache: ${(e as Error).message}`);
      if (full) this.saidFull = true;
    } finally {
      this.releaseLease?.();
      this.releaseLease = undefined;
    }
  }
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

export function manifestBytes(entries: ManifestEntry[]): string {
  return canonicalJson([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}


function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRunRecord(v: unknown): boolean {
  return isObject(v) && typeof v['key'] === 'string' && typeof v['stageId'] === 'string' && isObject(v['outputs']) && isObject(v['info']);
}

function isFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}
