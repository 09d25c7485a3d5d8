// Plain line logs for CI and pipes: one line per event that matters.
import { relative } from 'node:path';
import type { EngineEvent, Reporter, RunSummary } from '../../engine/events.js';
import { noteLog, parseProgress, runningText, type Running } from './progress.js';

export function secs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** At most three reasons, then a count: a stage whose upstream changed can list dozens of inputs. */
export function reasonText(reasons: string[]): string {
  return reasons.length <= 3 ? reasons.join('; ') : `${reasons.slice(0, 3).join('; ')}; and ${reasons.length - 3} more`;
}

/** Where to look: `results in examples/: output/, processed_data/, figures/`. */
export function resultsLine(s: RunSummary): string | undefined {
  const folders = s.results.folders.filter((f) => ['output', 'processed_data', 'figures'].includes(f) || s.results.folders.length <= 4);
  if (folders.length === 0) return undefined;
  const rel = relative(process.cwd(), s.results.projectDir);
  return `results in ${rel === '' ? './' : `${rel}/`}: ${folders.map((f) => `${f}/`).join(', ')}`;
}

/** "2 edited outputs will be restored: a, b" (dry run: the paths) or "2 edited outputs restored". */
export function editsText(restored: string[], dryRun: boolean, when = ''): string {
  if (restored.length === 0) return '';
  const one = restored.length === 1;
  const n = `${restored.length} edited output${one ? '' : 's'}`;
  if (!dryRun) return `${n} restored (${one ? 'your copy kept beside it' : 'your copies kept beside them'}, see above)`;
  const shown = restored.length <= 3 ? restored.join(', ') : `${restored.slice(0, 3).join(', ')} and ${restored.length - 3} more`;
  return `${n} will be restored${when}: ${shown}`;
}

export function summaryLine(s: RunSummary, dryRun = false): string {
  const edits = editsText(s.restored, dryRun);
  if (dryRun) {
    if (s.ran > 0) return `${s.ran} of ${s.selected} stages would run (${s.cached} up to date)${edits ? `; ${edits}` : ''}.`;
    return edits ? `All ${s.selected} stages are up to date; ${edits}.` : `Nothing to do: all ${s.selected} stages are up to date.`;
  }
  if (s.interrupted) return `Interrupted: ${s.ran} stages ran, ${s.cached} up to date, ${s.selected - s.ran - s.cached - s.failed} not run; run again to resume.`;
  if (s.ran === 0 && s.failed === 0 && s.skipped === 0) return edits ? `All ${s.selected} stages are up to date (${secs(s.durationMs)}); ${edits}.` : `Nothing to do: all ${s.selected} stages are up to date (${secs(s.durationMs)}).`;
  const parts = [`${s.ran} ran`, `${s.cached} up to date`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.skipped) parts.push(`${s.skipped} not run`);
  const loads = Object.entries(s.modelLoads);
  const tail = loads.length ? `; model loads: ${loads.map(([m, n]) => `${m}×${n}`).join(', ')}` : '';
  return `${s.selected} stages: ${parts.join(', ')} in ${secs(s.durationMs)}${tail}${edits ? `; ${edits}` : ''}.`;
}

/** Lines before the summary: each restored file (a real run) or each file a run would restore. */
export function restoredLines(s: RunSummary, dryRun: boolean): string[] {
  return s.restored.map((r) => (dryRun ? `would restore ${r} (edited by hand; your copy will be kept beside it)` : `restored ${r}`));
}

/** In line mode a running stage's progress is printed at most this often (and not in its first seconds). */
export const LINE_PROGRESS_MS = 10_000;

export function lineReporter(out: (line: string) => void, opts: { verbose?: boolean } = {}): Reporter {
  let dry = false;
  const running = new Map<string, Running & { printedAt: number }>();
  return (e: EngineEvent) => {
    if (e.type === 'stage-done' || e.type === 'stage-failed' || e.type === 'stage-skipped') running.delete(e.id);
    switch (e.type) {
      case 'plan':
        dry = e.dryRun;
        if (opts.verbose) out(`checking ${e.selected} stages`);
        break;
      case 'stage-start':
        running.set(e.id, { startedAt: Date.now(), printedAt: Date.now(), line: '' });
        out(`▶ ${e.id}  (${reasonText(e.reasons)})${e.gpus.length ? ` on GPU ${e.gpus.join(',')}` : ''}`);
        break;
      case 'stage-done':
        out(`✓ ${e.id}  ${secs(e.durationMs)}`);
        break;
      case 'stage-cached':
        if (opts.verbose) out(`= ${e.id}  up to date`);
        break;
      case 'stage-failed':
        out(`✗ ${e.id}: ${e.message}`);
        break;
      case 'stage-skipped':
        out(`- ${e.id} not run: ${e.because}`);
        break;
      case 'stage-would-run':
        out(`would run ${e.id}  (${reasonText(e.reasons)})`);
        break;
      case 'stage-log': {
        if (opts.verbose) {
          out(`  [${e.id}] ${e.line}`);
          break;
        }
        const r = running.get(e.id);
        if (!r || !parseProgress(e.line)) break;
        noteLog(r, e.line);
        const now = Date.now();
        if (now - r.printedAt >= LINE_PROGRESS_MS && r.done !== r.total) {
          r.printedAt = now;
          out(`… ${e.id}  ${runningText(r, now)}`);
        }
        break;
      }
      case 'warning':
        out(`warning${e.id ? ` [${e.id}]` : ''}: ${e.message}`);
        break;
      case 'run-done':
        for (const l of restoredLines(e.summary, dry)) out(l);
        out(summaryLine(e.summary, dry));
        if (!dry && e.summary.ran > 0) {
          const where = resultsLine(e.summary);
          if (where) out(where);
        }
        break;
      default: {
        const never: never = e;
        void never;
      }
    }
  };
}
