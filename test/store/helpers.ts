// Forging what another process, on this host or another, leaves in a store: owner records with a
// heartbeat, staging folders, stage locks and leases (docs/store.md).
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Rig } from '../engine/rig.js';

export interface Forged {
  token: string;
  host: string;
  pid: number;
}

/** An owner on a made-up host (its pid means nothing here), or on this host with a given pid. */
export function owner(token: string, opts: { host?: string; pid?: number } = {}): Forged {
  return { token, host: opts.host ?? 'node17.other-cluster.example', pid: opts.pid ?? 4_000_000 };
}

function json(o: Forged): string {
  return JSON.stringify({ ...o, argv: 'run', since: new Date().toISOString() });
}

/** Set a file's mtime `ageMs` in the past (an old heartbeat). */
export function age(path: string, ageMs: number): void {
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}

export function forgeOwner(r: Rig, o: Forged): string {
  const p = join(r.dir, 'cache', 'owners', `${o.token}.json`);
  mkdirSync(join(r.dir, 'cache', 'owners'), { recursive: true });
  writeFileSync(p, json(o));
  return p;
}

export function forgeStaging(r: Rig, o: Forged, label = 'stage'): string {
  const p = join(r.dir, 'cache', 'tmp', `${o.token}-0a1b2c3d-${label}`);
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'half-written.txt'), 'x');
  return p;
}

export function forgeLock(r: Rig, o: Forged, key: string): string {
  const p = join(r.dir, 'cache', 'locks', `${key}.lock`);
  mkdirSync(join(r.dir, 'cache', 'locks'), { recursive: true });
  writeFileSync(p, json(o));
  return p;
}

export function forgeExclusiveLease(r: Rig, o: Forged): string {
  const p = join(r.dir, 'cache', 'leases', 'exclusive.lock');
  mkdirSync(join(r.dir, 'cache', 'leases'), { recursive: true });
  writeFileSync(p, JSON.stringify({ ...o, argv: 'gc', since: new Date().toISOString() }));
  return p;
}

export const THIS_HOST = hostname();

export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (let t = 0; t < ms; t += 50) {
    if (cond()) return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return cond();
}

export function keyOf(r: Rig, id: string): string {
  const st = JSON.parse(r.cli(['status', '--json']).stdout) as { id: string; key: string | null }[];
  const k = st.find((s) => s.id === id)?.key;
  if (!k) throw new Error(`no key for ${id}`);
  return k;
}

/** Rewrite a run record as a store from before fingerprints moved into the record kept it: the
 * fingerprint in `<key>.fingerprint.json` beside a record without one. Returns that file's path. */
export function toOldFormat(r: Rig, key: string): string {
  const dir = join(r.dir, 'cache', 'runs', key.slice(0, 2));
  const rec = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Record<string, unknown>;
  const { fingerprint, ...rest } = rec;
  if (!fingerprint) throw new Error(`the record of ${key} carries no fingerprint`);
  const fp = join(dir, `${key}.fingerprint.json`);
  writeFileSync(fp, JSON.stringify(fingerprint));
  writeFileSync(join(dir, `${key}.json`), JSON.stringify(rest, null, 1));
  return fp;
}
