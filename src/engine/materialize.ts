// Materialisation: copies of stored outputs at their declared working-tree paths (output/…,
// configs/…, processed_data/…). They are copies (reflinks where possible), so a user editing one
// never alters the store; an edited copy is reported by `status`, and a run restores the stored
// version after keeping the edit beside it (nothing the user wrote is lost).
//
// What was last written at each path is remembered in `<store>/materialized.json`, with the
// pipeline file and the stage that wrote it. That record is what lets the engine
//  - replace a copy it wrote itself without fuss (it is not a hand edit),
//  - refuse to write over a file another pipeline file in the same folder wrote,
//  - remove the results of stages that are no longer in the pipeline (when unchanged since).
import * as fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunRecord, StoredOutput } from './store/run-record.js';
import type { Store } from './store/store.js';
import { copyFileFast, readJsonSync, writeFileAtomic } from './store/fs-util.js';

/** What the engine wrote at one working-tree path. */
export interface WrittenEntry {
  digest: string;
  /** The pipeline file that wrote it, relative to the project folder (absent in records before v2). */
  pipeline?: string;
  /** The stage whose output it is. */
  stage?: string;
  /** Written by a throw-away pipeline (`pipeline score`): any other pipeline may take it over. */
  scratch?: boolean;
  /** The project folder it was written in: a store shared by several projects (`--store`) holds
   * entries of each; only this project's are checked and pruned. */
  project?: string;
}

interface RecordFile {
  version: 2;
  files: Record<string, WrittenEntry>;
  /** The run key whose results the working tree holds, per stage: `JSON [project, pipeline, stage]`
   * → key. "Why is this stale" and "what a run would switch" compare against it, not against the
   * last key that ran (which may be another setting's: `--set limit=20`, then the default). */
  current?: Record<string, string>;
}

/** What a fresh stage's working copies are, against its record (nothing to do when all empty). */
export interface Drift {
  /** Differ from the store and from what the engine wrote: edited by hand (restored, edit kept). */
  edited: string[];
  /** Absent from the working tree (deleted): written again from the store. */
  missing: string[];
  /** Hold what the engine wrote for another key of the stage (other settings): replaced. */
  switched: string[];
}

/** What `ensure` did to the working tree; `from` is the key whose results it held before, when known. */
export interface Ensured {
  /** Edited copies restored, each with where the edit was kept. */
  restored: string[];
  recreated: string[];
  switched: string[];
  from?: string;
}

/** Who is materialising: the pipeline file, and (for pruning) the stage ids it has now. */
export interface Owner {
  /** The pipeline file relative to the project folder (`pipeline.yaml`). */
  pipeline: string;
  /** Every stage id of the pipeline as it is now; without it, nothing is pruned. */
  stages?: ReadonlySet<string>;
  scratch?: boolean;
}

/** A path this pipeline would write that another pipeline file wrote. */
export interface Conflict {
  path: string;
  stage: string;
  other: string;
}

/** The result of removing the materialised results of stages that no longer exist. */
export interface Pruned {
  /** Removed (or, in a dry run, to be removed): unchanged since the engine wrote them. */
  removed: { path: string; stage: string }[];
  /** Kept because they were edited since; the engine forgets them. */
  kept: { path: string; stage: string }[];
}

