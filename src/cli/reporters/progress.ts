// What the reporters say about a running stage: item progress parsed from its log ("lambada:
// 8/24 requests" — the score kind logs one as it goes), how long it has run, and an estimate.
// Parsing the log keeps the engine's event protocol unchanged: any kind that logs `N/M <unit>`
// gets a progress line.

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

const PROGRESS = /(\d+)\/(\d+) (requests|items|files|rows|stages)\b/;

/** Progress of a log line, when it reports one. */
export function parseProgress(line: string): { done: number; total: number; unit: string } | undefined {
  const m = PROGRESS.exec(line);
  if (!m) return undefined;
  const done = Number(m[1]);
  const total = Number(m[2]);
  return total > 0 && done <= total ? { done, total, unit: m[3]! } : undefined;
}

/** Fold a log line into a running stage's state. */
export function noteLog(r: Running, line: string, now = Date.now()): void {
  r.line = line;
  const p = parseProgress(line);
  if (!p) return;
  Object.assign(r, p);
  r.progressFrom ??= { at: now, done: p.done };
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
