// listr2 in a terminal: one task per stage kind ("score  12/109 ran"), showing the stages running
// now and their last log line; failures are listed under their kind.
import type { EngineEvent, Reporter, RunSummary } from '../../engine/events.js';
import { reasonText, summaryLines } from './lines.js';

interface Group {
  kind: string;
  ids: Set<string>;
  running: Map<string, string>;
  ran: number;
  cached: number;
  failed: string[];
  skipped: number;
  resolve?: () => void;
  update?: () => void;
  /** Set once the group's task settled: listr2 must not be touched after that. */
  closed?: boolean;
}

export async function listrReporter(kindOf: Map<string, string>, out: (l: string) => void): Promise<{ reporter: Reporter; done: Promise<void> }> {
  const { Listr } = await import('listr2');
  const groups = new Map<string, Group>();
  for (const [id, kind] of kindOf) {
    const g = groups.get(kind) ?? { kind, ids: new Set(), running: new Map(), ran: 0, cached: 0, failed: [], skipped: 0 };
    g.ids.add(id);
    groups.set(kind, g);
  }
  let summary: RunSummary | undefined;
  let dry = false;
  const settled = (g: Group): boolean => g.ran + g.cached + g.failed.length + g.skipped >= g.ids.size;
  const title = (g: Group): string => {
    const parts = [`${g.ran} ran`, `${g.cached} up to date`];
    if (g.failed.length) parts.push(`${g.failed.length} failed`);
    if (g.skipped) parts.push(`${g.skipped} not run`);
    return `${g.kind.padEnd(13)} ${g.ran + g.cached + g.failed.length + g.skipped}/${g.ids.size}  (${parts.join(', ')})`;
  };
  const list = new Listr(
    [...groups.values()].map((g) => ({
      title: title(g),
      task: (_ctx: unknown, task: { title: string; output: string }) =>
        new Promise<void>((resolve, reject) => {
          g.update = () => {
            if (g.closed) return;
            task.title = title(g);
            if (settled(g)) {
              g.closed = true;
              if (g.failed.length) reject(new Error(g.failed.join('\n')));
              else resolve();
              return;
            }
            task.output = [...g.running].map(([id, line]) => `${id}${line ? `: ${line.slice(0, 100)}` : ''}`).join('\n');
          };
          g.resolve = resolve;
          g.update();
        }),
    })),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false, outputBar: 4 } as never },
  );
  let summarized!: () => void;
  const gotSummary = new Promise<void>((r) => (summarized = r));
  // The summary prints after both the task list has finished rendering and the run has ended.
  const warnings: string[] = [];
  const done = Promise.all([list.run().catch(() => undefined), gotSummary]).then(() => {
    for (const w of warnings) out(w);
    if (summary) for (const l of summaryLines(summary, dry)) out(l);
  });
  const reporter: Reporter = (e: EngineEvent) => {
    const g = 'id' in e && e.id ? groups.get(kindOf.get(e.id) ?? '') : undefined;
    switch (e.type) {
      case 'plan':
        dry = e.dryRun;
        break;
      case 'stage-start':
        g?.running.set(e.id, reasonText(e.reasons));
        break;
      case 'stage-log':
        if (g?.running.has(e.id)) g.running.set(e.id, e.line);
        break;
      case 'stage-done':
        g?.running.delete(e.id);
        if (g) g.ran++;
        break;
      case 'stage-would-run':
        if (g) g.ran++;
        break;
      case 'stage-cached':
        if (g) g.cached++;
        break;
      case 'stage-failed':
        g?.running.delete(e.id);
        g?.failed.push(`${e.id}: ${e.message}`);
        break;
      case 'stage-blocked':
      case 'stage-skipped':
        g?.running.delete(e.id);
        if (g) g.skipped++;
        break;
      case 'run-done':
        summary = e.summary;
        summarized();
        // Anything not settled (an interrupted run) is closed now so the renderer ends.
        for (const x of groups.values()) {
          x.skipped = x.ids.size - x.ran - x.cached - x.failed.length;
          x.update?.();
        }
        break;
      case 'warning':
        warnings.push(`warning${e.id ? ` [${e.id}]` : ''}: ${e.message}`);
        break;
    }
    g?.update?.();
  };
  return { reporter, done };
}