function parseCurrent(raw: unknown): Record<string, string> {
  const c = raw && typeof raw === 'object' ? (raw as { current?: unknown }).current : undefined;
  if (!c || typeof c !== 'object') return {};
  return Object.fromEntries(Object.entries(c as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function parseRecord(raw: unknown): Record<string, WrittenEntry> {
  if (!raw || typeof raw !== 'object') return {};
  const r = raw as Partial<RecordFile> & Record<string, unknown>;
  if (r.version === 2 && r.files && typeof r.files === 'object') return { ...r.files };
  // Before v2 the record was `{ path: digest }`: no pipeline, no stage (adopted by the next run).
  const out: Record<string, WrittenEntry> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'string') out[k] = { digest: v };
  return out;
}

export class Materializer {
  private written: Record<string, WrittenEntry> | undefined;
  private currentKeys: Record<string, string> | undefined;
  private readonly changed = new Set<string>();
  private readonly dropped = new Set<string>();
  private readonly changedKeys = new Set<string>();
  private readonly droppedKeys = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly projectDir: string,
    private readonly owner?: Owner,
  ) {}

  private get file(): string {
    return this.store.runs.materializedFile;
  }

  private entries(): Record<string, WrittenEntry> {
    if (!this.written) {
      const raw = readJsonSync<unknown>(this.file);
      this.written = parseRecord(raw);
      this.currentKeys = parseCurrent(raw);
    }
    return this.written;
  }

  private keys(): Record<string, string> {
    this.entries();
    return this.currentKeys!;
  }

  private slot(stage: string): string | undefined {
    return this.owner ? JSON.stringify([this.projectDir, this.owner.pipeline, stage]) : undefined;
  }

  /** The run key whose results this pipeline last put in the working tree for a stage. */
  currentKey(stage: string): string | undefined {
    const s = this.slot(stage);
    return s === undefined ? undefined : this.keys()[s];
  }

  private setCurrent(stage: string, key: string): void {
    const s = this.slot(stage);
    if (s === undefined || this.keys()[s] === key) return;
    this.keys()[s] = key;
    this.changedKeys.add(s);
    this.droppedKeys.delete(s);
  }

  private last(rel: string): string | undefined {
    return this.entries()[rel]?.digest;
  }

  private remember(rel: string, digest: string, stage: string): void {
    const e: WrittenEntry = { digest, stage, project: this.projectDir };
    if (this.owner) e.pipeline = this.owner.pipeline;
    if (this.owner?.scratch) e.scratch = true;
    this.entries()[rel] = e;
    this.changed.add(rel);
    this.dropped.delete(rel);
  }

  private forget(rel: string): void {
    delete this.entries()[rel];
    this.dropped.add(rel);
    this.changed.delete(rel);
  }

  /** Write the record, merged with what another run wrote meanwhile (two runs may share a store). */
  async flush(): Promise<void> {
    if (!this.written || (this.changed.size === 0 && this.dropped.size === 0 && this.changedKeys.size === 0 && this.droppedKeys.size === 0)) return;
    const raw = readJsonSync<unknown>(this.file);
    const onDisk = parseRecord(raw);
    const keysOnDisk = parseCurrent(raw);
    for (const rel of this.changed) onDisk[rel] = this.written[rel]!;
    for (const rel of this.dropped) delete onDisk[rel];
    for (const s of this.changedKeys) keysOnDisk[s] = this.currentKeys![s]!;
    for (const s of this.droppedKeys) delete keysOnDisk[s];
    await writeFileAtomic(this.file, JSON.stringify({ version: 2, files: onDisk, current: keysOnDisk } satisfies RecordFile));
    this.changed.clear();
    this.dropped.clear();
    this.changedKeys.clear();
    this.droppedKeys.clear();
  }

  private async current(path: string): Promise<string | undefined> {
    try {
      return (await this.store.digestPath(path)).digest;
    } catch {
      return undefined;
    }
  }

  /** Another pipeline file wrote `rel`, that file still exists, and so does the copy it wrote. */
  private otherWriter(rel: string): string | undefined {
    const e = this.entries()[rel];
    if (!e?.pipeline || !this.owner || e.pipeline === this.owner.pipeline || e.scratch || e.project !== this.projectDir) return undefined;
    if (!existsSync(join(this.projectDir, e.pipeline))) return undefined; // renamed or deleted: adopt
    if (!existsSync(join(this.projectDir, rel))) return undefined; // the user removed it: free to write
    return e.pipeline;
  }

  /** Paths among `claims` that another pipeline file in this folder wrote (see `conflictMessage`). */
  conflicts(claims: { stage: string; paths: string[] }[]): Conflict[] {
    const out: Conflict[] = [];
    for (const c of claims) {
      for (const path of c.paths) {
        const other = this.otherWriter(path);
        if (other) out.push({ path, stage: c.stage, other });
      }
    }
    return out;
  }

  /** How a record's materialised paths differ from the working tree: what `status` and `--dry-run`
   * count and a run does for a fresh stage ("edited outputs will be restored", "1 deleted output
   * will be restored", "30 outputs will be switched to the results for …"). */
  async drift(record: RunRecord): Promise<Drift> {
    const out: Drift = { edited: [], missing: [], switched: [] };
    for (const o of Object.values(record.outputs)) {
      if (!o.materialize) continue;
      const d = await this.current(join(this.projectDir, o.materialize));
      if (d === o.digest) continue;
      if (d === undefined) out.missing.push(o.materialize);
      else if (d === this.last(o.materialize)) out.switched.push(o.materialize);
      else out.edited.push(o.materialize);
    }
    return out;
  }

  /** Materialised paths of a record whose working copy exists but differs from the store and from
   * what the engine wrote there. */
  async edited(record: RunRecord): Promise<string[]> {
    return (await this.drift(record)).edited;
  }

  /** Make every materialised output of a record match the store, and remember that the working
   * tree now holds this record's results. Returns every path it wrote, by why. */
  async ensure(record: RunRecord): Promise<Ensured> {
    const res: Ensured = { restored: [], recreated: [], switched: [] };
    const from = this.currentKey(record.stageId);
    if (from !== undefined && from !== record.key) res.from = from;
    for (const o of Object.values(record.outputs)) {
      if (!o.materialize) continue;
      const path = join(this.projectDir, o.materialize);
      const d = await this.current(path);
      // Checked before the run too (guardMaterialized); a run stage's command writes its outs itself.
      const other = d !== undefined && d !== o.digest ? this.otherWriter(o.materialize) : undefined;
      if (other) throw new Error(conflictMessage([{ path: o.materialize, stage: record.stageId, other }], this.owner!.pipeline));
      if (d === o.digest) {
        const e = this.entries()[o.materialize];
        if (e?.digest !== d || e.stage !== record.stageId || e.pipeline !== this.owner?.pipeline || e.project !== this.projectDir) this.remember(o.materialize, d, record.stageId);
        continue;
      }
      if (d === undefined) res.recreated.push(o.materialize);
      else if (d === this.last(o.materialize)) res.switched.push(o.materialize);
      else {
        const kept = `${path}.edited-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await fs.rename(path, kept);
        res.restored.push(`${o.materialize} (your edit kept as ${kept.slice(this.projectDir.length + 1)})`);
      }
      await this.write(o, path);
      this.remember(o.materialize, o.digest, record.stageId);
    }
    this.setCurrent(record.stageId, record.key);
    return res;
  }

  /** Remove what this pipeline materialised for stages it no longer has, when unchanged since it
   * was written; an edited one is kept (and forgotten: it is the user's file now). */
  async prune(dryRun: boolean): Promise<Pruned> {
    const res: Pruned = { removed: [], kept: [] };
    const stages = this.owner?.stages;
    if (!stages) return res;
    if (!dryRun) {
      for (const s of Object.keys(this.keys())) {
        const [project, pipeline, stage] = JSON.parse(s) as [string, string, string];
        if (project === this.projectDir && pipeline === this.owner!.pipeline && !stages.has(stage)) {
          delete this.keys()[s];
          this.droppedKeys.add(s);
          this.changedKeys.delete(s);
        }
      }
    }
    for (const [rel, e] of Object.entries(this.entries()).sort(([a], [b]) => a.localeCompare(b))) {
      if (!e.stage || e.pipeline !== this.owner!.pipeline || e.project !== this.projectDir || stages.has(e.stage)) continue;
      const path = join(this.projectDir, rel);
      const d = await this.current(path);
      if (d === undefined) {
        if (!dryRun) this.forget(rel);
        continue;
      }
      if (d === e.digest) {
        res.removed.push({ path: rel, stage: e.stage });
        if (dryRun) continue;
        await fs.rm(path, { recursive: true, force: true });
        await this.removeEmptyParents(dirname(path));
      } else res.kept.push({ path: rel, stage: e.stage });
      if (!dryRun) this.forget(rel);
    }
    return res;
  }

  /** `output/lambada/` left empty by pruning goes too, up to (not including) the project folder. */
  private async removeEmptyParents(dir: string): Promise<void> {
    while (dir.startsWith(this.projectDir + '/') && dir !== this.projectDir) {
      try {
        await fs.rmdir(dir);
      } catch {
        return; // not empty (or gone): stop
      }
      dir = dirname(dir);
    }
  }

  private async write(o: StoredOutput, path: string): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await fs.rm(tmp, { recursive: true, force: true });
    if (o.type === 'file') {
      await copyFileFast(this.store.objectPath(o.digest), tmp);
      await fs.chmod(tmp, 0o644);
    } else {
      for (const e of await this.store.readManifest(o.digest)) {
        const to = join(tmp, e.path);
        await fs.mkdir(dirname(to), { recursive: true });
        await copyFileFast(this.store.objectPath(e.digest), to);
        await fs.chmod(to, e.exec ? 0o755 : 0o644);
      }
    }
    await fs.rm(path, { recursive: true, force: true });
    await fs.rename(tmp, path);
  }
}

/** "output/x.csv was written by a.yaml; stage s of b.yaml would overwrite it. …what to do". */
export function conflictMessage(conflicts: Conflict[], pipeline: string): string {
  const first = conflicts[0]!;
  const paths = conflicts.map((c) => c.path);
  const shown = paths.length <= 3 ? paths.join(', ') : `${paths.slice(0, 3).join(', ')} and ${paths.length - 3} more`;
  const others = [...new Set(conflicts.map((c) => c.other))].join(', ');
  const what = conflicts.length === 1 ? `${first.path} was written by ${first.other}; stage ${first.stage} of ${pipeline} would overwrite it` : `stages of ${pipeline} would overwrite ${conflicts.length} files that ${others} wrote: ${shown} (the first by stage ${first.stage})`;
  return (
    `${what}. Pipeline files in one folder share its output/, figures/, processed_data/ and cache/. ` +
    `Give each pipeline file its own folder (results are written beside it), or, if ${others} no longer needs ${conflicts.length === 1 ? 'that file' : 'these files'}, delete ${conflicts.length === 1 ? 'it' : 'them'} and run again.`
  );
}

/** Warning lines for a prune: one for the removed files (grouped), one per kept (edited) file. */
export function prunedMessages(p: Pruned, pipeline: string, dryRun: boolean): string[] {
  const out: string[] = [];
  if (p.removed.length) {
    const paths = p.removed.map((r) => r.path);
    const shown = paths.length <= 4 ? paths.join(', ') : `${paths.slice(0, 4).join(', ')} and ${paths.length - 4} more`;
    const byFolder = new Map<string, number>();
    for (const path of paths) {
      const top = path.includes('/') ? `${path.split('/')[0]}/` : './';
      byFolder.set(top, (byFolder.get(top) ?? 0) + 1);
    }
    const folders = byFolder.size > 1 ? ` (${[...byFolder].map(([f, n]) => `${n} in ${f}`).join(', ')})` : '';
    out.push(`${dryRun ? 'would remove' : 'removed'} ${paths.length} result file${paths.length === 1 ? '' : 's'}${folders} of stages no longer in ${pipeline}, unchanged since written: ${shown}`);
  }
  for (const k of p.kept) out.push(`${dryRun ? 'will keep' : 'kept'} ${k.path}: its stage ${k.stage} is no longer in ${pipeline}, but the file was edited since it was written; the engine leaves it to you (delete it if it is not wanted)`);
  return out;
}
