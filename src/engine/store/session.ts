// The store's session part: what a process holds while it uses the store — its owner record
// (owners/), its staging (tmp/), stage locks (locks/) and its shared lease (leases/, lease.ts) —
// and the clean-up of what dead processes left (util/liveness.ts decides who is dead; docs/store.md).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, uniqueSuffix } from './fs-util.js';
import { beat, describeOwner, selfOwner, STALE_MS, type Owner } from '../../util/liveness.js';
import { acquireLock, breakLock, judge, readHolder } from '../../util/lock-file.js';
import { acquireExclusive, acquireShared } from './lease.js';

/** tmp/invocations/: the Slurm executor's subarea of tmp/ (index.ts). */
export const INVOCATIONS = 'invocations';
/** Store roots this process has written its owner record into. */
const ownersWritten = new Set<string>();

export class Session {
  readonly tmpDir: string;
  readonly ownersDir: string;
  readonly locksDir: string;
  private releaseLease: (() => void) | undefined;

  constructor(
    readonly root: string,
    private readonly warn: (message: string) => void,
  ) {
    this.tmpDir = join(root, 'tmp');
    this.ownersDir = join(root, 'owners');
    this.locksDir = join(root, 'locks');
  }

  /** The store to this process alone (gc, verify): waits a few seconds for runs holding a shared
   * lease, then refuses (StoreBusy). `warn` says why it waits. Returns the release. */
  exclusive(purpose: string, warn: (message: string) => void): Promise<() => void> {
    return acquireExclusive(this.root, { warn, purpose });
  }

  /** Take a shared lease (run, status: gc and verify wait or refuse meanwhile) and clean up what
   * dead processes left. Released by release(). */
  async init(signal?: AbortSignal): Promise<void> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    const warn = this.warn;
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

  /** Give the shared lease back (close). */
  release(): void {
    this.releaseLease?.();
    this.releaseLease = undefined;
  }

  /** owners/<token>.json: who this process is, with its heartbeat (mtime). Staging entries and
   * stage locks name the token; written before the first of them (once per process and store),
   * removed at exit. */
  ensureOwner(): void {
    if (ownersWritten.has(this.root)) return;
    ownersWritten.add(this.root);
    const me = selfOwner();
    const file = join(this.ownersDir, `${me.token}.json`);
    mkdirSync(this.ownersDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, `${me.token}-owner.part`);
    try {
      writeFileSync(tmp, JSON.stringify(me));
      renameSync(tmp, file);
    } catch (e: unknown) {
      rmSync(tmp, { force: true });
      ownersWritten.delete(this.root);
      throw e;
    }
    beat(file);
    const tmpDir = this.tmpDir;
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
  heartbeat(o: Owner): number | undefined {
    try {
      return statSync(join(this.ownersDir, `${o.token}.json`)).mtimeMs;
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
        const h = readHolder(join(this.ownersDir, `${token}.json`));
        hit = { owner: h?.owner, dead: h ? judge(h).dead : false };
        owners.set(token, hit);
      }
      return hit;
    };
    const now = Date.now();
    for (const e of readdirSafe(this.tmpDir)) {
      // The Slurm executor's invocation files live as long as their jobs, which can wait in the
      // queue for hours; it removes each as its job ends. Not staging: never judged by age here.
      if (e === INVOCATIONS) continue;
      const p = join(this.tmpDir, e);
      const token = /^([0-9a-f]{12})-/.exec(e)?.[1];
      let dead: boolean;
      if (token && existsSync(join(this.ownersDir, `${token}.json`))) dead = ownerOf(token).dead;
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
    for (const e of readdirSafe(this.ownersDir)) {
      const token = e.replace(/\.json$/, '');
      if (token !== selfOwner().token && ownerOf(token).dead) rmSync(join(this.ownersDir, e), { force: true });
    }
    for (const e of readdirSafe(this.locksDir)) {
      if (!e.endsWith('.lock')) continue;
      const p = join(this.locksDir, e);
      const h = readHolder(p);
      if (h && judge(h, (o) => this.heartbeat(o)).dead) breakLock(p, h, this.tmpDir);
    }
  }

  /** A fresh staging folder owned by this process. */
  async makeTmp(label: string): Promise<string> {
    const p = await this.tmpPath(label);
    mkdirSync(p);
    return p;
  }

  /** The name of a fresh staging folder owned by this process, not yet created (a stage's output
   * folder is made when its kind first asks for it: a run stage's outputs never pass through it). */
  async tmpPath(label: string): Promise<string> {
    this.ensureOwner();
    await ensureDir(this.tmpDir);
    return join(this.tmpDir, `${uniqueSuffix()}-${label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60)}`);
  }

  /** A fresh staging file name owned by this process (the file is not created). */
  async tmpFile(suffix: string): Promise<string> {
    this.ensureOwner();
    await ensureDir(this.tmpDir);
    return join(this.tmpDir, `${uniqueSuffix()}${suffix}`);
  }

  /** A per-stage lock so two `pipeline run`s (on any hosts) never compute the same stage twice:
   * the second waits, and takes the lock over once its holder is provably dead (liveness.ts). The
   * lock file is created atomically (lock-file.ts): no full disk or kill can leave an empty one. */
  async lock(key: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    this.ensureOwner();
    const p = join(this.locksDir, `${key}.lock`);
    await ensureDir(this.locksDir);
    const opts: Parameters<typeof acquireLock>[1] = {
      tmpDir: this.tmpDir,
      heartbeatOf: (o) => this.heartbeat(o),
      reuseTemp: true,
      onWait: (h) => this.warn(`stage ${key.slice(0, 12)} is being computed by ${describeOwner(h.owner)}; waiting for it (lock ${p})`),
      onStillWaiting: (h, ms) => this.warn(`stage ${key.slice(0, 12)}: still waiting for ${describeOwner(h.owner)} (${Math.round(ms / 1000)} s)`),
    };
    if (signal) opts.signal = signal;
    const release = await acquireLock(p, opts);
    return async () => release();
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
