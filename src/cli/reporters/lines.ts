// Plain line logs for CI and pipes: one line per event that matters. The end-of-run lines
// (summaryLines) are shared with the listr reporter, so a terminal and a log say the same.
import { relative } from 'node:path';
import type { EngineEvent, Reporter, RunSummary, Switched } from '../../engine/events.js';
import { noteProgress, runningText, type Running } from './progress.js';
import { blockedLines, failureText, reasonText, staleText, type Blockage } from '../../words/reasons.js';

export { reasonText } from '../../words/reasons.js';

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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `a, b and 3 more`: paths named, up to `max`. */
export function shownPaths(paths: string[], max = 3): string {
  return paths.length <= max ? paths.join(', ') : `${paths.slice(0, max).join(', ')} and ${paths.length - max} more`;
}

/** Why switched outputs changed, said once for all: the settings that differ ("param limit: 20 →
 * 12"); a stage whose only change is upstream's adds nothing (its upstream says it). */
export function switchedWhy(sw: Switched[]): string {
  const own = [...new Set(sw.flatMap((x) => x.reasons.filter((r) => r.reason !== 'input').map(staleText)))];
  if (own.length) return ` (${own.length <= 3 ? own.join('; ') : `${own.slice(0, 3).join('; ')}; and ${own.length - 3} more`})`;
  return sw.some((x) => x.reasons.length) ? ' (their inputs changed)' : '';
}

/** Working-tree changes of up-to-date stages besides hand edits: "restored 1 deleted output",
 * "switched 30 outputs to cached results (param limit: 20 → 12)"; in a dry run, what a run will do. */
export function treeTexts(s: Pick<RunSummary, 'recreated' | 'switched'>, dryRun: boolean, when = ''): string[] {
  const out: string[] = [];
  const n = s.switched.reduce((a, x) => a + x.paths.length, 0);
  if (s.recreated.length) out.push(dryRun ? `${plural(s.recreated.length, 'deleted output')} will be restored${when}: ${shownPaths(s.recreated)}` : `restored ${plural(s.recreated.length, 'deleted output')}`);
  if (n) out.push(dryRun ? `${plural(n, 'output')} will be switched${when} to cached results${switchedWhy(s.switched)}` : `switched ${plural(n, 'output')} to cached results${switchedWhy(s.switched)}`);
  return out;
}

/** In a dry run `restored` lists what the run would restore; blocked stages are counted apart. */
export function summaryLine(s: RunSummary, dryRun = false): string {
  const edits = [editsText(s.restored, dryRun), ...treeTexts(s, dryRun)].filter(Boolean).join('; ');
  const tailEdits = edits ? `; ${edits}` : '';
  if (dryRun) {
    const blocked = s.blocked ? `, ${s.blocked} blocked` : '';
    // A run stops at the first blocked stage unless --keep-going: the count holds only with it.
    if (s.ran > 0 && s.blocked > 0 && !s.keepGoing) return `${s.ran} of ${s.selected} stages would run with --keep-going (${s.cached} up to date${blocked})${tailEdits}; without it a run stops at the first blocked stage and skips every stage not started by then.`;
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

/** Lines before the summary: each restored file (a real run) or each file a run would restore;
 * files written again or switched, named (ten of each, all with -v). */
export function restoredLines(s: RunSummary, dryRun: boolean, verbose = false): string[] {
  const out = s.restored.map((r) => (dryRun ? `would restore ${r} (edited by hand; your copy will be kept beside it)` : `restored ${r}`));
  const max = verbose ? Infinity : 10;
  if (s.recreated.length) out.push(`${dryRun ? 'would restore' : 'restored'} ${plural(s.recreated.length, 'deleted output')} from the store: ${shownPaths(s.recreated, max)}`);
  const switched = s.switched.flatMap((x) => x.paths);
  if (switched.length) out.push(`${dryRun ? 'would switch' : 'switched'} ${plural(switched.length, 'output')} to cached results${switchedWhy(s.switched)}: ${shownPaths(switched, max)}`);
  return out;
}

/** The lines after a run: restored files, blocked stages grouped, the summary, the results. */
export function summaryLines(s: RunSummary, dryRun: boolean, verbose = false): string[] {
  const out = restoredLines(s, dryRun, verbose);
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
        out(`✗ ${e.id}: ${failureText(e.failure)}`);
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
      case 'stage-log':
        if (opts.verbose) out(`  [${e.id}] ${e.line}`);
        break;
      case 'stage-progress': {
        // Verbose mode prints the stage's own log lines (the score kind logs its progress too).
        if (opts.verbose) break;
        const r = running.get(e.id);
        if (!r || !noteProgress(r, e)) break;
        const now = Date.now();
        if (now - r.printedAt >= LINE_PROGRESS_MS && r.done !== r.total) {
          r.printedAt = now;
          out(`… ${e.id}  ${runningText(r, now)}`);
        }
        break;
      }
      case 'stage-released':
        out(`↓ ${e.id}  released ${(e.bytes / 1e6).toFixed(1)} MB (retain policy)`);
        break;
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
