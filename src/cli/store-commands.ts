// `pipeline ls`, `gc` and `verify`: what is cached, dropping what nothing references, re-hashing.
// gc and verify take the store's exclusive lease (store/lease.ts): while a run or status holds a
// shared one they wait a few seconds, then refuse rather than delete what a run is still storing.
import { releaseByPolicy } from '../engine/release.js';
import { readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { Engine } from '../engine/engine.js';
import type { Fingerprint, RunRecord } from '../engine/store/run-record.js';
import { hashFile } from '../engine/store/fs-util.js';
import { acquireExclusive } from '../engine/store/lease.js';
import { readMetaSync } from '../engine/store/damage.js';
import type { ManifestEntry } from '../engine/store/store.js';
import { engineOptions, EXIT, type GlobalOpts } from './main.js';
import { bytesText } from './bytes.js';

export async function lsCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const states = await engine.status();
  const rows = [...states].map(([id, s]) => ({
    id,
    state: s.state,
    key: 'key' in s ? s.key : null,
    ranAt: s.state === 'fresh' ? s.record.endedAt : null,
    outputs: s.state === 'fresh' ? Object.fromEntries(Object.entries(s.record.outputs).map(([n, o]) => [n, { digest: o.digest, size: o.size, path: o.materialize ?? null }])) : {},
  }));
  if (f['json'] || g.json) {
    process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
    return EXIT.ok;
  }
  let total = 0;
  for (const r of rows) {
    const outs = Object.entries(r.outputs).map(([n, o]) => `${n}=${o.digest.slice(0, 10)} ${bytesText(o.size)}${o.path ? ` (${o.path})` : ''}`);
    total += Object.values(r.outputs).reduce((a, o) => a + o.size, 0);
    process.stdout.write(`${r.state.padEnd(7)} ${r.id}${r.key ? `  ${r.key.slice(0, 10)}` : ''}${outs.length ? `  ${outs.join('  ')}` : ''}\n`);
  }
  process.stdout.write(`${rows.length} stages, ${bytesText(total)} of outputs in ${engine.store.root}\n`);
  return EXIT.ok;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

async function referenced(engine: Engine, keepRuns: number): Promise<{ keys: Set<string>; digests: Set<string> }> {
  const keys = new Set<string>();
  for (const s of (await engine.status()).values()) if (s.state === 'fresh') keys.add(s.key);
  const hist = (await fs.readdir(engine.store.dir('history')).catch(() => [] as string[])).sort().slice(keepRuns > 0 ? -keepRuns : Infinity);
  for (const h of hist) {
    const data = readMetaSync<{ keys: string[] }>(join(engine.store.dir('history'), h), (v) => Array.isArray((v as { keys?: unknown }).keys));
    data?.keys.forEach((k) => keys.add(k));
  }
  const digests = new Set<string>();
  for (const k of keys) {
    const r: RunRecord | undefined = await engine.store.readRun(k);
    if (!r) continue;
    for (const o of Object.values(r.outputs)) {
      digests.add(o.digest);
      if (o.type === 'dir') for (const e of await engine.store.readManifest(o.digest).catch(() => [])) digests.add(e.digest);
    }
  }
  return { keys, digests };
}

/** Run `fn` with the store to itself; StoreBusy (a clear message, exit 1) when runs keep it. */
async function exclusively<T>(engine: Engine, purpose: string, fn: () => Promise<T>): Promise<T> {
  const release = await acquireExclusive(engine.store.root, { warn: (m) => void process.stderr.write(`${m}\n`), purpose });
  try {
    return await fn();
  } finally {
    release();
  }
}

export async function gcCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  return exclusively(engine, 'pipeline gc', () => gc(engine, f, g));
}

async function gc(engine: Engine, f: Record<string, unknown>, _g: GlobalOpts): Promise<number> {
  const dry = !!f['dryRun'];
  const { keys, digests } = await referenced(engine, Number(f['keepRuns'] ?? 3));
  // What the models' retain policies release (their records stay, marked released): retain.ts decides.
  const released = dry ? { stages: [], bytes: 0 } : await releaseByPolicy(engine.store, engine.graph, await engine.status(), keys);
  let objects = 0;
  let bytes = 0;
  let runs = 0;
  for (const p of await walk(engine.store.dir('objects'))) {
    const d = p.split('/').slice(-2).join('');
    if (digests.has(d)) continue;
    objects++;
    bytes += (await fs.stat(p)).size;
    if (!dry) await fs.rm(p, { force: true });
  }
  for (const p of await walk(engine.store.dir('runs'))) {
    const name = p.split('/').pop()!;
    const k = name.replace(/(\.fingerprint)?\.json$/, '');
    if (keys.has(k)) continue;
    if (!name.endsWith('.fingerprint.json')) runs++;
    if (!dry) {
      await fs.rm(p, { force: true });
      await fs.rm(engine.store.logPath(k), { force: true });
    }
  }
  for (const t of await fs.readdir(engine.store.dir('trees')).catch(() => [] as string[])) {
    if (!digests.has(t) && !dry) await fs.rm(join(engine.store.dir('trees'), t), { recursive: true, force: true });
  }
  // The per-request results cache is keyed by the scored model's folder digest: it goes with the model.
  let models = 0;
  for (const m of await fs.readdir(engine.store.dir('requests')).catch(() => [] as string[])) {
    if (digests.has(m)) continue;
    models++;
    const dir = join(engine.store.dir('requests'), m);
    for (const p of await walk(dir)) bytes += (await fs.stat(p)).size;
    if (!dry) await fs.rm(dir, { recursive: true, force: true });
  }
  const cached = (models ? `, and the request results of ${models} model${models === 1 ? '' : 's'} no run uses` : '')
    + (released.stages.length ? `; released ${released.stages.length} checkpoint(s) or converted model(s) by their retain policy (${bytesText(released.bytes)})` : '');
  process.stdout.write(`${dry ? 'would remove' : 'removed'} ${objects} objects (${bytesText(bytes)}) and ${runs} run records${cached}; kept ${digests.size} objects referenced by ${keys.size} runs\n`);
  return EXIT.ok;
}

