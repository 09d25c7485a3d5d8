// Where a full run's per-stage milliseconds go: `pipeline run` of the paper-shaped DAG under
// `node --cpu-prof` (the engine and its command spawner both write a profile), each sample charged
// to the innermost engine function that names a job (storing outputs, the run record, the stage
// lock, …), then divided by the number of stages. `npm run bench -- profile`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paperShape, projectDir, stageCount } from './engine-bench.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'pipeline.js');

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Categories, tried from the sampled frame outwards: the first frame that matches one names the job. */
const RULES: [category: string, test: (f: CallFrame) => boolean][] = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['IPC to and from the spawner', (f) => /\/run\/spawner(-main)?\.js$/.test(f.url) || (/child_process|serialization/.test(f.url) && /send|writeChannelMessage|channel\.onread|parseChannelMessages/.test(f.functionName))],
  ['spawning commands (fork and exec)', (f) => /child_process/.test(f.url) && /spawn/i.test(f.functionName)],
  ['run kind: path checks, clearing outs', (f) => /\/stages\/run\.js$/.test(f.url)],
  // After an await the caller's frame is gone: writeFileAtomic stands for the metadata files it writes.
  ['metadata files (run record, fingerprint, stage pointer)', (f) => /^(writeRun|writeFailure|writeFileAtomic)$/.test(f.functionName)],
  ['hashing files (stat cache)', (f) => /\/stat-cache\.js$/.test(f.url) || f.functionName === 'hashFile' || /internal\/fs\/streams/.test(f.url)],
  ['storing outputs (objects)', (f) => /^(putFile|putBytes|adopt|putTree)$/.test(f.functionName)],
  ['stage lock', (f) => /\/lock-file\.js$/.test(f.url) || f.functionName === 'lock'],
  ['staging folders', (f) => /^(makeTmp|ensureOwner)$/.test(f.functionName) || /rimraf/.test(f.url)],
  ['input checks (re-hash)', (f) => /^(checkInputs|objectIntact)$/.test(f.functionName)],
  ['materialising', (f) => /\/materialize\.js$/.test(f.url)],
  ['key, verdict, why stale', (f) => /\/(planner|fingerprint|canonical|code-digest)\.js$/.test(f.url)],
  ['events, reporter', (f) => /\/reporters\//.test(f.url) || /\/engine\/events\.js$/.test(f.url) || (/\/engine\.js$/.test(f.url) && f.functionName === 'emit')],
  ['executing a stage (other)', (f) => /\/exec-stage\.js$/.test(f.url) || /\/executors\/local\.js$/.test(f.url)],
  ['scheduler', (f) => /\/scheduler\.js$/.test(f.url)],
  ['start-up: loading code, parsing, expanding', (f) => /modules\/(esm|cjs)|\/(expand|spec|compiled|registry|engine)\.js$/.test(f.url) || /^(compileSourceTextModule|evaluate)$/.test(f.functionName)],
];

export interface ProfileSummary {
  process: string;
  totalMs: number;
  byCategory: Map<string, number>;
}

/** Charge every sample of one profile to a category. */
export function summarise(profile: CpuProfile, process: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const hit = memo.get(id);
    if (hit) return hit;
    let cat = 'other';
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const rule = RULES.find(([, t]) => t(f));
      if (rule) {
        cat = rule[0];
        break;
      }
    }
    memo.set(id, cat);
    return cat;
  };
  const byCategory = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const c = categoryOf(id);
    byCategory.set(c, (byCategory.get(c) ?? 0) + ms);
  });
  return { process, totalMs: total, byCategory };
}

/** One summary per process kind: the engine runs up to MAX_SPAWNERS spawners, summed here. */
function mergeSummaries(all: ProfileSummary[]): ProfileSummary[] {
  const by = new Map<string, ProfileSummary>();
  for (const s of all) {
    const m = by.get(s.process);
    if (!m) {
      by.set(s.process, { process: s.process, totalMs: s.totalMs, byCategory: new Map(s.byCategory) });
      continue;
    }
    m.totalMs += s.totalMs;
    for (const [c, ms] of s.byCategory) m.byCategory.set(c, (m.byCategory.get(c) ?? 0) + ms);
  }
  return [...by.values()];
}

