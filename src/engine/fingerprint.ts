// Stage keys and their explanation. The fingerprint is a plain object whose every field is named;
// the key is sha256 of its canonical JSON; a miss is explained by diffing against the fingerprint
// kept in the stage's last run record (STYLE.md 1–3). The explanation is data (StaleReason);
// reporters put it into words.
import { canonicalJson, digestOf } from './canonical.js';
import type { StaleReason } from './planner.js';
import type { Fingerprint } from './store/run-record.js';

export function keyOf(fp: Fingerprint): string {
  return digestOf(fp);
}

type Named = 'param' | 'var' | 'output' | 'plan' | 'dependency';

function diffRecord(reason: Named, before: Record<string, unknown>, after: Record<string, unknown>, out: StaleReason[]): void {
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    const r: StaleReason = reason === 'dependency' ? { reason, path: k } : { reason, name: k };
    if (a !== undefined) r.from = a;
    if (b !== undefined) r.to = b;
    out.push(r);
  }
}

/** Why `next` differs from `prev`, field by field. */
export function explain(prev: Fingerprint, next: Fingerprint): StaleReason[] {
  const out: StaleReason[] = [];
  const fields = Object.keys(next) as (keyof Fingerprint)[];
  for (const f of fields) {
    switch (f) {
      case 'kind':
        if (prev.kind !== next.kind) out.push({ reason: 'kind', from: prev.kind, to: next.kind });
        break;
      case 'code':
        if (prev.code !== next.code) out.push({ reason: 'code', kind: next.kind, from: prev.code, to: next.code });
        break;
      case 'params':
        diffRecord('param', prev.params ?? {}, next.params, out);
        break;
      case 'vars':
        diffRecord('var', prev.vars ?? {}, next.vars, out);
        break;
      case 'plan':
        diffPlan(prev.plan ?? {}, next.plan, out);
        break;
      case 'inputs': {
        const p = prev.inputs ?? {};
        for (const id of new Set([...Object.keys(p), ...Object.keys(next.inputs)])) {
          const a = p[id];
          const b = next.inputs[id];
          if (!a) out.push({ reason: 'input', stage: id, change: 'added' });
          else if (!b) out.push({ reason: 'input', stage: id, change: 'removed' });
          else {
            for (const o of new Set([...Object.keys(a), ...Object.keys(b)])) {
              if (a[o] === b[o]) continue;
              const r: StaleReason = { reason: 'input', stage: id, change: 'digest', output: o };
              if (a[o] !== undefined) r.from = a[o];
              if (b[o] !== undefined) r.to = b[o];
              out.push(r);
            }
          }
        }
        break;
      }
      case 'outputs':
        diffRecord('output', prev.outputs ?? {}, next.outputs, out);
        break;
      default: {
        const never: never = f;
        out.push({ reason: 'key', field: String(never) });
      }
    }
  }
  return out.length ? out : [{ reason: 'key' }];
}

/** plan fields are often maps of path → digest (run deps): report the changed path itself. */
function diffPlan(before: Record<string, unknown>, after: Record<string, unknown>, out: StaleReason[]): void {
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      if (k === 'deps') diffRecord('dependency', a as Record<string, unknown>, b as Record<string, unknown>, out);
      else {
        const sub: StaleReason[] = [];
        diffRecord('plan', a as Record<string, unknown>, b as Record<string, unknown>, sub);
        for (const s of sub) if (s.reason === 'plan') out.push({ ...s, name: `${k} ${s.name}` });
      }
    } else {
      const r: StaleReason = { reason: 'plan', name: k };
      if (a !== undefined) r.from = a;
      if (b !== undefined) r.to = b;
      out.push(r);
    }
  }
}
