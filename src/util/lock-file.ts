// Lock files that can never be empty or half-written: the owner is written to a temporary file and
// hard-linked into place (link fails on an existing name, atomically, on local disks and on NFS,
// where O_EXCL and flock are not to be trusted). A lock whose owner is provably dead (liveness.ts)
// is broken under a short-lived breaker lock, so two processes that both find it dead cannot break
// a third one's fresh lock. Used for stage locks, store leases and download locks.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beat, liveness, parseOwner, selfOwner, stopBeat, type Liveness, type Owner } from './liveness.js';

/** A breaker is held for a few milliseconds; one older than this was left by a killed process. */
const BREAKER_STALE_MS = 10_000;

export interface Holder {
  owner: Owner | undefined;
  text: string;
  mtimeMs: number;
}

/**
 * Create `path` holding `content`, or return false when it exists. `tmpDir` must be on the same
 * filesystem; its temporary names start with this process's token, so a store's staging clean-up
 * removes one left by a kill between the write and the link.
 */
export function createExclusive(path: string, content: string, tmpDir = dirname(path), reuse = false): boolean {
  if (reuse) return linkPrepared(path, content, tmpDir);
  const tmp = join(tmpDir, `${selfOwner().token}-${randomBytes(4).toString('hex')}.lock-part`);
  try {
    writeFileSync(tmp, content);
    linkSync(tmp, path);
    return true;
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Filesystems without hard links: exclusive create, then write. A kill in between leaves an
    // empty lock, which is stale once untouched for STALE_MS (never a wait for ever).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV' || code === 'EMLINK') return createNoLink(path, content);
    throw e;
  } finally {
    unlinkQuiet(tmp);
  }
}

/** Per process: one temporary file per (folder, content), kept and hard-linked into place for
 * every lock with that content. A stage lock's content is only its owner, the same for every stage
 * of a process: one link per lock instead of a file creation, a link and an unlink. The locks then
 * share one inode, so a lock's mtime is the temporary's; such locks are judged by their owner's
 * heartbeat (the owner record), which outlives every lock of a live owner. */
const prepared = new Map<string, string>();

function linkPrepared(path: string, content: string, tmpDir: string): boolean {
  const key = `${tmpDir}\0${content}`;
  for (let attempt = 0; ; attempt++) {
    let tmp = prepared.get(key);
    if (!tmp) {
      tmp = join(tmpDir, `${selfOwner().token}-${randomBytes(4).toString('hex')}.lock-part`);
      try {
        writeFileSync(tmp, content);
      } catch (e: unknown) {
        unlinkQuiet(tmp); // a full disk leaves no half-written temporary
        throw e;
      }
      prepared.set(key, tmp);
    }
    try {
      linkSync(tmp, path);
      return true;
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // The temporary was removed (a clean-up of staging) or has too many links: make a new one.
      prepared.delete(key);
      unlinkQuiet(tmp);
      if ((code === 'ENOENT' || code === 'EMLINK') && attempt === 0) continue;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV' || code === 'EMLINK') return createNoLink(path, content);
      throw e;
    }
  }
}

/** Remove a file that may be absent with one unlink (rmSync with force stats it first, twice):
 * every stage takes and releases a lock. */
function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function createNoLink(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
    closeSync(fd);
    return true;
  } catch (e: unknown) {
    closeSync(fd);
    rmSync(path, { force: true }); // a full disk must not leave an empty lock behind
    throw e;
  }
}

/** What holds a lock now; undefined when nothing does. A folder (an old-style lock) or damaged
 * text reads as an unknown owner, judged by its mtime. */
export function readHolder(path: string): Holder | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* a folder, or unreadable: an unknown owner */
  }
  return { owner: parseOwner(text), text, mtimeMs };
}

/** Dead or alive, with the owner's heartbeat where it keeps one elsewhere (the store's owner
 * records), else the lock's own mtime. */
export function judge(h: Holder, heartbeatOf?: (o: Owner) => number | undefined): Liveness {
  return liveness(h.owner, (h.owner && heartbeatOf?.(h.owner)) ?? h.mtimeMs);
}

/** Remove a lock judged dead, unless it changed since it was judged. True when it is gone. */
export function breakLock(path: string, judged: Holder, tmpDir = dirname(path)): boolean {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker, JSON.stringify(selfOwner()), tmpDir)) {
    const b = readHolder(breaker);
    if (b && Date.now() - b.mtimeMs > BREAKER_STALE_MS) rmSync(breaker, { force: true });
    return false;
  }
  try {
    const now = readHolder(path);
    if (!now) return true;
    if (now.text !== judged.text || now.mtimeMs !== judged.mtimeMs) return false; // retaken or beating again
    rmSync(path, { recursive: true, force: true });
    return true;
  } finally {
    rmSync(breaker, { force: true });
  }
}

export interface AcquireOptions {
  /** Same filesystem as the lock; default its folder. */
  tmpDir?: string;
  signal?: AbortSignal;
  /** Where the owner keeps its heartbeat, when not in the lock itself. */
  heartbeatOf?: (o: Owner) => number | undefined;
  /** Refresh the lock's own mtime while held (locks that are their own heartbeat). */
  beat?: boolean;
  /** Called once when the lock is held by a live owner and this call starts waiting. */
  onWait?: (h: Holder) => void;
  /** Called every `noticeMs` while it still waits, each time after judging the holder alive again. */
  onStillWaiting?: (h: Holder, waitedMs: number) => void;
  noticeMs?: number;
  /** Link one kept temporary file per content (createExclusive): only for locks judged by a
   * heartbeat kept elsewhere (`heartbeatOf`), never with `beat`, which would touch them all. */
  reuseTemp?: boolean;
}

/** How often a wait for a live holder says it still waits (env PIPELINE_WAIT_NOTICE_MS): a user
 * sees the run is alive, and a test can tell that the holder was judged alive again and again. */
export const WAIT_NOTICE_MS = Number(process.env['PIPELINE_WAIT_NOTICE_MS']) > 0 ? Number(process.env['PIPELINE_WAIT_NOTICE_MS']) : 60_000;

/** Calls `say` at most every `everyMs` (the first time `everyMs` after it was created). */
export function notifier(everyMs: number, say: (waitedMs: number) => void): () => void {
  const start = Date.now();
  let last = start;
  return () => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    say(now - start);
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Take a lock, waiting while a live owner holds it and taking over a dead one's. */
export async function acquireLock(path: string, o: AcquireOptions = {}): Promise<() => void> {
  const content = JSON.stringify(selfOwner());
  let told = false;
  let still: (() => void) | undefined;
  for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
    if (createExclusive(path, content, o.tmpDir, o.reuseTemp === true && !o.beat && !!o.heartbeatOf)) {
      if (o.beat) beat(path);
      return () => releaseLock(path, content);
    }
    const h = readHolder(path);
    if (!h) continue; // released between the two calls
    if (judge(h, o.heartbeatOf).dead) {
      if (breakLock(path, h, o.tmpDir)) continue;
    } else if (!told) {
      told = true;
      o.onWait?.(h);
      still = notifier(o.noticeMs ?? WAIT_NOTICE_MS, (ms) => o.onStillWaiting?.(h, ms));
    } else still?.();
    if (o.signal?.aborted) throw new Error(`interrupted while waiting for the lock ${path}`);
    await sleep(wait, o.signal);
  }
}

/** Remove a lock this process holds — not one that was taken over meanwhile. */
export function releaseLock(path: string, content: string): void {
  stopBeat(path);
  const h = readHolder(path);
  if (h && h.text === content) unlinkQuiet(path);
}
