// What the reporters say about a running stage: its item progress (stage-progress events: a kind
// reports `done` of `total` units through ctx.progress, the score kind in requests), how long it
// has run, and an estimate. The last log line is shown while a stage reports no progress.

export interface Running {
  startedAt: number;
  /** The last log line. */
  line: string;
  done?: number;
  total?: number;
  unit?: string;
  /** When progress was first reported, and how far it was: the estimate runs from there, so a
   * model load before the first request does not inflate it. */
  progressFrom?: { at: number; done: number };
}

/** Fold a log line into a running stage's state. */
export function noteLog(r: Running, line: string): void {
  r.line = line;
}

/** Fold a progress report into a running stage's state (one past its total, or of nothing, is not shown). */
export function noteProgress(r: Running, p: { done: number; total: number; unit: string }, now = Date.now()): boolean {
  if (!(p.total > 0 && p.done >= 0 && p.done <= p.total)) return false;
  r.done = p.done;
  r.total = p.total;
  r.unit = p.unit;
  r.progressFrom ??= { at: now, done: p.done };
  return true;
}

/** 850 ms, 12 s, 3m05s, 1h02m. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `8/24 requests (33%), 4 s, ~8 s left` — or the elapsed time and the last log line. */
export function runningText(r: Running, now: number): string {
  const elapsed = now - r.startedAt;
  if (r.total !== undefined && r.done !== undefined) {
    const pct = Math.floor((100 * r.done) / r.total);
    const from = r.progressFrom ?? { at: r.startedAt, done: 0 };
    const rate = r.done > from.done ? (now - from.at) / (r.done - from.done) : undefined;
    const left = rate !== undefined && r.done < r.total ? `, ~${duration(rate * (r.total - r.done))} left` : '';
    return `${r.done}/${r.total} ${r.unit} (${pct}%), ${duration(elapsed)}${left}`;
  }
  return `${duration(elapsed)}${r.line ? `: ${r.line}` : ''}`;
}
