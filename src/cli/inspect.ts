// `pipeline inspect <stage id | digest | materialised path>`: the engine finds what the argument
// names (engine/verbs/inspect.ts); this prints it: params, inputs and outputs with digests,
// timings, the recorded facts, the log tail and the first rows of table outputs.
import { relative } from 'node:path';
import { Engine, type Inspection } from '../engine/engine.js';
import { engineOptions, EXIT, UsageError, wantsJson, type GlobalOpts } from './options.js';
import { verdictLabel, verdictReasons } from '../words/reasons.js';
import { bytesText } from './bytes.js';

export async function inspectCommand(g: GlobalOpts, f: Record<string, unknown>, args: string[]): Promise<number> {
  const what = args[0]!;
  const rows = Number(f['rows'] ?? 5);
  if (!Number.isInteger(rows) || rows < 0) throw new UsageError(`--rows expects a whole number ≥ 0, got "${String(f['rows'])}"`);
  const engine = await Engine.open(engineOptions(g));
  const found = await engine.inspect(what, { rows, cwd: process.cwd() });
  process.stdout.write(wantsJson(g, f) ? inspectionJson(found, engine.spec.projectDir) : inspectionText(found, engine.spec.projectDir));
  return EXIT.ok;
}

function nothing(what: string, projectDir: string): UsageError {
  const project = relative(process.cwd(), projectDir) || '.';
  return new UsageError(`nothing called "${what}": give a stage id (see \`pipeline status\`), an output digest, or a materialised path of a fresh stage such as output/<task>/<model>.csv (relative to the working directory or to the project folder ${project}/)`);
}

function inspectionJson(i: Inspection, projectDir: string): string {
  switch (i.found) {
    case 'nothing':
      throw nothing(i.what, projectDir);
    case 'object':
      return JSON.stringify({ digest: i.digest, path: i.path, head: i.head }) + '\n';
    case 'stage':
      return inspectionText(i, projectDir);
    case 'run':
      return JSON.stringify({ ...i.record, fingerprint: i.fingerprint, outputPaths: i.outputPaths }, null, 1) + '\n';
    default: {
      const never: never = i;
      return never;
    }
  }
}

function inspectionText(i: Inspection, projectDir: string): string {
  switch (i.found) {
    case 'nothing':
      throw nothing(i.what, projectDir);
    case 'object':
      return `object ${i.digest} (no current stage produced it)\n  path: ${i.path}\n\n${i.head}\n`;
    case 'stage':
      return `${i.id}: ${verdictLabel(i.verdict)} (${verdictReasons(i.verdict).join('; ')}); run it first to inspect its outputs\n`;
    case 'run':
      return runText(i);
    default: {
      const never: never = i;
      return never;
    }
  }
}

function runText(i: Extract<Inspection, { found: 'run' }>): string {
  const { record: rec, fingerprint, outputPaths: paths } = i;
  const out: string[] = [];
  out.push(`${rec.stageId}  (${rec.kind})`, `  key      ${rec.key}`, `  ran      ${rec.startedAt} for ${(rec.durationMs / 1000).toFixed(2)} s on ${rec.host} (${rec.executor})`);
  out.push('  params');
  for (const [k, v] of Object.entries(fingerprint.params)) out.push(`    ${k}: ${JSON.stringify(v)}`);
  if (Object.keys(fingerprint.plan).length) out.push(`  resolved ${JSON.stringify(fingerprint.plan)}`);
  out.push('  inputs');
  for (const [up, outs] of Object.entries(fingerprint.inputs)) for (const [n, d] of Object.entries(outs)) out.push(`    ${up} ${n}  ${d.slice(0, 16)}`);
  out.push('  outputs');
  for (const [n, o] of Object.entries(rec.outputs)) out.push(`    ${n}  ${o.digest.slice(0, 16)}  ${o.type}  ${o.size} bytes${o.materialize ? `  → ${o.materialize}` : ''}\n      stored at ${paths[n]}`);
  const conversion = rec.kind === 'convert-model' ? convertLines(rec.info['convert']) : [];
  out.push(...conversion);
  const recorded = Object.entries(rec.info).filter(([k]) => !(conversion.length && k === 'convert'));
  if (recorded.length) {
    out.push('  recorded');
    for (const [k, v] of recorded) out.push(`    ${k}: ${JSON.stringify(v).slice(0, 300)}`);
  }
  for (const p of i.previews) {
    out.push(`  ${p.name} (${p.table ? 'header and ' : ''}first ${p.rows} rows)`);
    for (const l of p.lines) out.push(`    ${l.length > 200 ? l.slice(0, 197) + '…' : l}`);
  }
  if (i.logTail.length) {
    out.push('  log (last 10 lines)');
    for (const l of i.logTail) out.push(`    ${l}`);
  }
  return out.join('\n') + '\n';
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
