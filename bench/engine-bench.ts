// Engine benchmark: a synthetic DAG shaped like the paper's (22 fetch, 109 config, 109 score,
// 6 aggregate, 1 plot stages with trivial bodies) and the same at 10× scale. Measures, side by side
// in one run: time to plan, a full run against simply spawning one process per stage, a no-op
// re-run (the whole CLI process, wall clock), and a re-run after one input changes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'pipeline.js');

/** Config and score stages are a fetch × k matrix (one combination excluded to hit the exact
 * count); every aggregate reads every score, as the paper's domain aggregates read all models. */
export function syntheticPipeline(s: Shape): string {
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const k = Math.ceil(s.config / s.fetch);
  const excluded = range(s.fetch * k - s.config).map((i) => `{ f: ${s.fetch - 1 - i}, k: ${k - 1} }`);
  const matrix = `{ f: [${range(s.fetch).join(', ')}], k: [${range(k).join(', ')}]${excluded.length ? `, exclude: [${excluded.join(', ')}]` : ''} }`;
  return `pools: { cpu: 2 }
stages:
  fetch:
    matrix: { f: [${range(s.fetch).join(', ')}] }
    run: cat in/\${f}.txt > out/fetch-\${f}.txt
    deps: ["in/\${f}.txt"]
    outs: ["out/fetch-\${f}.txt"]
  config:
    matrix: ${matrix}
    run: echo c\${f}-\${k} > out/config-\${f}-\${k}.txt
    needs: [fetch]
    outs: ["out/config-\${f}-\${k}.txt"]
  score:
    matrix: ${matrix}
    run: cat out/config-\${f}-\${k}.txt out/fetch-\${f}.txt > out/score-\${f}-\${k}.txt
    needs: [config, fetch]
    outs: ["out/score-\${f}-\${k}.txt"]
  aggregate:
    matrix: { a: [${range(s.aggregate).join(', ')}] }
    run: echo a\${a} > out/aggregate-\${a}.txt
    needs: [score]
    outs: ["out/aggregate-\${a}.txt"]
  plot:
    run: echo plot > out/plot.txt
    needs: [aggregate]
    outs: [out/plot.txt]
`;
}

export interface Shape {
  fetch: number;
  config: number;
  score: number;
  aggregate: number;
}

/** The paper's DAG (22 fetch, 109 config, 109 score, 6 aggregate, 1 plot stages) × scale. */
export function paperShape(scale: number): Shape {
  return { fetch: 22 * scale, config: 109 * scale, score: 109 * scale, aggregate: 6 * scale };
}

export function stageCount(s: Shape): number {
  return s.fetch + s.config + s.score + s.aggregate + 1;
}

/** A fresh project folder with the DAG's pipeline.yaml, its dodo.py and its inputs. */
export function projectDir(s: Shape): string {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-bench-'));
  mkdirSync(join(dir, 'in'));
  mkdirSync(join(dir, 'out'));
  for (let f = 0; f < s.fetch; f++) writeFileSync(join(dir, 'in', `${f}.txt`), `input ${f}\n`);
  writeFileSync(join(dir, 'pipeline.yaml'), syntheticPipeline(s));
  writeFileSync(join(dir, 'dodo.py'), dodo(s));
  writeFileSync(join(dir, 'baseline.mjs'), baselineScript(s));
  return dir;
}

/** One stage of the DAG as plain data: its command, inputs and outputs. In dependency order, kind
 * by kind (fetch, config, score, aggregate, plot): what dodo.py and the bare-spawning baseline run. */
export interface StageCommand {
  name: string;
  cmd: string;
  deps: string[];
  targets: string[];
}

export function stageCommands(s: Shape): StageCommand[][] {
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const k = Math.ceil(s.config / s.fetch);
  const pairs = range(s.fetch).flatMap((f) => range(k).map((j) => [f, j] as const)).slice(0, s.config);
  const scores = pairs.map(([f, j]) => `out/score-${f}-${j}.txt`);
  return [
    range(s.fetch).map((f) => ({ name: `fetch-${f}`, cmd: `cat in/${f}.txt > out/fetch-${f}.txt`, deps: [`in/${f}.txt`], targets: [`out/fetch-${f}.txt`] })),
    pairs.map(([f, j]) => ({ name: `config-${f}-${j}`, cmd: `echo c${f}-${j} > out/config-${f}-${j}.txt`, deps: [`out/fetch-${f}.txt`], targets: [`out/config-${f}-${j}.txt`] })),
    pairs.map(([f, j]) => ({
      name: `score-${f}-${j}`,
      cmd: `cat out/config-${f}-${j}.txt out/fetch-${f}.txt > out/score-${f}-${j}.txt`,
      deps: [`out/config-${f}-${j}.txt`, `out/fetch-${f}.txt`],
      targets: [`out/score-${f}-${j}.txt`],
    })),
    range(s.aggregate).map((a) => ({ name: `aggregate-${a}`, cmd: `echo a${a} > out/aggregate-${a}.txt`, deps: scores, targets: [`out/aggregate-${a}.txt`] })),
    [{ name: 'plot', cmd: 'echo plot > out/plot.txt', deps: range(s.aggregate).map((a) => `out/aggregate-${a}.txt`), targets: ['out/plot.txt'] }],
  ];
}