export async function verifyCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  return exclusively(engine, 'pipeline verify', () => verify(engine, f, g));
}

async function verify(engine: Engine, f: Record<string, unknown>, g: GlobalOpts): Promise<number> {
  const corrupt: string[] = [];
  let n = 0;
  for (const p of await walk(engine.store.dir('objects'))) {
    n++;
    const d = p.split('/').slice(-2).join('');
    if ((await hashFile(p)) === d) continue;
    corrupt.push(d);
    const q = join(engine.store.dir('quarantine'), d);
    await fs.mkdir(engine.store.dir('quarantine'), { recursive: true });
    await fs.rename(p, q);
  }
  // Checked-out trees hard-link the objects: drop any that contain a corrupt file.
  if (corrupt.length) {
    const bad = new Set(corrupt);
    for (const t of await fs.readdir(engine.store.dir('trees')).catch(() => [] as string[])) {
      const entries = await engine.store.readManifest(t).catch(() => undefined);
      if (!entries || bad.has(t) || entries.some((e) => bad.has(e.digest))) await fs.rm(join(engine.store.dir('trees'), t), { recursive: true, force: true });
    }
  }
  // What was computed from the bad bytes is wrong too, although the object itself will be
  // recomputed to the same digest (so its consumers' keys would not change): forget every run whose
  // inputs included a corrupt object (or a folder containing one), so it re-runs.
  const recomputed = corrupt.length ? await forgetConsumers(engine, new Set(corrupt)) : [];
  // Stages whose outputs were quarantined or whose records were forgotten are stale now; say which.
  const affected: string[] = [];
  if (corrupt.length) for (const [id, s] of await engine.status()) if (s.state !== 'fresh' && s.state !== 'waiting' && s.state !== 'blocked') affected.push(id);
  if (f['json'] || g.json) process.stdout.write(JSON.stringify({ objects: n, corrupt, affected, recomputed }) + '\n');
  else {
    process.stdout.write(`${n} objects checked, ${corrupt.length} corrupt\n`);
    for (const c of corrupt) process.stdout.write(`  quarantined ${c} → ${join(engine.store.dir('quarantine'), c)}\n`);
    if (recomputed.length) process.stdout.write(`computed from corrupt inputs, so forgotten: ${recomputed.join(', ')}\n`);
    if (affected.length) process.stdout.write(`stages that will re-run: ${affected.join(', ')}\n`);
  }
  return corrupt.length ? EXIT.corrupt : EXIT.ok;
}

/** Forget every run record whose fingerprint names a bad digest as an input, directly or as a file
 * of an input folder. Returns their stage ids. */
async function forgetConsumers(engine: Engine, bad: Set<string>): Promise<string[]> {
  const store = engine.store;
  const memo = new Map<string, boolean>();
  const tainted = (d: string): boolean => {
    if (bad.has(d)) return true;
    let hit = memo.get(d);
    if (hit === undefined) {
      hit = false;
      try {
        const p = store.objectPath(d);
        // Only a folder manifest can contain other objects; it is canonical JSON starting so.
        if (statSync(p).size < 64 * 1024 * 1024) {
          const text = readFileSync(p, 'utf8');
          if (text.startsWith('[{"digest":')) hit = (JSON.parse(text) as ManifestEntry[]).some((e) => bad.has(e.digest));
        }
      } catch {
        hit = false;
      }
      memo.set(d, hit);
    }
    return hit;
  };
  const ids: string[] = [];
  for (const p of await walk(store.dir('runs'))) {
    if (!p.endsWith('.fingerprint.json')) continue;
    const fp = readMetaSync<Fingerprint>(p, (v) => typeof v === 'object' && v !== null && typeof (v as Fingerprint).inputs === 'object');
    if (!fp) continue;
    const uses = Object.values(fp.inputs).some((outs) => Object.values(outs).some(tainted));
    if (!uses) continue;
    const key = p.split('/').pop()!.replace(/\.fingerprint\.json$/, '');
    const rec = await store.readRun(key);
    await store.forgetRun(key);
    if (rec) ids.push(rec.stageId);
  }
  return ids.sort();
}
