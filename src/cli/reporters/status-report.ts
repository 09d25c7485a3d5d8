// `pipeline status` in words and as JSON, from the planner's verdicts (the same verdicts
// `run --dry-run` reports). Blocked stages are grouped as at the end of a run.
import type { Verdict } from '../../engine/planner.js';
import type { Switched } from '../../engine/events.js';
import { editsText, switchedWhy, treeTexts } from './lines.js';
import { blockedLines, verdictLabel, verdictReasons, type Blockage } from '../../words/reasons.js';

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
      missing: v.state === 'fresh' ? v.missing ?? [] : [],
      switched: v.state === 'fresh' ? v.switched?.paths ?? [] : [],
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
    if (v.state === 'fresh') why = freshWhy(v);
    else if (v.state === 'blocked') {
      blocked.push(v.by ? { id, kind: kindOf(id), failure: v.failure, by: v.by } : { id, kind: kindOf(id), failure: v.failure });
      why = v.by ? `by ${v.by}` : 'see below';
    } else why = verdictReasons(v).join('; ');
    lines.push(`${label.padEnd(7)} ${id.padEnd(width)}  ${why}`.trimEnd());
  }
  lines.push(...blockedLines(blocked));
  const fresh = [...states].flatMap(([id, v]) => (v.state === 'fresh' ? [{ id, v }] : []));
  const edited = fresh.flatMap(({ v }) => v.edited ?? []);
  const recreated = fresh.flatMap(({ v }) => v.missing ?? []);
  const switched: Switched[] = fresh.flatMap(({ id, v }) => (v.switched ? [{ stage: id, ...v.switched }] : []));
  const order = ['fresh', 'stale', 'failed', 'waiting', 'blocked'];
  const parts = Object.entries(counts).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([k, n]) => `${n} ${k}`);
  const tree = [editsText(edited, true, ' by the next run'), ...treeTexts({ recreated, switched }, true, ' by the next run')].filter(Boolean);
  lines.push(`${states.size} stages: ${parts.join(', ')}${tree.length ? `; ${tree.join('; ')}` : ''}`);
  return lines;
}

/** A fresh stage's working copies that a run would change, in words (empty when none). */
function freshWhy(v: Extract<Verdict, { state: 'fresh' }>): string {
  const out: string[] = [];
  if (v.released) out.push('its outputs were released by the model\'s retain policy; a run brings them back only when a stale stage needs them');
  if (v.edited?.length) out.push(`${v.edited.join(', ')} differs from the stored output (edited by hand); a run restores it and keeps your copy beside it`);
  if (v.missing?.length) out.push(`${v.missing.join(', ')} deleted; a run restores ${v.missing.length === 1 ? 'it' : 'them'} from the store`);
  if (v.switched) out.push(`${v.switched.paths.join(', ')} ${v.switched.paths.length === 1 ? 'holds' : 'hold'} another run's results${switchedWhy([{ stage: '', ...v.switched }])}; a run switches ${v.switched.paths.length === 1 ? 'it' : 'them'} to these cached ones`);
  return out.join('; ');
}
