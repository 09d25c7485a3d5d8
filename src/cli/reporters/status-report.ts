// `pipeline status` in words and as JSON, from the planner's verdicts (the same verdicts
// `run --dry-run` reports). Blocked stages are grouped as at the end of a run.
import type { Verdict } from '../../engine/planner.js';
import { editsText } from './lines.js';
import { blockedLines, verdictLabel, verdictReasons, type Blockage } from './reasons.js';

/** One row per stage: the label, text reasons for people and scripts, and the verdict as data. */
export function statusRows(states: Map<string, Verdict>): Record<string, unknown>[] {
  return [...states].map(([id, v]) => {
    const { record: _record, ...data } = v.state === 'fresh' ? v : { ...v, record: undefined };
    void _record;
    return {
      id,
      state: verdictLabel(v),
      key: 'key' in v ? v.key : null,
      reasons: verdictReasons(v),
      edited: v.state === 'fresh' ? v.edited ?? [] : [],
      verdict: data,
    };
  });
}

export function statusLines(states: Map<string, Verdict>, kindOf: (id: string) => string): string[] {
  const lines: string[] = [];
  const counts: Record<string, number> = {};
  const blocked: Blockage[] = [];
  const width = Math.max(...[...states.keys()].map((k) => k.length), 10);
  for (const [id, v] of states) {
    const label = verdictLabel(v);
    counts[label] = (counts[label] ?? 0) + 1;
    let why: string;
    if (v.state === 'fresh') why = v.edited?.length ? `${v.edited.join(', ')} differs from the stored output (edited by hand, or written under other settings); a run restores it and keeps the other copy beside it` : '';
    else if (v.state === 'blocked') {
      blocked.push(v.by ? { id, kind: kindOf(id), failure: v.failure, by: v.by } : { id, kind: kindOf(id), failure: v.failure });
      why = v.by ? `by ${v.by}` : 'see below';
    } else why = verdictReasons(v).join('; ');
    lines.push(`${label.padEnd(7)} ${id.padEnd(width)}  ${why}`.trimEnd());
  }
  lines.push(...blockedLines(blocked));
  const edited = [...states.values()].flatMap((v) => (v.state === 'fresh' ? v.edited ?? [] : []));
  const order = ['fresh', 'stale', 'failed', 'waiting', 'blocked'];
  const parts = Object.entries(counts).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([k, n]) => `${n} ${k}`);
  lines.push(`${states.size} stages: ${parts.join(', ')}${edited.length ? `; ${editsText(edited, true, ' by the next run')}` : ''}`);
  return lines;
}
