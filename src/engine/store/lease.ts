// Store leases, like DVC's repository lock: `run` and `status` share the store; `gc` and `verify`
// need it to themselves, because they delete what looks unreferenced, and a running stage's
// objects are unreferenced until its run record is written.
//
//   shared:    write leases/shared-<token>.json, then check leases/exclusive.lock: when it is held
//              by a live owner, step back (remove the file) and wait for it, saying so once.
//   exclusive: create leases/exclusive.lock (atomic link), then wait up to LEASE_WAIT_MS for the
//              live shared leases to go; still there → give the store back and refuse, naming them.
// Writing before checking on both sides means one of any two racers always sees the other.
// Runs wait for gc/verify (short) rather than gc waiting for runs (hours of GPU time). Leases are
// their own heartbeat; a dead owner's lease is removed (liveness.ts).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beat, describeOwner, liveness, selfOwner, stopBeat, type Owner } from '../../util/liveness.js';
import { breakLock, createExclusive, notifier, readHolder, releaseLock, WAIT_NOTICE_MS } from '../../util/lock-file.js';

export type LeaseMode = 'shared' | 'exclusive';

/** gc/verify give up after this long when runs hold the store (env PIPELINE_LEASE_WAIT_MS). */
export const LEASE_WAIT_MS = Number(process.env['PIPELINE_LEASE_WAIT_MS']) > 0 ? Number(process.env['PIPELINE_LEASE_WAIT_MS']) : 10_000;

/** The store is in use: gc/verify refused rather than delete what a run is writing. */
export class StoreBusy extends Error {}

export interface LeaseOptions {
  warn(message: string): void;
  signal?: AbortSignal;
  /** What wants the store to itself, for messages ("gc", "verify"). */
  purpose?: string;
}

const held = new Map<string, { mode: LeaseMode; count: number; file: string; content: string }>();
let exitHook = false;

function dropAllAtExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const h of held.values()) rmSync(h.file, { force: true });
  });
}

function dirOf(root: string): string {
  const d = join(root, 'leases');
  mkdirSync(d, { recursive: true });
  return d;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function releaser(root: string): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const h = held.get(root);
    if (!h || --h.count > 0) return;
    held.delete(root);
    stopBeat(h.file);
    if (h.mode === 'exclusive') releaseLock(h.file, h.content);
    else rmSync(h.file, { force: true });
  };
}

/** A shared lease on the store (run, status). Waits while gc/verify hold it. */
export async function acquireShared(storeRoot: string, o: LeaseOptions): Promise<() => void> {
  const root = resolve(storeRoot);
  const h = held.get(root);
  if (h) {
    // This process already holds the store (gc calls status): nest.
    h.count++;
    return releaser(root);
  }
  const dir = dirOf(root);
  const exclusive = join(dir, 'exclusive.lock');
  const me = selfOwner();
  const file = join(dir, `shared-${me.token}.json`);
  const content = JSON.stringify(me);
  let told = false;
  let still: (() => void) | undefined;
  for (;;) {
    const ex = readHolder(exclusive);
    if (ex) {
      if (liveness(ex.owner, ex.mtimeMs).dead) {
        if (!breakLock(exclusive, ex, dir)) await sleep(50);
        continue;
      }
      if (!told) {
        told = true;
        o.warn(`the store ${storeRoot} is held by ${describeOwner(ex.owner)}, which needs it to itself; waiting for it to finish`);
        still = notifier(WAIT_NOTICE_MS, (ms) => o.warn(`still waiting for ${describeOwner(ex.owner)} to release the store (${Math.round(ms / 1000)} s)`));
      } else still?.();
      if (o.signal?.aborted) throw new Error('interrupted while waiting for the store');
      await sleep(200);
      continue;
    }
    const tmp = `${file}.part`;
    try {
      writeFileSync(tmp, content);
      renameSync(tmp, file);
    } catch (e: unknown) {
      rmSync(tmp, { force: true });
      throw e;
    }
    if (!existsSync(exclusive)) break;
    rmSync(file, { force: true }); // gc came in between: let it have the store first
  }
  dropAllAtExit();
  beat(file);
  held.set(root, { mode: 'shared', count: 1, file, content });
  return releaser(root);
}

/** Live holders of shared leases other than this process; dead ones' leases are removed. */
function liveSharers(dir: string): (Owner | undefined)[] {
  const live: (Owner | undefined)[] = [];
  for (const n of readdirSync(dir)) {
    if (!n.startsWith('shared-') || !n.endsWith('.json')) continue;
    const h = readHolder(join(dir, n));
    if (!h || h.owner?.token === selfOwner().token) continue;
    if (liveness(h.owner, h.mtimeMs).dead) rmSync(join(dir, n), { force: true });
    else live.push(h.owner);
  }
  return live;
}

/** The store to itself (gc, verify): refuses with StoreBusy when runs keep holding it. */
export async function acquireExclusive(storeRoot: string, o: LeaseOptions, waitMs = LEASE_WAIT_MS): Promise<() => void> {
  const root = resolve(storeRoot);
  if (held.has(root)) throw new Error(`internal: this process already holds the store ${storeRoot}`);
  const dir = dirOf(root);
  const path = join(dir, 'exclusive.lock');
  const content = JSON.stringify(selfOwner());
  const what = o.purpose ?? 'this command';
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (createExclusive(path, content, dir)) break;
    const h = readHolder(path);
    if (!h) continue;
    if (liveness(h.owner, h.mtimeMs).dead) {
      if (!breakLock(path, h, dir)) await sleep(50);
      continue;
    }
    if (Date.now() > deadline) throw new StoreBusy(`${what} needs the store ${storeRoot} to itself, but ${describeOwner(h.owner)} holds it; try again when it has finished`);
    await sleep(200);
  }
  dropAllAtExit();
  beat(path);
  held.set(root, { mode: 'exclusive', count: 1, file: path, content });
  const release = releaser(root);
  let told = false;
  for (;;) {
    const live = liveSharers(dir);
    if (live.length === 0) return release;
    if (Date.now() > deadline) {
      release();
      throw new StoreBusy(
        `${what} needs the store ${storeRoot} to itself, but it is in use by ${live.length === 1 ? 'a running process' : `${live.length} running processes`}: ${live.map(describeOwner).join('; ')}. ` +
          'Try again when they have finished (gc and verify never delete or move what a run is writing).',
      );
    }
    if (!told) {
      told = true;
      o.warn(`waiting up to ${Math.round(waitMs / 1000)} s for ${live.map(describeOwner).join('; ')} to release the store`);
    }
    await sleep(200);
  }
}