/** The same DAG as a doit file (https://pydoit.org): each stage a task with its command, its
 * file_dep (inputs and upstream outputs) and its targets — doit's own up-to-date checks. */
export function dodo(s: Shape): string {
  const t = (c: StageCommand): string =>
    `    yield {'name': ${JSON.stringify(c.name)}, 'actions': [${JSON.stringify(c.cmd)}], 'file_dep': ${JSON.stringify(c.deps)}, 'targets': ${JSON.stringify(c.targets)}}`;
  const lines = ['DOIT_CONFIG = {"verbosity": 0}', '', 'def task_dag():'];
  for (const c of stageCommands(s).flat()) lines.push(t(c));
  return lines.join('\n') + '\n';
}

/** The baseline as a script of its own: every stage's own command with `bash -c`, two at a time,
 * one kind after another (a kind's stages need only earlier kinds' outputs), nothing else. Run as
 * a whole Node process, timed as the CLI is, so both include a process start. */
export function baselineScript(s: Shape): string {
  return `import { spawn } from 'node:child_process';
const kinds = ${JSON.stringify(stageCommands(s).map((kind) => kind.map((c) => c.cmd)))};
for (const cmds of kinds) {
  let next = 0;
  const worker = async () => {
    while (next < cmds.length) {
      const cmd = cmds[next++];
      await new Promise((res, rej) => spawn('bash', ['-c', cmd], { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? res() : rej(new Error(cmd + ': exit ' + c)))));
    }
  };
  await Promise.all([worker(), worker()]);
}
`;
}

function hasDoit(): boolean {
  return spawnSync('doit', ['--version'], { encoding: 'utf8' }).status === 0;
}

function timed(cmd: string, args: string[], cwd: string, what: string): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${what} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return { ms, stdout: r.stdout };
}

/** `pipeline` of this checkout, or of another one (BENCH_COMPARE: before/after in the same run). */
function cliMs(bin: string, dir: string, args: string[]): number {
  return timed(process.execPath, [bin, ...args], dir, 'pipeline').ms;
}

function doitMs(dir: string, args: string[]): number {
  return timed('doit', args, dir, 'doit').ms;
}

