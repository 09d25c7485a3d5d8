// Selections: `run [targets…]`, `--only x` (run, status, dag). A target is a stage id, an id prefix
// (`score/crt` selects every id under it) or an id glob; `--only` names a task, condition, domain,
// model (short name or hub id), revision (`step10000-tokens44B`, `OLMo-7B@step10000-tokens44B`),
// stage kind, declaration, id, or a glob over any of these. Globs are picomatch's: `*` and `?` never
// match `/`, `**` does (`score/*` is one level, `score/**` everything under score/). A selector that
// matches nothing is an error naming the closest names, never an empty run.
import { createRequire } from 'node:module';
import type PicomatchFn from 'picomatch';
import { didYouMean } from './diagnostics.js';
import type { Instance } from './expand.js';

/** A selection that names nothing: a usage error (exit 2). */
export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

// Loaded only when a selector is a glob: a no-op run should not pay for it.
let pm: typeof PicomatchFn | undefined;
const globs = new Map<string, (s: string) => boolean>();
function glob(pattern: string): (s: string) => boolean {
  let m = globs.get(pattern);
  if (!m) {
    pm ??= createRequire(import.meta.url)('picomatch') as typeof PicomatchFn;
    m = pm(pattern);
    globs.set(pattern, m);
  }
  return m;
}

export const isGlob = (p: string): boolean => /[*?[\]{}]/.test(p);

interface GraphLike {
  order: Instance[];
  byId: Map<string, Instance>;
}

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every name `--only` can match an instance by. */
export function onlyNames(inst: Instance): string[] {
  const out = [...values(inst.vars['task']), ...values(inst.vars['domain']), ...values(inst.vars['condition']), inst.kind, inst.name, inst.id];
  const revs = values(inst.vars['revision']).filter((r) => r !== '');
  out.push(...revs);
  if (inst.model) {
    out.push(inst.model.name, inst.model.id);
    for (const r of revs) out.push(`${inst.model.name}@${r}`, `${inst.model.id}@${r}`);
  }
  return out.filter((s) => s !== '');
}

/** Does `--only x` name this instance. */
export function matchesOnly(inst: Instance, pattern: string): boolean {
  const names = onlyNames(inst);
  if (names.includes(pattern)) return true;
  if (!isGlob(pattern)) return false;
  const m = glob(pattern);
  return names.some((n) => m(n));
}

/** Does a target (id, id prefix or id glob) name this instance. */
export function matchesTarget(inst: Instance, p: string): boolean {
  return inst.id === p || inst.id.startsWith(p + '/') || (isGlob(p) && glob(p)(inst.id));
}

/** The instances a selection names directly (without what they need). */
export function chosen(graph: GraphLike, targets: string[], only: string[]): Set<string> {
  const out = new Set<string>();
  for (const inst of graph.order) {
    const t = targets.length === 0 || targets.some((p) => matchesTarget(inst, p));
    const o = only.length === 0 || only.some((p) => matchesOnly(inst, p));
    if (t && o) out.add(inst.id);
  }
  return out;
}

/**
 * The names closest to a glob that matches none: its literal text (glob characters removed)
 * against each name's start of the same length, so `score/lambda*` finds `score/lambada/…`.
 */
export function closestToGlob(pattern: string, names: readonly string[], n = 3): string {
  const literal = pattern.replace(/[*?[\]{}]/g, '');
  if (literal.length < 2 || names.length === 0) return '';
  const { distance } = createRequire(import.meta.url)('fastest-levenshtein') as typeof import('fastest-levenshtein');
  const limit = Math.max(2, Math.floor(literal.length / 3));
  const ranked = [...new Set(names)]
    .map((name) => ({ name, d: distance(literal, name.slice(0, literal.length)) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
  return ranked.length ? ` (closest: ${ranked.slice(0, n).map((x) => x.name).join(', ')})` : '';
}

/** Each selector that matches no instance, as a message with the closest names. */
export function unmatchedSelectors(graph: GraphLike, targets: string[], only: string[]): string[] {
  const problems: string[] = [];
  for (const p of targets) {
    if (graph.order.some((i) => matchesTarget(i, p))) continue;
    const ids = graph.order.map((i) => i.id);
    const hint = isGlob(p)
      ? closestToGlob(p, ids) + (p.includes('/') && !p.includes('**') ? ' (in a glob `*` stops at `/`: use `**` to match across it, e.g. score/**)' : '')
      : didYouMean(p, ids);
    problems.push(`target "${p}" matches no stage id${hint}; ${ids.length} stages, e.g. ${ids.slice(0, 3).join(', ')} (see \`pipeline dag\`)`);
  }
  for (const p of only) {
    if (graph.order.some((i) => matchesOnly(i, p))) continue;
    const names = [...new Set(graph.order.flatMap(onlyNames))];
    const group = (pick: (i: Instance) => string[]): string => {
      const all = [...new Set(graph.order.flatMap(pick))].filter(Boolean);
      return all.length === 0 ? 'none' : all.length > 8 ? `${all.slice(0, 8).join(', ')}, … (${all.length})` : all.join(', ');
    };
    const hint = isGlob(p) ? closestToGlob(p, names) : didYouMean(p, names);
    problems.push(
      `--only ${p} matches no stage${hint}; tasks: ${group((i) => values(i.vars['task']))}; models: ${group((i) => (i.model ? [i.model.name] : []))}; ` +
        `revisions: ${group((i) => values(i.vars['revision']))}; kinds: ${group((i) => [i.kind])}`,
    );
  }
  return problems;
}

/** Selected instances and everything upstream of them, in topological order. */
export function select(graph: GraphLike, targets: string[], only: string[]): Instance[] {
  if (targets.length === 0 && only.length === 0) return graph.order;
  const problems = unmatchedSelectors(graph, targets, only);
  if (problems.length) throw new SelectionError(problems.join('\n'));
  const chosenIds = chosen(graph, targets, only);
  if (chosenIds.size === 0) {
    throw new SelectionError(`no stage matches ${[...targets.map((t) => `target "${t}"`), ...only.map((o) => `--only ${o}`)].join(' and ')} together (each matches some stages, but not the same ones)`);
  }
  const closure = new Set<string>();
  const add = (id: string): void => {
    if (closure.has(id)) return;
    closure.add(id);
    for (const n of graph.byId.get(id)!.needs) add(n);
  };
  for (const id of chosenIds) add(id);
  return graph.order.filter((i) => closure.has(i.id));
}
