// listr2 in a terminal: one task per stage kind ("score  12/109 (10 ran, 2 up to date)"), under it
// the stages running now, each with its item progress, elapsed time and an estimate; failures are
// listed under their kind. Only kinds with a stage running show a spinner. The list is redrawn on
// a calm clock (TICK_MS), not on every engine event, and the cursor is hidden while it is drawn.
import type { EngineEvent, Reporter, RunSummary } from '../../engine/events.js';
import { summaryLines } from './lines.js';
import { noteLog, noteProgress, runningText, type Running } from './progress.js';
import { failureText } from '../../words/reasons.js';

/** Redraw period: four times a second is enough to see progress without flicker. */
export const TICK_MS = 250;
/** Running stages listed under a kind; the rest are counted. */
const MAX_SHOWN = 6;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Wrapper {
  title: string;
  output: string;
  /** Marks the task skipped (↓): for a kind whose stages did not all run (a failure upstream, Ctrl-C). */
  skip(message?: string): void;
}

interface Group {
  kind: string;
  ids: Set<string>;
  running: Map<string, Running>;
  ran: number;
  cached: number;
  failed: string[];
  skipped: number;
  /** Stages left unfinished by an interrupt (Ctrl-C): not run, and not counted as settled. */
  interrupted?: number;
  wrapper?: Wrapper;
  resolve?: () => void;
  reject?: (e: Error) => void;
  shownTitle?: string;
  shownOutput?: string;
  /** Set once the group's task settled: listr2 must not be touched after that. */
  closed?: boolean;
}

export interface GroupView {
  kind: string;
  size: number;
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
  interrupted?: number;
  running: Map<string, Running>;
}

/** The title of a kind's line; `frame` is the spinner frame when one of its stages runs. */
export function groupTitle(g: GroupView, frame: string | undefined, dryRun = false): string {
  const parts = [`${g.ran} ${dryRun ? 'would run' : 'ran'}`, `${g.cached} up to date`];
  if (g.failed) parts.push(`${g.failed} failed`);
  if (g.skipped) parts.push(`${g.skipped} not run`);
  // After Ctrl-C the unfinished stages are named as such, and the count says how far it got.
  if (g.interrupted) parts.push(`${g.interrupted} not run: interrupted`);
  const settled = g.ran + g.cached + g.failed + g.skipped;
  const marker = frame === undefined ? '' : `${frame} `;
  const running = g.running.size ? `, ${g.running.size} running` : '';
  return `${marker}${g.kind.padEnd(13)} ${settled}/${g.size}  (${parts.join(', ')}${running})`;
}

/** The lines under a kind: its running stages with their progress (the first MAX_SHOWN). */
export function groupOutput(g: GroupView, now: number): string {
  const lines = [...g.running].slice(0, MAX_SHOWN).map(([id, r]) => `${id}  ${runningText(r, now)}`.slice(0, 160));
  if (g.running.size > MAX_SHOWN) lines.push(`… and ${g.running.size - MAX_SHOWN} more running`);
  return lines.join('\n');
}