/** The baseline: the stages' own commands, bare (baselineScript), as a whole process. */
function spawnBaseline(dir: string): number {
  return timed(process.execPath, [join(dir, 'baseline.mjs')], dir, 'baseline').ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** One tool's figures over the rounds: every round's time, and the median. */
export interface Timings {
  runs: number[];
  ms: number;
}

function timings(runs: number[]): Timings {
  return { runs, ms: median(runs) };
}

export interface EngineBenchRow {
  shape: string;
  stages: number;
  planMs: number;
  /** Full runs, one per round; each round runs the baseline, the engine (and the other build) and doit back to back. */
  baseline: Timings;
  full: Timings;
  /** The median over rounds of each round's full run / baseline: the headline ratio. */
  overheadRatio: number;
  noop: Timings;
  oneChangeMs: number;
  oneChangeRan: number;
  /** doit on the same DAG, in the same rounds (undefined when doit is not installed). */
  doitFull?: Timings;
  doitNoop?: Timings;
  /** BENCH_COMPARE's build in the same rounds (before/after a change). */
  otherFull?: Timings;
  otherNoop?: Timings;
  otherRatio?: number;
  loadBefore: number;
  loadAfter: number;
}

export interface BenchOptions {
  rounds: number;
  noops: number;
  /** Another checkout's bin/pipeline.js, run beside this one. */
  compare?: string;
}

export async function benchShape(name: string, s: Shape, o: BenchOptions): Promise<EngineBenchRow> {
  const stages = stageCount(s);
  const loadBefore = loadavg()[0]!;
  const withDoit = hasDoit();
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = projectDir(s);
    dirs.push(d);
    return d;
  };
  try {
    // Plan: parse, validate, expand and build the graph (in process, median of a few).
    const plans: number[] = [];
    const planDir = fresh();
    for (let i = 0; i < o.noops; i++) {
      const t0 = process.hrtime.bigint();
      // A fresh store each time: a cold plan, without the compiled-spec cache.
      const store = mkdtempSync(join(tmpdir(), 'ltd-bench-store-'));
      await Engine.open({ file: join(planDir, 'pipeline.yaml'), storeDir: store });
      rmSync(store, { recursive: true, force: true });
      plans.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    // Rounds: each tool once, back to back, each in a fresh project; a ratio is taken within a round,
    // so load that changes between rounds moves both of its terms.
    const base: number[] = [], full: number[] = [], other: number[] = [], doit: number[] = [];
    const ratios: number[] = [], otherRatios: number[] = [];
    let engineDir = '', otherDir = '', doitDir = '';
    for (let r = 0; r < o.rounds; r++) {
      const b = spawnBaseline(fresh());
      base.push(b);
      engineDir = fresh();
      full.push(cliMs(BIN, engineDir, ['run', '--jobs', '2']));
      ratios.push(full.at(-1)! / b);
      if (o.compare) {
        otherDir = fresh();
        other.push(cliMs(o.compare, otherDir, ['run', '--jobs', '2']));
        otherRatios.push(other.at(-1)! / b);
      }
      if (withDoit) {
        doitDir = fresh();
        // 2 jobs as the engine (threads: the actions are shell commands).
        doit.push(doitMs(doitDir, ['-n', '2', '-P', 'thread']));
      }
    }
    // No-op re-runs, alternating between the tools.
    const noop: number[] = [], otherNoop: number[] = [], doitNoop: number[] = [];
    for (let i = 0; i < o.noops; i++) {
      noop.push(cliMs(BIN, engineDir, ['run']));
      if (o.compare) otherNoop.push(cliMs(o.compare, otherDir, ['run']));
      if (withDoit) doitNoop.push(doitMs(doitDir, []));
    }
    writeFileSync(join(engineDir, 'in', '0.txt'), 'changed\n');
    const change = timed(process.execPath, [BIN, 'run', '--json'], engineDir, 'pipeline');
    const oneChangeRan = change.stdout.split('\n').filter((l) => l.includes('"stage-done"')).length;
    const row: EngineBenchRow = {
      shape: name,
      stages,
      planMs: median(plans),
      baseline: timings(base),
      full: timings(full),
      overheadRatio: median(ratios),
      noop: timings(noop),
      oneChangeMs: change.ms,
      oneChangeRan,
      loadBefore,
      loadAfter: loadavg()[0]!,
    };
    if (withDoit) {
      row.doitFull = timings(doit);
      row.doitNoop = timings(doitNoop);
    }
    if (o.compare) {
      row.otherFull = timings(other);
      row.otherNoop = timings(otherNoop);
      row.otherRatio = median(otherRatios);
    }
    return row;
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** `scales`: multiples of the paper's DAG to measure (default 1 and 10; BENCH_SCALES=1 for a quick run).
 * BENCH_ROUNDS: rounds at the paper's size (default 3; one at 10×). */
export async function engineBench(scales = (process.env['BENCH_SCALES'] ?? '1,10').split(',').map(Number)): Promise<EngineBenchRow[]> {
  const rows: EngineBenchRow[] = [];
  const compare = process.env['BENCH_COMPARE'];
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  for (const x of scales) {
    const o: BenchOptions = x >= 10 ? { rounds: Math.max(1, Math.round(rounds / 3)), noops: 3 } : { rounds, noops: 5 };
    if (compare) o.compare = resolve(compare);
    rows.push(await benchShape(x === 1 ? 'paper-sized' : `${x}× paper`, paperShape(x), o));
  }
  return rows;
}

export function engineTable(rows: EngineBenchRow[]): string {
  const f = (n: number): string => n.toFixed(0);
  const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}×` : '–');
  const opt = (t: Timings | undefined): string => (t === undefined ? '–' : f(t.ms));
  const other = rows.some((r) => r.otherFull);
  const full = [
    `| DAG | stages | rounds | spawn-only baseline (ms) | **engine (ms)** | **engine / baseline** | engine − baseline per stage (ms) |${other ? ' other build (ms) | other build / baseline |' : ''} doit (ms) | doit / baseline | engine / doit | load average (1 min, before → after) |`,
    `|---|---:|---:|---:|---:|---:|---:|${other ? '---:|---:|' : ''}---:|---:|---:|---|`,
  ];
  for (const r of rows) {
    full.push(
      `| ${r.shape} | ${r.stages} | ${r.full.runs.length} | ${f(r.baseline.ms)} | ${f(r.full.ms)} | **${r.overheadRatio.toFixed(2)}×** | ${((r.full.ms - r.baseline.ms) / r.stages).toFixed(1)} |` +
        (other ? ` ${opt(r.otherFull)} | ${r.otherRatio ? `${r.otherRatio.toFixed(2)}×` : '–'} |` : '') +
        ` ${opt(r.doitFull)} | ${ratio(r.doitFull?.ms ?? 0, r.baseline.ms)} | ${ratio(r.full.ms, r.doitFull?.ms)} | ${r.loadBefore.toFixed(1)} → ${r.loadAfter.toFixed(1)} |`,
    );
  }
  const noop = [
    `| DAG | plan, cold (ms) | **no-op re-run, whole CLI (ms)** |${other ? ' other build no-op (ms) |' : ''} doit no-op (ms) | **no-op / doit** | re-run after one input changed (ms, stages run) |`,
    `|---|---:|---:|${other ? '---:|' : ''}---:|---:|---:|`,
  ];
  for (const r of rows) {
    noop.push(`| ${r.shape} | ${f(r.planMs)} | ${f(r.noop.ms)} |${other ? ` ${opt(r.otherNoop)} |` : ''} ${opt(r.doitNoop)} | ${ratio(r.noop.ms, r.doitNoop?.ms)} | ${f(r.oneChangeMs)} (${r.oneChangeRan}) |`);
  }
  const runs = rows.map((r) => `- ${r.shape}: baseline ${r.baseline.runs.map(f).join(', ')}; engine ${r.full.runs.map(f).join(', ')}${r.otherFull ? `; other build ${r.otherFull.runs.map(f).join(', ')}` : ''}${r.doitFull ? `; doit ${r.doitFull.runs.map(f).join(', ')}` : ''} ms`);
  return ['**Full run** (every stage executed, 2 jobs; medians over the rounds, ratio = median of the per-round ratios):', '', ...full, '', '**No-op and re-run** (medians):', '', ...noop, '', 'Every round (ms):', '', ...runs].join('\n');
}

export interface EngineDocParts {
  table: string;
  /** bench/engine-profile.ts: CPU per stage by job, engine and spawner. */
  profile?: string;
  /** bench/engine-profile.ts: CPU and voluntary context switches per stage, this build (and BENCH_COMPARE's). */
  usage?: string;
  machine: string;
  /** What BENCH_COMPARE's build is, when one ran beside this one. */
  compared?: string;
}

/** docs/bench.md: how the figures were made, the tables, and what they say. */
export function engineDoc(p: EngineDocParts, date = new Date().toISOString().slice(0, 10)): string {
  return `# Engine benchmark

Generated by \`npm run bench -- engine\` on ${date}: ${p.machine}. \`BENCH_SCALES=1\` measures the
paper-sized DAG alone; \`BENCH_ROUNDS\` sets the rounds at that size (one at 10×); \`BENCH_COMPARE=<other
checkout>/bin/pipeline.js\` runs another build in the same rounds (before/after a change).
\`npm run bench -- profile\` prints the per-stage profile below on its own.

A synthetic DAG shaped like the paper's — 22 fetch, 109 config, 109 score, 6 aggregate and 1 plot
stages, each a \`run:\` stage with a trivial body (\`cat\`/\`echo\` into a file) — and the same at 10×.
The same DAG is also written as a \`dodo.py\` for [doit](https://pydoit.org) (Debian
\`python3-doit\`; each stage a task with its \`file_dep\` and \`targets\`) and run in the same
rounds, so the ratios compare tools under the same load. The machine is shared: a round runs the
bare-spawning baseline, the engine${p.compared ? ', the other build' : ''} and doit back to back, each in a fresh project, and a ratio is
taken within a round, where load moves both of its terms alike.

- **spawn-only baseline**: every stage's own command (the same \`cat\`/\`echo\` lines the pipeline
  and dodo.py run) with \`bash -c\`, 2 at a time, one kind after another, from a Node script run
  as a whole process and timed as the CLI is (process start included; bench/engine-bench.ts
  \`baselineScript\`). Until 2026-12-07 the baseline spawned \`echo\` (a bash builtin) for every
  stage from inside the bench's own process, while 131 of the 247 stages run \`cat\` (one more
  exec): that baseline cost about 30 % less than the stages' own commands, so every ratio against
  it was too high (1.9–2.0× on a quiet machine for the same builds that measure ~1.5× here).
- **full run**: every stage executed, 2 jobs (\`pipeline run --jobs 2\`; \`doit -n 2 -P thread\`).
- **no-op re-run**: \`pipeline run\` when everything is fresh, the whole CLI process from spawn to
  exit (median of several): Node start-up, loading the compiled spec, computing every key and
  checking every run record and materialised file. doit's figure is \`doit\` with everything up to
  date, also a whole process.
- **plan**: parse, validate, expand and build the graph, in process, cold (median of several).
- **re-run after one input changed**: one fetch input edited; its 5 config and 5 score stages (10
  at 10×), every aggregate (each reads all scores) and the plot re-run.
${p.compared ? `- **other build**: ${p.compared}.\n` : ''}
${p.table}
${p.usage ? `\n## What the engine's process waits for\n\nOne full run of the paper-sized DAG per build, each process's own \`process.resourceUsage()\` at exit.\nA voluntary context switch is a wait for another thread or process (the thread pool, the spawner);\non a loaded machine each can cost a scheduler time slice, so their count per stage is the part of\nthe overhead that load multiplies.\n\n${p.usage}\n` : ''}${p.profile ? `\n## Where a full run's CPU goes\n\n\`node --cpu-prof\` of the engine and of its command spawner over one full run of the paper-sized\nDAG (bench/engine-profile.ts), each sample charged to the innermost engine function that names a\njob; the profiler itself slows the run down, so the shares matter more than the milliseconds.\n\n${p.profile}\n` : ''}
## Reading the numbers

- **What a stage costs the engine.** When a command exits, its spawner sends the exit message;
  the engine gives the stage's room (the jobs count, its pool grant) back at once, so the next
  queued stage takes its lock-free path to its command (input checks, declared paths, one message
  to a spawner) before this stage's bookkeeping runs: stat and hash the output, store it as an
  object (a staged file renamed into objects/), write the run record with its fingerprint (the
  commit marker) and the stage pointer (each a staged file renamed into place), check the
  materialised copy, release the stage lock. The lock is held and the record written after every
  output it names exactly as before; only the next command no longer waits for them.
- **Spawners.** A spawn blocks the process that makes it until the child has exec'd (libuv waits
  for it: 5 to 25 ms on a loaded 2-core machine). The engine keeps a few small spawner processes
  (one per running command, at most 4; \`PIPELINE_SPAWNERS=N\` sets the most, e.g. 1 to compare), so two commands start at the same time instead of one after
  the other; the baseline, one Node process spawning everything, waits for each. A command's
  environment travels as the difference from the engine's (a few variables, not kilobytes).
- **Files per stage.** Three files are created per stage (the object, the run record, the stage
  pointer; each staged and renamed), down from five: the fingerprint is inside the run record
  (a store from before, with \`<key>.fingerprint.json\` beside it, still reads), and the stage lock
  is one \`link\` of a temporary its owner wrote once (the lock's content is only its owner, the
  same for every stage), removed by one unlink. File creation is what costs on a journaling file
  system (0.1 to 0.5 ms each here); no fsync is issued: a killed process loses nothing the kernel
  already has, and a record is renamed into place only after every output it names (DESIGN.md).
  Appending pointers to a per-run journal would save one more, but every reader (why-stale, gc,
  verify, another host on a shared file system) would then scan journals.
- **What was removed before (issue 20, item 8).** Asynchronous steps on that path (removing an
  empty staging folder, hashing a small output through a stream) are synchronous calls; an input
  object re-hashed once is not re-hashed while its size, mtime, ctime and inode are unchanged;
  a usually-absent file is removed with one unlink.
- **Reporter.** Lines of one turn of the event loop go out in one write (each write to a pipe wakes
  its reader).
- **On a loaded machine** a CPU profile charges preemption to whatever is on the stack (a write
  that wakes another process shows up as time in that write): compare the shares with the load
  average above, and read CPU per stage (\`process.resourceUsage()\`) as the firmer figure.
  doit is faster than even the baseline because it runs commands with \`/bin/sh\` (dash) from
  Python.
- **No-op.** Node start-up and loading the CLI are a fixed part; the rest reads one run record per
  stage and stats each materialised file (through the stat cache). A pipeline file that validated
  before is not parsed again (\`cache/compiled/\`), and a kind's code digest is kept per file by
  size, mtime and inode (\`cache/compiled/code-files.json\`).
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await engineBench();
  console.log(engineTable(rows));
}
