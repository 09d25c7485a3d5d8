// Stage keys and their explanation. The fingerprint is a plain object whose every field is named;
// the key is sha256 of its canonical JSON; a miss is explained by diffing against the fingerprint
// kept in the stage's last run record (STYLE.md 1–3).
import { canonicalJson, digestOf, short } from './canonical.js';
import type { Fingerprint } from './store/run-record.js';

export function keyOf(fp: Fingerprint): string {
  return digestOf(fp);
}

function show(v: unknown): string {
  if (typeof v === 'string') return /^[0-9a-f]{64}$/.test(v) ? short(v) : JSON.stringify(v);
  const s = canonicalJson(v);
  return s === undefined ? 'unset' : s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function diffRecord(label: string, before: Record<string, unknown>, after: Record<string, unknown>, out: string[]): void {
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    if (a === undefined) out.push(`${label} ${k} added (${show(b)})`);
    else if (b === undefined) out.push(`${label} ${k} removed (was ${show(a)})`);
    else out.push(`${label} ${k}: ${show(a)} → ${show(b)}`);
  }
}

/** Why `next` differs from `prev`, field by field, in words. */
export function explain(prev: Fingerprint, next: Fingerprint): string[] {
  const out: string[] = [];
  const fields = Object.keys(next) as (keyof Fingerprint)[];
  for (const f of fields) {
    switch (f) {
      case 'kind':
        if (prev.kind !== next.kind) out.push(`stage kind: ${prev.kind} → ${next.kind}`);
        break;
      case 'code':
        if (prev.code !== next.code) out.push(`code of kind ${next.kind} changed (${short(prev.code)} → ${short(next.code)})`);
        break;
      case 'params':
        diffRecord('param', prev.params ?? {}, next.params, out);
        break;
      case 'vars':
        diffRecord('matrix var', prev.vars ?? {}, next.vars, out);
        break;
      case 'plan':
        diffPlan(prev.plan ?? {}, next.plan, out);
        break;
      case 'inputs': {
        const p = prev.inputs ?? {};
        for (const id of new Set([...Object.keys(p), ...Object.keys(next.inputs)])) {
          if (!p[id]) out.push(`new input stage ${id}`);
          else if (!next.inputs[id]) out.push(`input stage ${id} removed`);
          else diffRecord(`input ${id}`, p[id], next.inputs[id], out);
        }
        break;
      }
      case 'outputs':
        diffRecord('output', prev.outputs ?? {}, next.outputs, out);
        break;
      default: {
        const never: never = f;
        out.push(`${String(never)} changed`);
      }
    }
  }
  return out.length ? out : ['key changed'];
}

/** plan fields are often maps of path → digest (run deps): report the changed path itself. */
function diffPlan(before: Record<string, unknown>, after: Record<string, unknown>, out: string[]): void {
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      diffRecord(k === 'deps' ? 'dependency' : k, a as Record<string, unknown>, b as Record<string, unknown>, out);
    } else if (Array.isArray(a) && Array.isArray(b)) {
      // e.g. the display metadata of every model: say what changed in size, not two long prefixes.
      out.push(a.length === b.length ? `${k} changed (${a.length} entries)` : `${k}: ${a.length} → ${b.length} entries`);
    } else if (a === undefined) out.push(`${k} added (${show(b)})`);
    else out.push(`${k}: ${show(a)} → ${show(b)}`);
  }
}
