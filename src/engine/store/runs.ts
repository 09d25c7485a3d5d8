// The store's run-records part: what was done and how it went. Run records, each carrying its
// fingerprint, by key (runs/ab/<key>.json; a store from before kept the fingerprint beside it in
// <key>.fingerprint.json), the pointer to each stage id's last successful key (stages/), each
// stage's last failure (failures/), stage logs (logs/), the keys of every run (history/, for gc
// --keep-runs) and what was last materialised where (materialized.json). A
// damaged file reads as absent and is quarantined (damage.ts): the stage it described re-runs.
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256 } from '../canonical.js';
import { isFailure, type Failure } from '../failure.js';
import { readMetaSync } from './damage.js';
import { ensureDir, withPath, writeFileAtomic } from './fs-util.js';
import type { Fingerprint, RunRecord } from './run-record.js';

export class RunRecords {
  readonly runsDir: string;
  readonly stagesDir: string;
  readonly failuresDir: string;
  readonly logsDir: string;
  readonly historyDir: string;
  /** released/<key>.json: the run's large outputs left the store by a retain policy (retain.ts). */
  readonly releasedDir: string;
  /** What was last written at each materialised path (materialize.ts reads and writes it). */
  readonly materializedFile: string;

  constructor(readonly root: string) {
    this.runsDir = join(root, 'runs');
    this.stagesDir = join(root, 'stages');
    this.failuresDir = join(root, 'failures');
    this.logsDir = join(root, 'logs');
    this.historyDir = join(root, 'history');
    this.releasedDir = join(root, 'released');
    this.materializedFile = join(root, 'materialized.json');
  }

  runPath(key: string): string {
    return join(this.runsDir, key.slice(0, 2), `${key}.json`);
  }

  /** A damaged record is quarantined and reads as absent: the stage re-runs (damage.ts). The
   * fingerprint it carries is left out: most readers (a no-op run reads every record) need none. */
  async readRun(key: string): Promise<RunRecord | undefined> {
    const v = readMetaSync<RunRecord & { fingerprint?: unknown }>(this.runPath(key), isRunRecord);
    if (!v || !('fingerprint' in v)) return v;
    const { fingerprint: _, ...record } = v;
    return record;
  }

  /** Where a store written before fingerprints moved into the run record keeps a key's
   * fingerprint (still read; removed with its record). */
  fingerprintPath(key: string): string {
    return join(this.runsDir, key.slice(0, 2), `${key}.fingerprint.json`);
  }

  /** The fingerprint of a run: in its record, or (a store from before) in the file beside it. */
  async readFingerprint(key: string): Promise<Fingerprint | undefined> {
    const inRecord = readMetaSync<{ fingerprint?: unknown }>(this.runPath(key), isRunRecord)?.fingerprint;
    if (isFingerprint(inRecord)) return inRecord;
    if (!existsSync(this.fingerprintPath(key))) return undefined;
    return readMetaSync<Fingerprint>(this.fingerprintPath(key), isFingerprint);
  }

  /** The commit marker: written last, after every output is stored. It carries the fingerprint
   * (one file staged and renamed per run, not two: a run of many small stages is bound by file
   * creations), after the record's own fields, on one line. */
  async writeRun(record: RunRecord & { fingerprint?: Fingerprint }): Promise<string> {
    const { fingerprint, ...rest } = record;
    // Every file is staged and renamed: a reader that found a half-written one would quarantine it.
    const p = this.runPath(record.key);
    const text = JSON.stringify(rest, null, 1);
    await writeFileAtomic(p, fingerprint ? `${text.slice(0, -2)},\n "fingerprint": ${JSON.stringify(fingerprint)}\n}` : text);
    await writeFileAtomic(this.stagePointer(record.stageId), JSON.stringify({ id: record.stageId, key: record.key }));
    unlinkQuiet(this.failurePath(record.stageId));
    unlinkQuiet(this.releasedPath(record.key)); // its outputs are stored again
    return p;
  }

  // ---- outputs released by a retain policy (retain.ts) -----------------------------------------

