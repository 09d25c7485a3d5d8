// Verdicts, stale reasons and failures in words: the only place they become text (the engine
// emits them as data). Shared by the CLI's line, listr and status reporters and by the report's
// provenance view, so each says the same; its own folder keeps cli and report from importing each other.
import { canonicalJson, short } from '../engine/canonical.js';
import { failureGroup, type Failure } from '../engine/failure.js';
import type { StaleReason, Verdict } from '../engine/planner.js';

function show(v: unknown): string {
  if (typeof v === 'string') return /^[0-9a-f]{64}$/.test(v) ? short(v) : JSON.stringify(v);
  const s = canonicalJson(v);
  return s === undefined ? 'unset' : s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function change(label: string, from: unknown, to: unknown): string {
  if (from === undefined) return `${label} added (${show(to)})`;
  if (to === undefined) return `${label} removed (was ${show(from)})`;
  // e.g. the display metadata of every model: say what changed in size, not two long prefixes.
  if (Array.isArray(from) && Array.isArray(to)) return from.length === to.length ? `${label} changed (${from.length} entries)` : `${label}: ${from.length} → ${to.length} entries`;
  return `${label}: ${show(from)} → ${show(to)}`;
}

export function staleText(r: StaleReason): string {
  switch (r.reason) {
    case 'never-run':
      return 'never run';
    case 'forced':
      return 'forced (--force)';
    case 'failed-last-time':
      return `failed last time: ${failureLine(r.failure)}`;
    case 'outputs-missing':
      return 'outputs missing from the store (removed by gc or quarantined by verify)';
    case 'released':
      return `its outputs were released by the model's retain policy and ${r.neededBy} needs them`;
    case 'record-gone':
      return 'previous run record is gone';
    case 'kind':
      return `stage kind: ${r.from} → ${r.to}`;
    case 'code':
      return `code of kind ${r.kind} changed (${short(r.from)} → ${short(r.to)})`;
    case 'param':
      return change(`param ${r.name}`, r.from, r.to);
    case 'var':
      return change(`matrix var ${r.name}`, r.from, r.to);
    case 'output':
      return change(`output ${r.name}`, r.from, r.to);
    case 'plan':
      return change(r.name, r.from, r.to);
    case 'dependency':
      return change(`dependency ${r.path}`, r.from, r.to);
    case 'input':
      if (r.change === 'added') return `new input stage ${r.stage}`;
      if (r.change === 'removed') return `input stage ${r.stage} removed`;
      return change(`input ${r.stage} ${r.output ?? ''}`.trimEnd(), r.from, r.to);
    case 'key':
      return r.field ? `${r.field} changed` : 'key changed';
    default: {
      const never: never = r;
      return String(never);
    }
  }
}

/** At most three reasons, then a count: a stage whose upstream changed can list dozens of inputs. */
export function reasonText(reasons: StaleReason[]): string {
  const t = reasons.map(staleText);
  return t.length <= 3 ? t.join('; ') : `${t.slice(0, 3).join('; ')}; and ${t.length - 3} more`;
}

/** A failure in words: the stage whose plan failed (unless its message names it already), then
 * the message. */
export function failureText(f: Failure): string {
  return f.stage && !f.message.startsWith(`stage ${f.stage}`) ? `stage ${f.stage}: ${f.message}` : f.message;
}

/** The first line of a failure, for one-line listings. */
export function failureLine(f: Failure): string {
  return failureText(f).split('\n')[0] ?? '';
}

/** The word status shows: a stale stage that failed last time with the same key shows "failed". */
export function verdictLabel(v: Verdict): 'fresh' | 'stale' | 'failed' | 'waiting' | 'blocked' {
  if (v.state === 'stale' && v.reasons[0]?.reason === 'failed-last-time') return 'failed';
  return v.state;
}

/** Every reason of a verdict in words (status --json keeps them beside the structured verdict). */
export function verdictReasons(v: Verdict): string[] {
  switch (v.state) {
    case 'fresh':
      return [];
    case 'stale':
      return v.reasons.map(staleText);
    case 'waiting':
      return [`upstream ${v.on} will run first`];
    case 'blocked':
      return v.by ? [`blocked by ${v.by}: ${failureLine(v.failure)}`] : [failureText(v.failure)];
    default: {
      const never: never = v;
      return [String(never)];
    }
  }
}

// Causes worth saying once for many stages, with what to do; other failures differ per stage
// (a missing file, a bad revision) and are listed one by one.
const GROUP_HINT: Record<string, string> = {
  'fetch:network': 'no network; run with --offline and --models-dir, or see README › Models',
  'fetch:offline-missing': 'offline and not in --models-dir (nor a path: or the store); see README › Models',
  'fetch:gave-up': 'the server kept failing; run again later (downloads resume where they stopped)',
};

/** The group's hint, in the words of the kind: stimuli come from --stimuli-dir, not --models-dir. */
function groupHint(kind: string, group: string): string | undefined {
  if (kind === 'fetch-stimuli' && group === 'fetch:network') return 'no network; run with --offline and --stimuli-dir, or see README › Models';
  return GROUP_HINT[group];
}

const NOUN: Record<string, [string, string]> = {
  'fetch-model': ['model', 'models'],
  'fetch-stimuli': ['stimuli file', 'stimuli files'],
};

export interface Blockage {
  id: string;
  kind: string;
  failure: Failure;
  by?: string;
}

/** Blocked stages in words: the same failure of many stages once ("22 models cannot be fetched:
 * no network; …"), other failures one per stage, then how many stages wait behind them. */
export function blockedLines(blocked: Blockage[], verbose = false): string[] {
  const own = blocked.filter((b) => !b.by);
  const groups = new Map<string, Blockage[]>();
  const lines: string[] = [];
  for (const b of own) {
    const g = `${b.kind}|${failureGroup(b.failure)}`;
    if (GROUP_HINT[failureGroup(b.failure)] && !verbose) groups.set(g, [...(groups.get(g) ?? []), b]);
    else lines.push(`⊘ ${b.id}: ${failureText(b.failure)}`);
  }
  for (const members of groups.values()) {
    const first = members[0]!;
    if (members.length === 1) {
      lines.push(`⊘ ${first.id}: ${failureText(first.failure)}`);
      continue;
    }
    const [one, many] = NOUN[first.kind] ?? ['stage', 'stages'];
    const what = first.failure.reason === 'fetch' ? 'cannot be fetched' : 'cannot be planned';
    const ids = members.slice(0, 3).map((m) => m.id).join(', ');
    lines.push(`⊘ ${members.length} ${members.length === 1 ? one : many} ${what}: ${groupHint(first.kind, failureGroup(first.failure))} (${ids}${members.length > 3 ? `, and ${members.length - 3} more` : ''}; first: ${failureLine(first.failure)})`);
  }
  const behind = blocked.length - own.length;
  if (behind > 0) lines.push(`⊘ ${behind} stage${behind === 1 ? '' : 's'} downstream of ${own.length === 1 ? 'it' : 'them'} cannot run either`);
  return lines;
}
