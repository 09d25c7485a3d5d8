// `pipeline inspect <stage id | digest | materialised path>` as data: which stage (or stored
// object) the argument names, and for a fresh stage its run record, fingerprint, stored paths,
// the first rows of its text outputs and its log tail. The CLI formats it.
import * as fs from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Engine, Verdict } from '../engine.js';
import type { Fingerprint, RunRecord } from '../store/run-record.js';

export interface OutputPreview {
  name: string;
  /** A table: `lines` is its header and then the rows asked for. */
  table: boolean;
  /** The rows asked for (a short file has fewer lines). */
  rows: number;
  lines: string[];
}

export type Inspection =
  /** A fresh stage: everything its run left. */
  | {
      found: 'run';
      id: string;
      record: RunRecord;
      fingerprint: Pick<Fingerprint, 'params' | 'plan' | 'inputs'> & Partial<Fingerprint>;
      /** Output name → where the store holds it. */
      outputPaths: Record<string, string>;
      previews: OutputPreview[];
      /** The last lines of the stage's log (at most 10). */
      logTail: string[];
    }
  /** A stage that has no current results: its verdict says why. */
  | { found: 'stage'; id: string; verdict: Verdict }
  /** A stored object no current stage produced. */
  | { found: 'object'; digest: string; path: string; head: string }
  | { found: 'nothing'; what: string };

export interface InspectOptions {
  /** Rows of each text output to preview (a table's header comes on top). */
  rows: number;
  /** Where a relative materialised path is looked up first (the working directory). */
  cwd?: string;
}

export async function inspect(engine: Engine, what: string, o: InspectOptions): Promise<Inspection> {
  const states = await engine.status();
  const fresh = [...states].filter((e): e is [string, Extract<Verdict, { state: 'fresh' }>] => e[1].state === 'fresh');
  // 1. a stage id; 2. a materialised path; 3. a digest (or prefix) of an output or a stage key
  let id: string | undefined = states.has(what) ? what : undefined;
  if (!id) {
    const rels = materializedCandidates(engine.spec.projectDir, what, o.cwd ?? process.cwd());
    id = fresh.find(([, s]) => Object.values(s.record.outputs).some((x) => x.materialize !== undefined && rels.includes(x.materialize)))?.[0];
  }
  const hex = /^[0-9a-f]{8,64}$/.test(what);
  if (!id && hex) id = fresh.find(([, s]) => s.key.startsWith(what) || Object.values(s.record.outputs).some((x) => x.digest.startsWith(what)))?.[0];
  if (!id && hex) {
    const [hit] = await engine.store.objects.withPrefix(what);
    if (hit) {
      const head = (await fs.readFile(hit.path)).subarray(0, 2000).toString('utf8');
      return { found: 'object', digest: hit.digest, path: hit.path, head };
    }
  }
  const verdict = id ? states.get(id) : undefined;
  if (!id || !verdict) return { found: 'nothing', what };
  if (verdict.state !== 'fresh') return { found: 'stage', id, verdict };
  const record = verdict.record;
  const fingerprint = (await engine.store.readFingerprint(record.key)) ?? { params: {}, plan: {}, inputs: {} };
  const outputPaths: Record<string, string> = {};
  for (const [n, x] of Object.entries(record.outputs)) outputPaths[n] = await engine.store.outputPath(x.digest, x.type);
  const previews: OutputPreview[] = [];
  for (const [n, x] of Object.entries(record.outputs)) {
    if (x.type !== 'file') continue;
    if (!(/\.(csv|tsv|jsonl|json|yaml|txt)$/.test(x.materialize ?? n) || n === 'requests' || n === 'csv')) continue;
    // A table's header is not a row: a CSV shows its header and then `rows` rows.
    const table = /\.(csv|tsv)$/.test(x.materialize ?? '') || n === 'csv';
    previews.push({ name: n, table, rows: o.rows, lines: await firstLines(outputPaths[n]!, table ? o.rows + 1 : o.rows) });
  }
  const log = await fs.readFile(join(engine.store.root, record.log), 'utf8').catch(() => '');
  const logTail = log.trim() ? log.trim().split('\n').slice(-10) : [];
  return { found: 'run', id, record, fingerprint, outputPaths, previews, logTail };
}

/** What `what` may mean as a materialised path: relative to the working directory (tab completion
 * from anywhere) or to the project folder (`-f examples/quickstart/pipeline.yaml` + `output/…`). */
export function materializedCandidates(projectDir: string, what: string, cwd: string): string[] {
  const fromCwd = relative(projectDir, resolve(cwd, what));
  const fromProject = relative(projectDir, resolve(projectDir, what));
  return [...new Set([fromCwd, fromProject])].filter((r) => r !== '' && !r.startsWith('..'));
}

async function firstLines(path: string, n: number): Promise<string[]> {
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8').split('\n').slice(0, n).filter((l) => l.length > 0);
  } finally {
    await fh.close();
  }
}
