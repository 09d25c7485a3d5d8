// Revisions as the hub names them: branches and tags, OLMo/Pythia-style step names
// (`step10000-tokens44B`, `step143000`), and selections of them for a training-time sweep.

import picomatch from 'picomatch';
import { distance } from 'fastest-levenshtein';
import { FetchError } from './errors.js';

export interface RefEntry {
  name: string;
  targetCommit: string;
}

export interface Refs {
  branches: RefEntry[];
  tags: RefEntry[];
}

export interface RevisionSelect {
  /** picomatch glob over branch and tag names, e.g. `step*-tokens*`. */
  glob: string;
  /** Keep every k-th of the matches after sorting by step (the first is always kept). */
  every?: number;
  /** Keep only steps in [lo, hi] (inclusive), applied before `every`. */
  steps?: [number, number];
}

/** The optimizer step in a revision name (`step10000-tokens44B` → 10000), or null. */
export function parseStep(name: string): number | null {
  const m = /(?:^|[^a-z])step(\d+)/i.exec(name);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** Order by step number; names without a step go last, by name. */
export function compareByStep(a: string, b: string): number {
  const sa = parseStep(a);
  const sb = parseStep(b);
  if (sa !== null && sb !== null && sa !== sb) return sa - sb;
  if (sa === null && sb !== null) return 1;
  if (sa !== null && sb === null) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function allRefNames(refs: Refs): string[] {
  return [...new Set([...refs.branches, ...refs.tags].map((r) => r.name))];
}

/** Apply a selection to a repo's refs; the result is sorted by step. */
export function selectRevisions(refs: Refs, select: RevisionSelect): string[] {
  const isMatch = picomatch(select.glob);
  let names = allRefNames(refs).filter((n) => isMatch(n)).sort(compareByStep);
  if (select.steps) {
    const [lo, hi] = select.steps;
    if (!(lo <= hi)) throw new FetchError('bad-spec', `revision step range [${lo}, ${hi}] is empty (lo > hi)`);
    names = names.filter((n) => {
      const s = parseStep(n);
      return s !== null && s >= lo && s <= hi;
    });
  }
  const every = select.every ?? 1;
  if (!Number.isInteger(every) || every < 1) {
    throw new FetchError('bad-spec', `revision selection every: ${every} must be a whole number ≥ 1`);
  }
  return names.filter((_, i) => i % every === 0);
}

/** Up to `n` refs nearest to a missing name: by step distance for step names, else by edit distance. */
export function closeRefs(name: string, names: readonly string[], n = 5): string[] {
  const step = parseStep(name);
  const scored = names.map((r) => {
    const rs = parseStep(r);
    const score = step !== null && rs !== null ? Math.abs(rs - step) : Number.MAX_SAFE_INTEGER / 2 + distance(name, r);
    return { r, score };
  });
  return scored.sort((a, b) => a.score - b.score || (a.r < b.r ? -1 : 1)).slice(0, n).map((s) => s.r);
}

/** Find a ref by name (branch first, like git) and return its commit. */
export function refCommit(refs: Refs, name: string): string | undefined {
  return (refs.branches.find((b) => b.name === name) ?? refs.tags.find((t) => t.name === name))?.targetCommit;
}

export { allRefNames };