  releasedPath(key: string): string {
    return join(this.releasedDir, key.slice(0, 2), `${key}.json`);
  }

  /** The record of a run whose outputs a retain policy released: its key and digests still stand
   * (its consumers' keys do not change), its large files are gone until a stage needs them again. */
  async releasedRun(key: string): Promise<RunRecord | undefined> {
    if (!existsSync(this.releasedPath(key))) return undefined;
    return this.readRun(key);
  }

  /** Mark a run released; written before its files go, so a crash halfway reads as released, never as fresh. */
  async markReleased(record: RunRecord): Promise<void> {
    await writeFileAtomic(this.releasedPath(record.key), JSON.stringify({ key: record.key, stageId: record.stageId, at: new Date().toISOString() }));
  }

  /** Remove a run record (verify does this when an output it names is corrupt). */
  async forgetRun(key: string): Promise<void> {
    await fs.rm(this.runPath(key), { force: true });
    await fs.rm(this.fingerprintPath(key), { force: true });
  }

  private stagePointer(stageId: string): string {
    return join(this.stagesDir, `${sha256(stageId).slice(0, 32)}.json`);
  }

  /** Every key with a run record or a fingerprint in the store (gc, verify). */
  async keys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const shard of await fs.readdir(this.runsDir).catch(() => [] as string[])) {
      for (const f of await fs.readdir(join(this.runsDir, shard)).catch(() => [] as string[])) {
        const m = /^([0-9a-f]{64})(\.fingerprint)?\.json$/.exec(f);
        if (m) keys.add(m[1]!);
      }
    }
    return [...keys].sort();
  }

  /** Remove a run entirely: its record, fingerprint and log (gc: no current stage or recent run uses it). */
  async remove(key: string): Promise<void> {
    await this.forgetRun(key);
    await fs.rm(this.logPath(key), { force: true });
  }

  /** The keys the last `n` runs used (history/), newest last; n = 0: none. */
  async recentKeys(n: number): Promise<Set<string>> {
    const keys = new Set<string>();
    if (!(n > 0)) return keys;
    const entries = (await fs.readdir(this.historyDir).catch(() => [] as string[])).sort().slice(-n);
    for (const h of entries) {
      const data = readMetaSync<{ keys: string[] }>(join(this.historyDir, h), (v) => isObject(v) && Array.isArray(v['keys']));
      data?.keys.forEach((k) => keys.add(k));
    }
    return keys;
  }

  /** The key of the last successful run of a stage id, for "why is this stale". */
  async lastKey(stageId: string): Promise<string | undefined> {
    return readMetaSync<{ key: string }>(this.stagePointer(stageId), (v) => isObject(v) && typeof v['key'] === 'string')?.key;
  }

  failurePath(stageId: string): string {
    return join(this.failuresDir, `${sha256(stageId).slice(0, 32)}.json`);
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
    return join(this.logsDir, key.slice(0, 2), `${key}.log`);
  }

  /** A stage's log, written once as the stage ends (most stages log a few lines). Not staged: a
   * log cut short by a full disk is still worth reading, and nothing trusts it. */
  async writeLog(key: string, text: string): Promise<void> {
    const p = this.logPath(key);
    await ensureDir(dirname(p));
    try {
      writeFileSync(p, text);
    } catch (e: unknown) {
      throw withPath(e, p);
    }
  }

  /** One run's entry in history/: when, its summary, and every key it used (gc keeps the last
   * --keep-runs runs' objects). */
  async writeHistory(entry: { at: string; summary: unknown; keys: string[] }): Promise<void> {
    await writeFileAtomic(join(this.historyDir, `${entry.at.replace(/[:.]/g, '-')}-${process.pid}.json`), JSON.stringify(entry));
  }
}

/** Remove a file that is usually absent: one unlink (rmSync with force stats it first, twice). */
function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFingerprint(v: unknown): v is Fingerprint {
  return isObject(v) && isObject(v['inputs']);
}

function isRunRecord(v: unknown): boolean {
  return isObject(v) && typeof v['key'] === 'string' && typeof v['stageId'] === 'string' && isObject(v['outputs']) && isObject(v['info']);
}
