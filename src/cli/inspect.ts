// `pipeline inspect <stage id | digest | materialised path>`: params, inputs and outputs with
// digests, timings, the recorded facts, the log tail and the first rows of table outputs.
import * as fs from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Engine } from '../engine/engine.js';
import type { RunRecord } from '../engine/store/run-record.js';
import { engineOptions, EXIT, UsageError, type GlobalOpts } from './options.js';
import { verdictLabel, verdictReasons } from './reporters/reasons.js';
import { bytesText } from './bytes.js';

export async function inspectCommand(g: GlobalOpts, f: Record<string, unknown>, args: string[]): Promise<number> {
  const what = args[0]!;
  const rows = Number(f['rows'] ?? 5);
  if (!Number.isInteger(rows) || rows < 0) throw new UsageError(`--rows expects a whole number ≥ 0, got "${String(f['rows'])}"`);
  const engine = await Engine.open(engineOptions(g));
  const states = await engine.status();
  const json = !!(f['json'] || g.json);
  // 1. a stage id
  let state = states.get(what);
  let id = state ? what : undefined;
  // 2. a materialised path
  if (!id) {
    const rels = materializedCandidates(engine.spec.projectDir, what);
    for (const [sid, s] of states) {
      if (s.state === 'fresh' && Object.values(s.record.outputs).some((o) => o.materialize !== undefined && rels.includes(o.materialize))) {
        id = sid;
        state = s;
        break;
      }
    }
  }
  // 3. a digest (or prefix) of an output or a stage key
  if (!id && /^[0-9a-f]{8,64}$/.test(what)) {
    for (const [sid, s] of states) {
      if (s.state !== 'fresh') continue;
      if (s.key.startsWith(what) || Object.values(s.record.outputs).some((o) => o.digest.startsWith(what))) {
        id = sid;
        state = s;
        break;
      }
    }
    if (!id) {
      const p = engine.store.objectPath(what.padEnd(64, '0'));
      const dir = join(p, '..');
      const hit = (await fs.readdir(dir).catch(() => [] as string[])).find((n) => (what.slice(0, 2) + n).startsWith(what));
      if (hit) {
        const path = join(dir, hit);
        const head = (await fs.readFile(path)).subarray(0, 2000).toString('utf8');
        process.stdout.write(json ? JSON.stringify({ digest: what.slice(0, 2) + hit, path, head }) + '\n' : `object ${what.slice(0, 2) + hit} (no current stage produced it)\n  path: ${path}\n\n${head}\n`);
        return EXIT.ok;
      }
    }
  }
  if (!id || !state) {
    const project = relative(process.cwd(), engine.spec.projectDir) || '.';
    throw new UsageError(`nothing called "${what}": give a stage id (see \`pipeline status\`), an output digest, or a materialised path of a fresh stage such as output/<task>/<model>.csv (relative to the working directory or to the project folder ${project}/)`);
  }
  if (state.state !== 'fresh') {
    process.stdout.write(`${id}: ${verdictLabel(state)} (${verdictReasons(state).join('; ')}); run it first to inspect its outputs\n`);
    return EXIT.ok;
  }
  const rec = state.record;
  const fingerprint = (await engine.store.readFingerprint(rec.key)) ?? { params: {}, plan: {}, inputs: {} };
  if (json) {
    process.stdout.write(JSON.stringify({ ...rec, fingerprint, outputPaths: await outputPaths(engine, rec) }, null, 1) + '\n');
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(`${rec.stageId}  (${rec.kind})`, `  key      ${rec.key}`, `  ran      ${rec.startedAt} for ${(rec.durationMs / 1000).toFixed(2)} s on ${rec.host} (${rec.executor})`);
  out.push('  params');
  for (const [k, v] of Object.entries(fingerprint.params)) out.push(`    ${k}: ${JSON.stringify(v)}`);
  if (Object.keys(fingerprint.plan).length) out.push(`  resolved ${JSON.stringify(fingerprint.plan)}`);
  out.push('  inputs');
  for (const [up, outs] of Object.entries(fingerprint.inputs)) for (const [n, d] of Object.entries(outs)) out.push(`    ${up} ${n}  ${d.slice(0, 16)}`);
  out.push('  outputs');
  const paths = await outputPaths(engine, rec);
  for (const [n, o] of Object.entries(rec.outputs)) out.push(`    ${n}  ${o.digest.slice(0, 16)}  ${o.type}  ${o.size} bytes${o.materialize ? `  → ${o.materialize}` : ''}\n      stored at ${paths[n]}`);
  const conversion = rec.kind === 'convert-model' ? convertLines(rec.info['convert']) : [];
  out.push(...conversion);
  const recorded = Object.entries(rec.info).filter(([k]) => !(conversion.length && k === 'convert'));
  if (recorded.length) {
    out.push('  recorded');
    for (const [k, v] of recorded) out.push(`    ${k}: ${JSON.stringify(v).slice(0, 300)}`);
  }
  for (const [n, o] of Object.entries(rec.outputs)) {
    if (o.type !== 'file') continue;
    if (!(/\.(csv|tsv|jsonl|json|yaml|txt)$/.test(o.materialize ?? n) || n === 'requests' || n === 'csv')) continue;
    // A table's header is not a row: a CSV shows its header and then `rows` rows.
    const table = /\.(csv|tsv)$/.test(o.materialize ?? '') || n === 'csv';
    const head = await firstLines(paths[n]!, table ? rows + 1 : rows);
    out.push(`  ${n} (${table ? 'header and ' : ''}first ${rows} rows)`);
    for (const l of head) out.push(`    ${l.length > 200 ? l.slice(0, 197) + '…' : l}`);
  }
  const log = await fs.readFile(join(engine.store.root, rec.log), 'utf8').catch(() => '');
  if (log.trim()) {
    out.push('  log (last 10 lines)');
    for (const l of log.trim().split('\n').slice(-10)) out.push(`    ${l}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return EXIT.ok;
}

function sizeOf(n: unknown): string {
  return bytesText(typeof n === 'number' ? n : 0);
}

/** A convert-model stage's conversion: architecture, dtypes, the files read and written, with sizes. */
function convertLines(info: unknown): string[] {
  if (typeof info !== 'object' || info === null) return [];
  const c = info as Record<string, unknown>;
  if (c['passthrough'] === true) return ['  conversion', `    passthrough  ${String(c['source'])} is already a transformers.js ONNX export`];
  const files = (v: unknown): { path: string; bytes: number }[] => (Array.isArray(v) ? (v as { path: string; bytes: number }[]) : []);
  const out = ['  conversion',
    `    architecture  ${String(c['architecture'])} (model_type ${String(c['model_type'])})`,
    `    dtype         ${String(c['dtype'])} (checkpoint ${Array.isArray(c['source_dtypes']) ? c['source_dtypes'].join(', ') : '?'})`
      + `${Number(c['scoring_parts']) > 1 ? `, scoring graph in ${String(c['scoring_parts'])} parts` : ''}`,
    `    tensors       ${String(c['tensors'])} (${String(c['parameters'])} parameters)`,
    `    time          ${Number(c['seconds']).toFixed(1)} s${c['mb_per_s'] ? ` (${String(c['mb_per_s'])} MB/s)` : ''}`,
    `    source        ${String(c['source'])}${c['source_commit'] ? ` @ ${String(c['source_commit'])}` : ''}, ${sizeOf(c['source_bytes'])}`];
  for (const f of files(c['source_files'])) out.push(`      ${f.path}  ${sizeOf(f.bytes)}`);
  out.push(`    written       ${sizeOf(c['output_bytes'])}`);
  for (const f of files(c['files'])) out.push(`      ${f.path}  ${sizeOf(f.bytes)}`);
  return out;
}

/** What `what` may mean as a materialised path: relative to the working directory (tab completion
 * from anywhere) or to the project folder (`-f examples/quickstart/pipeline.yaml` + `output/…`). */
export function materializedCandidates(projectDir: string, what: string): string[] {
  const fromCwd = relative(projectDir, resolve(what));
  const fromProject = relative(projectDir, resolve(projectDir, what));
  return [...new Set([fromCwd, fromProject])].filter((r) => r !== '' && !r.startsWith('..'));
}

async function outputPaths(engine: Engine, rec: RunRecord): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [n, o] of Object.entries(rec.outputs)) out[n] = await engine.store.outputPath(o.digest, o.type);
  return out;
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
