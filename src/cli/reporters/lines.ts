// Plain line logs for CI and pipes: one line per event that matters. The end-of-run lines
// (summaryLines) are shared with the listr reporter, so a terminal and a log say the same.
import { relative } from 'node:path';
import type { EngineEvent, Reporter, RunSummary } from '../../engine/events.js';
import { noteLog, parseProgress, runningText, type Running } from './progress.js';
import { blockedLines, reasonText, type Blockage } from './reasons.js';

export { reasonText } from './reasons.js';

export function secs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
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

/** In a dry run `restored` lists what the run would restore; blocked stages are counted apart. */
export function summaryLine(s: RunSummary, dryRun = false): string {
  const edits = editsText(s.restored, dryRun);
  const tailEdits = edits ? `; ${edits}` : '';
  if (dryRun) {
    const blocked = s.blocked ? `, ${s.blocked} blocked` : '';
    if (s.ran > 0) return `${s.ran} of ${s.selected} stages would run (${s.cached} up to date${blocked})${tailEdits}.`;
    if (s.blocked > 0) return `Nothing can run: ${s.blocked} of ${s.selected} stages are blocked (${s.cached} up to date)${tailEdits}.`;
    return edits ? `All ${s.selected} stages are up to date; ${edits}.` : `Nothing to do: all ${s.selected} stages are up to date.`;
  }
  if (s.interrupted) return `Interrupted: ${s.ran} stages ran, ${s.cached} up to date, ${s.selected - s.ran - s.cached - s.failed - s.blocked} not run; run again to resume.`;
  if (s.ran === 0 && s.failed === 0 && s.skipped === 0 && s.blocked === 0) return edits ? `All ${s.selected} stages are up to date (${secs(s.durationMs)}); ${edits}.` : `Nothing to do: all ${s.selected} stages are up to date (${secs(s.durationMs)}).`;
  const parts = [`${s.ran} ran`, `${s.cached} up to date`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.blocked) parts.push(`${s.blocked} blocked`);
  if (s.skipped) parts.push(`${s.skipped} not run`);
  const loads = Object.entries(s.modelLoads);
  const tail = loads.length ? `; model loads: ${loads.map(([m, n]) => `${m}×${n}`).join(', ')}` : '';
  return `${s.selected} stages: ${parts.join(', ')} in ${secs(s.durationMs)}${tail}${tailEdits}.`;
}

/** Lines before the summary: each restored file (a real run) or each file a run would restore. */
export function restoredLines(s: RunSummary, dryRun: boolean): string[] {
  return s.restored.map((r) => (dryRun ? `would restore ${r} (edited by hand; your copy will be kept beside it)` : `restored ${r}`));
}

/** The lines after a run: restored files, blocked stages grouped, the summary, the results. */
export function summaryLines(s: RunSummary, dryRun: boolean, verbose = false): string[] {
  const out = restoredLines(s, dryRun);
  out.push(...blockedLines(s.blockages, verbose));
  out.push(summaryLine(s, dryRun));
  if (!dryRun && s.ran > 0) {
    const where = resultsLine(s);
    if (where) out.push(where);
  }
  return out;
}

/** In line mode a running stage's progress is printed at most this often (and not in its first seconds). */
export const LINE_PROGRESS_MS = 10_000;

export function lineReporter(out: (line: string) => void, opts: { verbose?: boolean } = {}): Reporter {
  let dry = false;
  const blocked: Blockage[] = [];
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
        if (opts.verbose) out(`= ${e.id}  up to date${e.edited?.length ? ` (edited: ${e.edited.join(', ')})` : ''}`);
        break;
      case 'stage-failed':
        out(`✗ ${e.id}: ${e.message}`);
        break;
      case 'stage-blocked':
        // Said at the end, grouped: 22 fetches failing alike are one line, not 22.
        blocked.push(e);
        if (opts.verbose && e.by) out(`⊘ ${e.id} blocked by ${e.by}`);
        break;
      case 'stage-skipped':
        out(`- ${e.id} not run: ${e.because}`);
        break;
      case 'stage-would-run':
        out(`would run ${e.id}  (${e.waitingOn ? `upstream ${e.waitingOn} will run` : reasonText(e.reasons)})`);
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
        for (const l of summaryLines(e.summary, dry, opts.verbose)) out(l);
        break;
      default: {
        const never: never = e;
        void never;
      }
    }
  };
}
