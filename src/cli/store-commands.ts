// `pipeline ls`, `gc` and `verify`: what is cached, dropping what nothing references, re-hashing.
// The engine does each (engine/verbs/ls.ts, gc.ts, verify.ts) and returns data; this prints it.
// gc and verify take the store's exclusive lease: while a run or status holds a shared one they
// wait a few seconds (saying why), then refuse rather than delete what a run is still storing.
import { Engine } from '../engine/engine.js';
import { engineOptions, EXIT, wantsJson, type GlobalOpts } from './options.js';
import { bytesText } from './bytes.js';

export async function lsCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const { stages, bytes, storeRoot } = await engine.ls();
  if (wantsJson(g, f)) {
    process.stdout.write(JSON.stringify(stages, null, 1) + '\n');
    return EXIT.ok;
  }
  for (const r of stages) {
    const outs = Object.entries(r.outputs).map(([n, o]) => `${n}=${o.digest.slice(0, 10)} ${bytesText(o.size)}${o.path ? ` (${o.path})` : ''}`);
    process.stdout.write(`${r.state.padEnd(7)} ${r.id}${r.key ? `  ${r.key.slice(0, 10)}` : ''}${outs.length ? `  ${outs.join('  ')}` : ''}\n`);
  }
  process.stdout.write(`${stages.length} stages, ${bytesText(bytes)} of outputs in ${storeRoot}\n`);
  return EXIT.ok;
}

/** Why gc or verify waits for the store, on stderr as it happens. */
const waiting = (m: string): void => void process.stderr.write(`${m}\n`);

export async function gcCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const r = await engine.gc({ keepRuns: Number(f['keepRuns'] ?? 3), dryRun: !!f['dryRun'], onWait: waiting });
  const cached = (r.requestCaches ? `, and the request results of ${r.requestCaches} model${r.requestCaches === 1 ? '' : 's'} no run uses` : '')
    + (r.released.stages.length ? `; ${r.dryRun ? "would release" : "released"} ${r.released.stages.length} checkpoint(s) or converted model(s) by their retain policy (${bytesText(r.released.bytes)})` : '');
  process.stdout.write(`${r.dryRun ? 'would remove' : 'removed'} ${r.objects} objects (${bytesText(r.bytes)}) and ${r.runs} run records${cached}; kept ${r.kept.objects} objects referenced by ${r.kept.runs} runs\n`);
  return EXIT.ok;
}

export async function verifyCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const r = await engine.verify({ onWait: waiting });
  if (wantsJson(g, f)) process.stdout.write(JSON.stringify({ objects: r.checked, corrupt: r.corrupt, affected: r.affected, recomputed: r.recomputed }) + '\n');
  else {
    process.stdout.write(`${r.checked} objects checked, ${r.corrupt.length} corrupt\n`);
    for (const c of r.corrupt) process.stdout.write(`  quarantined ${c} → ${r.quarantined[c]}\n`);
    if (r.recomputed.length) process.stdout.write(`computed from corrupt inputs, so forgotten: ${r.recomputed.join(', ')}\n`);
    if (r.affected.length) process.stdout.write(`stages that will re-run: ${r.affected.join(', ')}\n`);
  }
  return r.corrupt.length ? EXIT.corrupt : EXIT.ok;
}
