// The content-addressed store under cache/ (DESIGN.md "Content addressing"), as one object for
// its callers. Each area on disk has one owning part (index.ts lists them); this facade builds the
// parts, routes the store's warnings, and keeps the methods callers used before the split.
import { join } from 'node:path';
import type { Failure } from '../failure.js';
import type { StageInput } from '../kind.js';
import { Caches } from './caches.js';
import { registerStoreRoot } from './damage.js';
import { Integrity } from './integrity.js';
import { Objects, type AdoptOps, type ManifestEntry } from './objects.js';
import type { Fingerprint, RunRecord } from './run-record.js';
import { RunRecords } from './runs.js';
import { Session } from './session.js';
import type { StatCache } from './stat-cache.js';

export { manifestBytes, storeRootOfOutput, type ManifestEntry } from './objects.js';

type Area = 'objects' | 'trees' | 'runs' | 'stages' | 'tmp' | 'locks' | 'leases' | 'owners' | 'logs' | 'quarantine' | 'failures' | 'history' | 'invocations' | 'requests' | 'released';

export class Store {
  readonly root: string;
  /** Session: owners/, tmp/ (staging), locks/, leases/. */
  readonly session: Session;
  /** Objects: objects/, trees/, stat-cache.json. */
  readonly objects: Objects;
  /** Integrity: quarantine/ (damage.ts: quarantine/meta/). */
  readonly integrity: Integrity;
  /** Run records: runs/, stages/, failures/, logs/, history/, materialized.json. */
  readonly runs: RunRecords;
  /** Caches: compiled/, refs/, requests/ and caches/ (stage kinds' folders). */
  readonly caches: Caches;
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
    const warn = (m: string): void => this.warnTo(m);
    this.session = new Session(root, warn);
    this.objects = new Objects(root, this.session, (d) => this.integrity.intactOrQuarantined(d));
    this.integrity = new Integrity(root, this.objects, warn);
    this.runs = new RunRecords(root);
    this.caches = new Caches(root);
    registerStoreRoot(root, warn);
  }

  /** An area's folder, for readers (inspect, the report, gc). Writers go through the area's owner. */
  dir(name: Area): string {
    return join(this.root, name);
  }

  get stat(): StatCache {
    return this.objects.stat;
  }

  // ---- session -----------------------------------------------------------------------------

  /** Take a shared lease (run, status: gc and verify wait or refuse meanwhile) and clean up what
   * dead processes left. Released by close(). */
  init(signal?: AbortSignal): Promise<void> {
    return this.session.init(signal);
  }
  cleanTmp(): Promise<void> {
    return this.session.cleanTmp();
  }
  makeTmp(label: string): Promise<string> {
    return this.session.makeTmp(label);
  }
  lock(key: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    return this.session.lock(key, signal);
  }

  // ---- objects -----------------------------------------------------------------------------

  objectPath(digest: string): string {
    return this.objects.objectPath(digest);
  }
  hasObject(digest: string): Promise<boolean> {
    return this.objects.hasObject(digest);
  }
  putFile(src: string, opts: { adopt?: boolean } = {}): Promise<string> {
    return this.objects.putFile(src, opts);
  }
  putBytes(data: string | Uint8Array): Promise<string> {
    return this.objects.putBytes(data);
  }
  putTree(src: string, opts: { adopt?: boolean } = {}): Promise<string> {
    return this.objects.putTree(src, opts);
  }
  get adoptOps(): AdoptOps {
    return this.objects.adoptOps;
  }
  set adoptOps(ops: AdoptOps) {
    this.objects.adoptOps = ops;
  }
  get adopted(): Objects['adopted'] {
    return this.objects.adopted;
  }

  // ---- outputs released by a retain policy (retain.ts) ----------------------------------------

  releasedRun(key: string): Promise<RunRecord | undefined> {
    return this.runs.releasedRun(key);
  }

  /** Release a run's outputs: its record stays, marked released first; its files over 4 MiB that
   * `stillUsed` does not claim leave objects/, and its checked-out trees go. The bytes removed
   * (with `dryRun`: that would be; nothing is touched). */
  async release(record: RunRecord, stillUsed: (digest: string) => boolean, dryRun = false): Promise<number> {
    if (!dryRun) await this.runs.markReleased(record);
    let bytes = 0;
    for (const o of Object.values(record.outputs)) bytes += await this.objects.releaseLarge(o, stillUsed, dryRun);
    return bytes;
  }
  readManifest(digest: string): Promise<ManifestEntry[]> {
    return this.objects.readManifest(digest);
  }
  checkoutTree(digest: string): Promise<string> {
    return this.objects.checkoutTree(digest);
  }
  hasOutput(digest: string, type: 'file' | 'dir'): Promise<boolean> {
    return this.objects.hasOutput(digest, type);
  }
  outputPath(digest: string, type: 'file' | 'dir'): Promise<string> {
    return this.objects.outputPath(digest, type);
  }
  digestPath(path: string): Promise<{ digest: string; type: 'file' | 'dir' }> {
    return this.objects.digestPath(path);
  }

  // ---- run records -------------------------------------------------------------------------

  runPath(key: string): string {
    return this.runs.runPath(key);
  }
  readRun(key: string): Promise<RunRecord | undefined> {
    return this.runs.readRun(key);
  }
  fingerprintPath(key: string): string {
    return this.runs.fingerprintPath(key);
  }
  readFingerprint(key: string): Promise<Fingerprint | undefined> {
    return this.runs.readFingerprint(key);
  }
  writeRun(record: RunRecord & { fingerprint?: Fingerprint }): Promise<string> {
    return this.runs.writeRun(record);
  }
  forgetRun(key: string): Promise<void> {
    return this.runs.forgetRun(key);
  }
  lastKey(stageId: string): Promise<string | undefined> {
    return this.runs.lastKey(stageId);
  }
  failurePath(stageId: string): string {
    return this.runs.failurePath(stageId);
  }
  writeFailure(stageId: string, key: string, failure: Failure): Promise<void> {
    return this.runs.writeFailure(stageId, key, failure);
  }
  readFailure(stageId: string): Promise<{ key: string; failure: Failure; at: string } | undefined> {
    return this.runs.readFailure(stageId);
  }
  logPath(key: string): string {
    return this.runs.logPath(key);
  }

  // ---- integrity ---------------------------------------------------------------------------

  objectIntact(digest: string): Promise<boolean> {
    return this.integrity.objectIntact(digest);
  }
  quarantineObject(digest: string, trees: string[] = []): string {
    return this.integrity.quarantineObject(digest, trees);
  }
  checkInputs(inputs: StageInput[]): Promise<void> {
    return this.integrity.checkInputs(inputs);
  }

  async close(): Promise<void> {
    try {
      await this.objects.stat.flush();
    } catch (e: unknown) {
      // Only a cache: a full disk costs some re-hashing next time, never the command.
      const full = isFull(e);
      if (!(full && this.saidFull)) this.warnTo(`could not save the stat cache: ${(e as Error).message}`);
      if (full) this.saidFull = true;
    } finally {
      this.session.release();
    }
  }
}

function isFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}
