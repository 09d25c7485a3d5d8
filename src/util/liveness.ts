// The one liveness check of the project: is the process that owns a lock, a lease or a staging
// folder provably gone? The store may sit on a cluster filesystem used from several hosts, so an
// owner is named by host (+ boot id) and pid (+ the process's start time), and proves it is alive on
// other hosts by a heartbeat: the mtime of a file it refreshes every HEARTBEAT_MS (docs/store.md).
//
// Dead means: on this host, its pid is gone, was reused by another process, or the host rebooted
// since; on another host, its heartbeat is older than STALE_MS. A stopped (Ctrl-Z) or busy process
// on this host is alive: only its pid decides there, because pids are a proof and clocks are not.
// "This host" means the same host name, boot id and PID namespace: two containers on one machine
// (Apptainer --pid, `unshare -p`, pods) share the first two but not their pids, so an owner in
// another PID namespace is judged by its heartbeat, as an owner on another host is.
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';

function envMs(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/** How often a live owner refreshes its heartbeat files. */
export const HEARTBEAT_MS = envMs('PIPELINE_HEARTBEAT_MS', 10_000);
/** A heartbeat older than this (10 beats) marks its owner dead on any other host. Clocks of the
 * hosts sharing a store must agree to well within this. */
export const STALE_MS = 10 * HEARTBEAT_MS;

/** Who holds something: written into every lock, lease and owner record. */
export interface Owner {
  /** Random per process: names this process's staging entries and owner record. */
  token: string;
  host: string;
  /** Linux boot id: the same host name with another boot id is a reboot, so the owner is gone. */
  boot?: string;
  pid: number;
  /** The process's start time (clock ticks since boot): tells a reused pid from the owner. */
  start?: number;
  /** Its PID namespace (`pid:[4026531836]`, the link /proc/self/ns/pid): a pid means something
   * only in the namespace it was written from. */
  pidns?: string;
  /** The command line after `pipeline`, for messages ("pipeline gc", "pipeline run --only x"). */
  argv: string;
  since: string;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const BOOT = readOr('/proc/sys/kernel/random/boot_id');
const HOST = hostname();

function readLinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** This process's PID namespace; undefined where there is no /proc. */
export const PIDNS = readLinkOr('/proc/self/ns/pid');

/** Start time of a process from /proc (Linux); undefined where there is no /proc. */
export function processStart(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Field 22 (starttime); the command name (field 2) may contain spaces, so count from its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : undefined;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let self: Owner | undefined;
/** This process, as an owner. */
export function selfOwner(): Owner {
  if (!self) {
    const token = randomBytes(6).toString('hex');
    self = { token, host: HOST, pid: process.pid, argv: process.argv.slice(2).join(' ').slice(0, 200), since: new Date().toISOString() };
    if (BOOT) self.boot = BOOT;
    if (PIDNS) self.pidns = PIDNS;
    const start = processStart(process.pid);
    if (start !== undefined) self.start = start;
  }
  return self;
}

/** Parse an owner written by any version; undefined when it is not one (unreadable, legacy). */
export function parseOwner(text: string | undefined): Owner | undefined {
  if (!text) return undefined;
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.token === 'string') return o as Owner;
  } catch {
    /* unreadable */
  }
  return undefined;
}

export type Liveness = { dead: true; why: string } | { dead: false };

/**
 * The liveness check. `heartbeatMs` is the mtime of the owner's heartbeat file (or of the thing
 * itself when the owner is unreadable); an unreadable owner is dead once its heartbeat is stale,
 * so damage never makes anyone wait for ever.
 */
export function liveness(owner: Owner | undefined, heartbeatMs: number | undefined, now = Date.now()): Liveness {
  const age = heartbeatMs === undefined ? Infinity : now - heartbeatMs;
  if (!owner) return age > STALE_MS ? { dead: true, why: `unreadable, untouched for ${Math.round(age / 1000)} s` } : { dead: false };
  // Same host name, but another PID namespace: its pid says nothing here, its heartbeat does.
  const foreignNs = owner.host === HOST && !!owner.pidns && !!PIDNS && owner.pidns !== PIDNS && !(owner.boot && BOOT && owner.boot !== BOOT);
  if (owner.host === HOST && !foreignNs) {
    if (owner.boot && BOOT && owner.boot !== BOOT) return { dead: true, why: `host ${HOST} rebooted since` };
    if (!pidAlive(owner.pid)) return { dead: true, why: `pid ${owner.pid} is not running on ${HOST}` };
    if (owner.start !== undefined) {
      const start = processStart(owner.pid);
      if (start !== undefined && start !== owner.start) return { dead: true, why: `pid ${owner.pid} on ${HOST} is another process now` };
    }
    return { dead: false };
  }
  const where = foreignNs ? `host ${owner.host} in another PID namespace (${owner.pidns})` : `host ${owner.host}`;
  return age > STALE_MS ? { dead: true, why: `no heartbeat from ${where} for ${Math.round(age / 1000)} s` } : { dead: false };
}

/** "`pipeline run` (pid 123 on host h, since 12:00:01)" */
export function describeOwner(owner: Owner | undefined): string {
  if (!owner) return 'an unknown process (its owner file is unreadable)';
  return `\`pipeline ${owner.argv || '…'}\` (pid ${owner.pid} on host ${owner.host}, since ${owner.since})`;
}

// ---- heartbeat -------------------------------------------------------------------------------

const beating = new Set<string>();
let timer: NodeJS.Timeout | undefined;

/** Refresh this file's mtime every HEARTBEAT_MS while this process lives (until `stopBeat`). */
export function beat(path: string): void {
  beating.add(path);
  if (!timer) {
    timer = setInterval(() => {
      const t = new Date();
      for (const p of beating) {
        try {
          utimesSync(p, t, t);
        } catch {
          beating.delete(p); // removed (released or taken over): nothing left to keep alive
        }
      }
    }, HEARTBEAT_MS);
    timer.unref();
  }
}

export function stopBeat(path: string): void {
  beating.delete(path);
}
