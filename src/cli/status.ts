// `pipeline status` and `pipeline dag`.
import { Engine } from '../engine/engine.js';
import { renderGraph } from '../engine/graph.js';
import { engineOptions, EXIT, type GlobalOpts } from './options.js';
import { statusLines, statusRows } from './reporters/status-report.js';

export async function statusCommand(g: GlobalOpts, f: Record<string, unknown>, targets: string[]): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const states = await engine.status({ targets, only: (f['only'] as string[]) ?? [] });
  if (f['json'] || g.json) {
    process.stdout.write(JSON.stringify(statusRows(states), null, 1) + '\n');
    return EXIT.ok;
  }
  for (const l of statusLines(states, (id) => engine.graph.byId.get(id)?.kind ?? '')) process.stdout.write(l + '\n');
  return EXIT.ok;
}

export async function dagCommand(g: GlobalOpts, f: Record<string, unknown>, targets: string[]): Promise<number> {
  const engine = await Engine.open(engineOptions(g));
  const sel = engine.selection({ targets, only: (f['only'] as string[]) ?? [] });
  process.stdout.write(renderGraph(sel, (f['format'] as 'text' | 'dot' | 'mermaid') ?? 'text') + '\n');
  return EXIT.ok;
}
