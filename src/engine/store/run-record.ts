// The run record: the commit marker of one stage execution, written last. Its file also carries
// the whole fingerprint (Store.readFingerprint) so a later run can say, field by field, why a
// stage is stale; readRun leaves it out.

export interface StoredOutput {
  digest: string;
  type: 'file' | 'dir';
  size: number;
  materialize?: string;
}

export interface RunRecord {
  key: string;
  stageId: string;
  kind: string;
  outputs: Record<string, StoredOutput>;
  /** Facts the stage recorded (counters, warnings, resolved commit, generation settings). */
  info: Record<string, unknown>;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  executor: string;
  host: string;
  pid: number;
  /** Relative to the store root. */
  log: string;
}

/** Every ingredient of a stage's key, each named so a miss can be explained field by field. */
export interface Fingerprint {
  /** The stage kind: which implementation runs. */
  kind: string;
  /** Digest of the kind's source files and of the library versions that change its numbers. */
  code: string;
  /** Resolved params after var interpolation and task defaults. */
  params: Record<string, unknown>;
  /** The matrix binding (it names the outputs and selects the items). */
  vars: Record<string, unknown>;
  /** What the kind resolved before running: a hub commit, a local folder digest, display metadata. */
  plan: Record<string, unknown>;
  /** Upstream stage id → output name → digest. */
  inputs: Record<string, Record<string, string>>;
  /** Declared outputs and where they are materialised. */
  outputs: Record<string, string>;
}
