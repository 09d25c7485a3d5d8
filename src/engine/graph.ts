// The stage graph as plain data: topological order, cycle detection (with the cycle printed),
// selection of targets (`--only`, ids, globs) plus the upstream stages they need, and renderers.
import { createRequire } from 'node:module';
import type PicomatchFn from 'picomatch';
import { PipelineError } from './diagnostics.js';
import type { Instance } from './expand.js';
import type { Spec } from './spec-types.js';

// Loaded only when a selector is a glob: a no-op run should not pay for it.
let pm: typeof PicomatchFn | undefined;
function picomatch(glob: string): (s: string) => boolean {
  pm ??= createRequire(import.meta.url)('picomatch') as typeof PicomatchFn;
  return pm(glob);
}

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

/** Does `--only x` name this instance: its task, model (name or hub id), stage kind, declaration or id glob. */
export function matchesOnly(inst: Instance, pattern: string): boolean {
  const has = (v: string | string[] | undefined): boolean => (Array.isArray(v) ? v.includes(pattern) : v === pattern);
  if (has(inst.vars['task']) || has(inst.vars['domain']) || has(inst.vars['condition'])) return true;
  if (inst.model && (inst.model.name === pattern || inst.model.id === pattern)) return true;
  if (inst.kind === pattern || inst.name === pattern || inst.id === pattern) return true;
  return /[*?[\]{}]/.test(pattern) && picomatch(pattern)(inst.id);
}

/** The instances a selection names directly (without what they need). */
export function chosen(graph: Graph, targets: string[], only: string[]): Set<string> {
  const out = new Set<string>();
  for (const inst of graph.order) {
    const t = targets.length === 0 || targets.some((p) => inst.id === p || inst.id.startsWith(p + '/') || (/[*?[\]{}]/.test(p) && picomatch(p)(inst.id)));
    const o = only.length === 0 || only.some((p) => matchesOnly(inst, p));
    if (t && o) out.add(inst.id);
  }
  return out;
}

/** Selected instances and everything upstream of them, in topological order. */
export function select(graph: Graph, targets: string[], only: string[]): Instance[] {
  if (targets.length === 0 && only.length === 0) return graph.order;
  const chosenIds = chosen(graph, targets, only);
  const closure = new Set<string>();
  const add = (id: string): void => {
    if (closure.has(id)) return;
    closure.add(id);
    for (const n of graph.byId.get(id)!.needs) add(n);
  };
  for (const id of chosenIds) add(id);
  return graph.order.filter((i) => closure.has(i.id));
}

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
