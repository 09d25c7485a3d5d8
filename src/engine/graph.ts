// The stage graph as plain data: topological order, cycle detection (with the cycle printed),
// selection of targets (`--only`, ids, globs) plus the upstream stages they need, and renderers.
import { PipelineError } from './diagnostics.js';
import type { Instance } from './expand.js';
import type { Spec } from './spec-types.js';

export interface Graph {
  order: Instance[];
  byId: Map<string, Instance>;
  /** id → ids that need it. */
  dependents: Map<string, string[]>;
}

export function buildGraph(instances: Instance[], spec: Spec): Graph {
  const byId = new Map(instances.map((i) => [i.id, i]));
  const dependents = new Map<string, string[]>();
  for (const i of instances) for (const n of i.needs) dependents.set(n, [...(dependents.get(n) ?? []), i.id]);
  // Depth-first topological sort; a grey node met again closes a cycle.
  const state = new Map<string, 1 | 2>();
  const order: Instance[] = [];
  const stack: string[] = [];
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      const first = byId.get(id)!;
      throw new PipelineError([spec.source.at(['stages', first.name, 'needs'], `the stages form a cycle: ${cycle.join(' → ')}; a stage cannot depend on its own output`, { key: true })]);
    }
    state.set(id, 1);
    stack.push(id);
    for (const n of byId.get(id)!.needs) visit(n);
    stack.pop();
    state.set(id, 2);
    order.push(byId.get(id)!);
  };
  for (const i of instances) visit(i.id);
  return { order, byId, dependents };
}

// Selection (targets, --only) lives in select.ts; re-exported for the engine and scheduler.
export { chosen, matchesOnly, select, SelectionError } from './select.js';

export function renderGraph(instances: Instance[], format: 'text' | 'dot' | 'mermaid'): string {
  const ids = new Set(instances.map((i) => i.id));
  const lines: string[] = [];
  if (format === 'dot') {
    lines.push('digraph pipeline {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];');
    for (const i of instances) lines.push(`  ${JSON.stringify(i.id)} [label=${JSON.stringify(`${i.id}\n(${i.kind})`)}];`);
    for (const i of instances) for (const n of i.needs) if (ids.has(n)) lines.push(`  ${JSON.stringify(n)} -> ${JSON.stringify(i.id)};`);
    lines.push('}');
  } else if (format === 'mermaid') {
    const key = new Map(instances.map((i, k) => [i.id, `s${k}`]));
    lines.push('flowchart LR');
    for (const i of instances) lines.push(`  ${key.get(i.id)}["${i.id.replace(/"/g, "'")}"]`);
    for (const i of instances) for (const n of i.needs) if (ids.has(n)) lines.push(`  ${key.get(n)} --> ${key.get(i.id)}`);
  } else {
    for (const i of instances) {
      lines.push(`${i.id}  (${i.kind})`);
      for (const n of i.needs) lines.push(`    ← ${n}`);
    }
  }
  return lines.join('\n');
}
