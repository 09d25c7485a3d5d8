// `pipeline status` and `pipeline dag`.
import { Engine } from '../engine/engine.js';
import { renderGraph } from '../engine/graph.js';
import { engineOptions, EXIT, type GlobalOpts } from './main.js';
import { editsText } from './reporters/lines.js';

export async function statusCommand(g: GlobalOpts, f: Record<string, unknown>, targets: string[]): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const states = await engine.status({ targets, only: (f['only'] as string[]) ?? [] });
  if (f['json'] || g.json) {
    const rows = [...states].map(([id, s]) => ({ id, state: s.state, key: 'key' in s ? s.key : null, reasons: 'reasons' in s ? s.reasons : [], edited: s.state === 'fresh' ? s.edited : [] }));
    process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
    return EXIT.ok;
  }
  const counts: Record<string, number> = {};
  const width = Math.max(...[...states.keys()].map((k) => k.length), 10);
  for (const [id, s] of states) {
    counts[s.state] = (counts[s.state] ?? 0) + 1;
    const why = 'reasons' in s ? s.reasons.join('; ') : s.edited.length ? `${s.edited.join(', ')} differs from the stored output (edited by hand, or written under other settings); a run restores it and keeps the other copy beside it` : '';
    process.stdout.write(`${s.state.padEnd(7)} ${id.padEnd(width)}  ${why}\n`.replace(/\s+\n$/, '\n'));
  }
  const edited = [...states.values()].flatMap((s) => (s.state === 'fresh' ? s.edited : []));
  const edits = edited.length ? `; ${editsText(edited, true, ' by the next run')}` : '';
  process.stdout.write(`${states.size} stages: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}${edits}\n`);
  return EXIT.ok;
}

export async function dagCommand(g: GlobalOpts, f: Record<string, unknown>, targets: string[]): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const sel = engine.selection({ targets, only: (f['only'] as string[]) ?? [] });
  process.stdout.write(renderGraph(sel, (f['format'] as 'text' | 'dot' | 'mermaid') ?? 'text') + '\n');
  return EXIT.ok;
}