/** A full run of the paper-sized DAG (×scale) under --cpu-prof: one summary per process. */
export function profileFullRun(scale = 1): { stages: number; wallMs: number; summaries: ProfileSummary[] } {
  const shape = paperShape(scale);
  const dir = projectDir(shape);
  const profDir = mkdtempSync(join(tmpdir(), 'ltd-prof-'));
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [`--cpu-prof`, `--cpu-prof-dir=${profDir}`, BIN, 'run', '--jobs', '2'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`pipeline run failed: ${r.stderr}${r.stdout}`);
    // The engine's profile is the first written (it starts first); the spawner's the other.
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
    const summaries = files.map((f, i) => summarise(JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile, i === 0 ? 'engine' : 'spawner'));
    return { stages: shape.fetch + shape.config + shape.score + shape.aggregate + 1, wallMs, summaries: mergeSummaries(summaries) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(profDir, { recursive: true, force: true });
  }
}

/** What each process of a full run used, from its own process.resourceUsage() at exit (a preload
 * script): CPU time, and voluntary context switches — each a wait for another thread or process
 * (the thread pool, the spawner), the hand-offs that cost a time slice on a loaded machine. */
export interface ResourceUse {
  process: 'engine' | 'spawner';
  cpuMs: number;
  voluntarySwitches: number;
}

const PRELOAD = `const { appendFileSync } = require('node:fs');
process.on('exit', () => {
  const r = process.resourceUsage();
  const who = (process.argv[1] || '').includes('spawner-main') ? 'spawner' : 'engine';
  appendFileSync(process.env.BENCH_USAGE_OUT, JSON.stringify({ process: who, cpuMs: (r.userCPUTime + r.systemCPUTime) / 1000, voluntarySwitches: r.voluntaryContextSwitches }) + '\\n');
});
`;

export function resourceUse(bin: string, scale = 1): { stages: number; wallMs: number; use: ResourceUse[] } {
  const shape = paperShape(scale);
  const dir = projectDir(shape);
  const tmp = mkdtempSync(join(tmpdir(), 'ltd-usage-'));
  try {
    const preload = join(tmp, 'usage.cjs');
    writeFileSync(preload, PRELOAD);
    const out = join(tmp, 'usage.jsonl');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, 'run', '--jobs', '2'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true', NODE_OPTIONS: `--require ${preload}`, BENCH_USAGE_OUT: out } });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`pipeline run failed: ${r.stderr}${r.stdout}`);
    // Summed per kind of process: the engine runs up to MAX_SPAWNERS spawners.
    const use: ResourceUse[] = [];
    for (const u of readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResourceUse)) {
      const m = use.find((x) => x.process === u.process);
      if (!m) use.push(u);
      else {
        m.cpuMs += u.cpuMs;
        m.voluntarySwitches += u.voluntarySwitches;
      }
    }
    return { stages: stageCount(shape), wallMs, use };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function useTable(rows: { build: string; r: ReturnType<typeof resourceUse> }[]): string {
  const lines = ['| build | process | CPU ms per stage | voluntary context switches per stage |', '|---|---|---:|---:|'];
  for (const { build, r } of rows) {
    for (const u of r.use) lines.push(`| ${build} | ${u.process} | ${(u.cpuMs / r.stages).toFixed(2)} | ${(u.voluntarySwitches / r.stages).toFixed(1)} |`);
  }
  return lines.join('\n');
}

export function profileTable(p: ReturnType<typeof profileFullRun>): string {
  const lines = [`${p.stages} stages, wall ${p.wallMs.toFixed(0)} ms under the profiler (which slows it down)`, '', '| process | job | CPU ms | ms per stage |', '|---|---|---:|---:|'];
  for (const s of p.summaries) {
    const rows = [...s.byCategory].sort((a, b) => b[1] - a[1]);
    for (const [c, ms] of rows) lines.push(`| ${s.process} | ${c} | ${ms.toFixed(0)} | ${(ms / p.stages).toFixed(2)} |`);
    const busy = s.totalMs - (s.byCategory.get('idle') ?? 0);
    lines.push(`| ${s.process} | **busy (all but idle)** | ${busy.toFixed(0)} | ${(busy / p.stages).toFixed(2)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(profileTable(profileFullRun(Number(process.env['BENCH_SCALE'] ?? 1))));
}
