// The layers stay layered: no import cycle between the folders of src (cli above engine above
// fetch; tasks below analysis; words below cli and report), and none between the modules of src/cli (verb modules take their
// shared helpers from options.ts, never from main.ts, which loads them). Static, re-exported,
// type-only and dynamic imports all count.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');

const IMPORT = /\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Every relative import of every .ts file under src/, as repo-relative paths of .ts files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const e of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
    const file = join(e.parentPath, e.name);
    const text = readFileSync(file, 'utf8').replace(/^\s*\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(ROOT, resolve(dirname(file), (m[1] ?? m[2] ?? m[3])!).replace(/\.js$/, '.ts')));
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

/** The cycles of a graph: each strongly connected component with more than one node (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The imports that make up a cycle, for the message. */
function witnesses(graph: Map<string, string[]>, group: (file: string) => string | undefined, scc: string[]): string[] {
  const members = new Set(scc);
  const out: string[] = [];
  for (const [from, tos] of graph) {
    const a = group(from);
    for (const to of tos) {
      const b = group(to);
      if (a !== undefined && b !== undefined && a !== b && members.has(a) && members.has(b)) out.push(`${from} → ${to}`);
    }
  }
  return out;
}

function cyclesBy(graph: Map<string, string[]>, group: (file: string) => string | undefined): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [from, tos] of graph) {
    const a = group(from);
    if (a === undefined) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    for (const to of tos) {
      const b = group(to);
      if (b !== undefined && b !== a) edges.get(a)!.add(b);
    }
  }
  return cycles(edges).map((scc) => `${scc.join(' ⇄ ')}:\n  ${witnesses(graph, group, scc).join('\n  ')}`);
}

test('no import cycle between the folders of src', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `read ${graph.size} modules under ${SRC}`);
  // The scanner sees the edges that exist: the engine imports fetch (revision selection).
  assert.ok([...graph].some(([f, tos]) => f.startsWith('src/engine/') && tos.some((t) => t.startsWith('src/fetch/'))), 'the engine → fetch imports were found');
  const folder = (f: string): string | undefined => /^src\/[^/]+\//.exec(f)?.[0];
  assert.deepEqual(cyclesBy(graph, folder), []);
});

test('no import cycle between the modules of src/cli', () => {
  const graph = importGraph();
  // main.ts loads every verb module (dynamic imports): those edges are in the graph.
  assert.ok(graph.get('src/cli/main.ts')?.includes('src/cli/run.ts'), 'main.ts → run.ts was found');
  const cliFile = (f: string): string | undefined => (f.startsWith('src/cli/') ? f : undefined);
  assert.deepEqual(cyclesBy(graph, cliFile), []);
});

test('the cycle finder finds a cycle', () => {
  const graph = new Map([['src/cli/a.ts', ['src/cli/b.ts']], ['src/cli/b.ts', ['src/cli/a.ts']], ['src/cli/c.ts', ['src/cli/a.ts']]]);
  assert.deepEqual(cyclesBy(graph, (f) => f), ['src/cli/a.ts ⇄ src/cli/b.ts:\n  src/cli/a.ts → src/cli/b.ts\n  src/cli/b.ts → src/cli/a.ts']);
});