export async function listrReporter(kindOf: Map<string, string>, out: (l: string) => void): Promise<{ reporter: Reporter; done: Promise<void> }> {
  const { Listr, ListrDefaultRendererLogLevels, ListrEventType } = await import('listr2');
  const groups = new Map<string, Group>();
  for (const [id, kind] of kindOf) {
    const g = groups.get(kind) ?? { kind, ids: new Set(), running: new Map(), ran: 0, cached: 0, failed: [], skipped: 0 };
    g.ids.add(id);
    groups.set(kind, g);
  }
  let summary: RunSummary | undefined;
  let dry = false;
  let frame = 0;
  const view = (g: Group): GroupView => ({ kind: g.kind, size: g.ids.size, ran: g.ran, cached: g.cached, failed: g.failed.length, skipped: g.skipped, interrupted: g.interrupted ?? 0, running: g.running });
  const settled = (g: Group): boolean => g.ran + g.cached + g.failed.length + g.skipped + (g.interrupted ?? 0) >= g.ids.size;

  const list = new Listr(
    [...groups.values()].map((g) => ({
      title: groupTitle(view(g), undefined),
      task: (_ctx: unknown, task: Wrapper) =>
        new Promise<void>((resolve, reject) => {
          g.wrapper = task;
          g.resolve = resolve;
          g.reject = reject;
          // A quick run may have ended before listr2 started this task.
          if (summary) draw();
        }),
    })),
    {
      concurrent: true,
      exitOnError: false,
      // Ctrl-C belongs to `pipeline run` (a clean stop, then the summary and exit code 130); listr2's
      // own handler would mark every task failed and exit with 127 at once.
      registerSignalListeners: false,
      // lazy: no renderer clock (it redraws ~10 times a second and spins every unfinished task);
      // this reporter draws its own spinner on running kinds only, and redraws on its own clock.
      rendererOptions: {
        collapseErrors: false,
        lazy: true,
        formatOutput: 'truncate',
        icon: { [ListrDefaultRendererLogLevels.PENDING]: '' },
      },
    },
  );

  // Several titles and outputs change per tick; hold the renderer's refresh until all are set,
  // so one tick is one redraw.
  const events = list.events as unknown as { emit: (name: string, ...a: unknown[]) => void };
  const emit = events.emit.bind(events);
  let holding = false;
  events.emit = (name: string, ...a: unknown[]) => {
    if (holding && name === ListrEventType.SHOULD_REFRESH_RENDER) return;
    emit(name, ...a);
  };

  const draw = (): void => {
    const now = Date.now();
    if ([...groups.values()].some((g) => g.running.size > 0)) frame = (frame + 1) % FRAMES.length;
    let changed = false;
    holding = true;
    try {
      for (const g of groups.values()) {
        const w = g.wrapper;
        if (!w || g.closed) continue;
        if (settled(g)) {
          g.closed = true;
          w.title = groupTitle(view(g), undefined, dry);
          if (g.failed.length) g.reject!(new Error(g.failed.join('\n')));
          else {
            if (g.skipped > 0 || (g.interrupted ?? 0) > 0) w.skip(w.title);
            g.resolve!();
          }
          changed = true;
          continue;
        }
        const title = groupTitle(view(g), g.running.size ? FRAMES[frame] : '·', dry);
        if (title !== g.shownTitle) {
          w.title = g.shownTitle = title;
          changed = true;
        }
        const output = groupOutput(view(g), now);
        if (output !== g.shownOutput) {
          w.output = g.shownOutput = output;
          changed = true;
        }
      }
    } finally {
      holding = false;
    }
    if (changed) emit(ListrEventType.SHOULD_REFRESH_RENDER);
  };
  const clock = setInterval(draw, TICK_MS);

  // log-update's own cursor hiding goes to stderr, which listr2 holds back while it draws.
  const showCursor = (): void => void process.stdout.write('\x1b[?25h');
  process.stdout.write('\x1b[?25l');
  process.once('exit', showCursor);

  let summarized!: () => void;
  const gotSummary = new Promise<void>((r) => (summarized = r));
  // The summary prints after both the task list has finished rendering and the run has ended.
  const warnings: string[] = [];
  const done = Promise.all([list.run().catch(() => undefined), gotSummary]).then(() => {
    clearInterval(clock);
    showCursor();
    process.off('exit', showCursor);
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
        g?.running.set(e.id, { startedAt: Date.now(), line: '' });
        break;
      case 'stage-log': {
        const r = g?.running.get(e.id);
        if (r) noteLog(r, e.line);
        break;
      }
      case 'stage-progress': {
        const r = g?.running.get(e.id);
        if (r) noteProgress(r, e);
        break;
      }
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
        g?.failed.push(`${e.id}: ${failureText(e.failure)}`);
        break;
      case 'stage-blocked':
      case 'stage-skipped':
        g?.running.delete(e.id);
        if (g) g.skipped++;
        break;
      case 'run-done':
        summary = e.summary;
        // Anything not settled (an interrupted run) is closed now so the renderer ends.
        for (const x of groups.values()) {
          x.running.clear();
          const rest = x.ids.size - x.ran - x.cached - x.failed.length - x.skipped;
          if (e.summary.interrupted) x.interrupted = rest;
          else x.skipped += rest;
        }
        draw();
        summarized();
        break;
      case 'warning':
        warnings.push(`warning${e.id ? ` [${e.id}]` : ''}: ${e.message}`);
        break;
    }
  };
  return { reporter, done };
}
