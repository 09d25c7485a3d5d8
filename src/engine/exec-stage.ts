// Execute one invocation wherever it runs (the engine process, a model worker, a Slurm job):
// run the kind into a staging folder, store every declared output, then write the run record —
// last, as the commit marker. A stage killed half-way leaves only staging, which is discarded.
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import type { Invocation } from './executor.js';
import { StageError, toFailure } from './failure.js';
import type { PlanContext, StageContext, StageProgress } from './kind.js';
import { KindRegistry } from './registry.js';
import type { Fingerprint, RunRecord, StoredOutput } from './store/run-record.js';
import { Store } from './store/store.js';
import { userPaths } from './store/user-paths.js';

export interface ExecEnv {
  registry: KindRegistry;
  processCache: Map<string, unknown>;
  signal: AbortSignal;
  onLog(line: string): void;
  /** Structured progress of the stage (ctx.progress), to the process that reports it. */
  onProgress?(p: StageProgress): void;
  /** The kind's work is done (its command has exited); what remains is storing its outputs and
   * writing the record. The engine's executor gives the stage's room to the next stage here. */
  onExecuted?(): void;
  executor: string;
  gpus: string[];
  cpus: number;
}

export function planContext(inv: Pick<Invocation, 'instance' | 'spec'>, store: Store): PlanContext {
  const { instance, spec } = inv;
  const m = instance.vars['model'];
  const t = instance.vars['task'];
  const ctx: PlanContext = { instance, spec, digest: (p) => store.digestPath(p) };
  const model = typeof m === 'string' ? spec.models.find((x) => x.name === m) : undefined;
  const task = typeof t === 'string' ? spec.tasks.find((x) => x.name === t) : undefined;
  if (model) ctx.model = model;
  if (task) ctx.task = task;
  return ctx;
}

/** Test hook for crash-safety tests: PIPELINE_FAULT=<point>:<stage id> kills this process there. */
function fault(point: string, id: string): void {
  const f = process.env['PIPELINE_FAULT'];
  if (f && f === `${point}:${id}`) process.kill(process.pid, 'SIGKILL');
}

export async function executeInvocation(inv: Invocation, env: ExecEnv): Promise<RunRecord> {
  const store = new Store(inv.storeDir);
  if (inv.plugins.length) await env.registry.addPlugins(inv.plugins.filter((p) => !env.registry.names().some((n) => env.registry.modulePath(n) === p)));
  const kind = await env.registry.get(inv.instance.kind);
  const tmp = await store.session.tmpPath(inv.key.slice(0, 12));
  // The staging folder is the output folder; it and the scratch space are made only for a kind
  // that asks (every folder created costs a metadata write, and a run stage needs neither).
  const outDir = tmp;
  const scratch = `${tmp}.scratch`;
  let outMade = false;
  let scratchMade = false;
  const logPath = store.logPath(inv.key);
  // The log is kept in memory and written once: most stages log a few lines.
  const lines: string[] = [];
  const log = { write: (l: string) => void lines.push(l), closed: false };
  const flushLog = async (): Promise<void> => {
    if (log.closed) return;
    log.closed = true;
    if (lines.length) await store.runs.writeLog(inv.key, lines.join(''));
  };
  const info: Record<string, unknown> = {};
  const warnings: string[] = [];
  const started = new Date();
  const write = (line: string): void => {
    log.write(line + '\n');
    env.onLog(line);
  };
  const pctx = planContext(inv, store);
  const provided = new Map<string, string>();
  const ctx: StageContext = {
    ...pctx,
    inputs: inv.inputs,
    planned: inv.planned,
    get outDir(): string {
      if (!outMade) mkdirSync(outDir, { recursive: true });
      outMade = true;
      return outDir;
    },
    provide: (name, path) => void provided.set(name, path),
    get tmpDir(): string {
      mkdirSync(scratch, { recursive: true });
      scratchMade = true;
      return scratch;
    },
    gpus: env.gpus,
    cpus: env.cpus,
    log: write,
    progress: (p) => env.onProgress?.({ done: p.done, total: p.total, unit: p.unit }),
    warn: (m) => {
      warnings.push(m);
      write(`warning: ${m}`);
    },
    record: (k, v) => {
      info[k] = v;
    },
    signal: env.signal,
    forced: inv.forced === true,
    processCache: env.processCache,
    cacheDir: (name) => store.caches.kindCacheDir(kind.name, name),
  };
  try {
    try {
      fault('before-execute', inv.instance.id);
      await store.checkInputs(inv.inputs); // damaged input bytes fail here, not in a wrong result
      await kind.execute(ctx);
      fault('after-execute', inv.instance.id);
      if (env.onExecuted && !env.signal.aborted) {
        env.onExecuted();
        // The next stage gets to its command first (its way there takes no I/O wait); this stage's
        // bookkeeping then runs while that command starts. Nothing of this stage's commit changes:
        // its lock is held and its record written after its outputs, as before.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (e: unknown) {
      if (env.signal.aborted) throw new StageError({ reason: 'cancelled', message: 'interrupted' });
      const msg = userPaths(e instanceof Error ? e.message : String(e), inv.inputs); // the user's file, not the store object
      write(`error: ${msg}`);
      throw new StageError({ ...toFailure(e, 'execute'), message: msg });
    }
    if (env.signal.aborted) throw new StageError({ reason: 'cancelled', message: 'interrupted' });
    const outputs: Record<string, StoredOutput> = {};
    for (const decl of kind.outputs(pctx)) {
      const p = provided.get(decl.name) ?? join(outDir, decl.name);
      let st;
      try {
        st = statSync(p);
      } catch {
        throw new StageError({ reason: 'execute', cause: 'missing-output', message: `stage ${inv.instance.id} (${kind.name}) did not write its output "${decl.name}"` });
      }
      if (decl.type === 'dir' ? !st.isDirectory() : !st.isFile()) {
        throw new StageError({ reason: 'execute', cause: 'missing-output', message: `stage ${inv.instance.id}: output "${decl.name}" should be a ${decl.type === 'dir' ? 'folder' : 'file'}` });
      }
      // The stage's own staging is given up to the store (moved or linked, not copied); a path a
      // kind provides (an input passed through, a user's file) is copied.
      const adopt = !provided.has(decl.name);
      const size = decl.type === 'dir' ? await treeSize(p) : st.size;
      const digest = decl.type === 'dir' ? await store.putTree(p, { adopt }) : await store.putFile(p, { adopt });
      const out: StoredOutput = { digest, type: decl.type, size };
      if (decl.materialize) out.materialize = decl.materialize;
      outputs[decl.name] = out;
      fault('mid-store', inv.instance.id);
    }
    fault('after-store', inv.instance.id);
    if (warnings.length) info['warnings'] = warnings;
    const ended = new Date();
    const record: RunRecord & { fingerprint: Fingerprint } = {
      key: inv.key,
      stageId: inv.instance.id,
      kind: kind.name,
      fingerprint: inv.fingerprint as unknown as Fingerprint,
      outputs,
      info,
      startedAt: started.toISOString(),
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      executor: env.executor,
      host: HOST,
      pid: process.pid,
      log: relative(store.root, logPath),
    };
    await flushLog();
    await store.writeRun(record);
    fault('after-record', inv.instance.id);
    return record;
  } catch (e: unknown) {
    await flushLog().catch(() => undefined);
    if (!env.signal.aborted) await store.writeFailure(inv.instance.id, inv.key, toFailure(e, 'execute')).catch(() => undefined);
    throw e;
  } finally {
    await Promise.all([outMade ? removeStaging(tmp) : undefined, scratchMade ? removeStaging(scratch) : undefined]);
    await store.stat.flush().catch(() => undefined);
  }
}

const HOST = hostname();

/** An empty staging folder goes with one rmdir; one with files is removed off the event loop, which
 * a run of many small stages would otherwise wait on. Each asynchronous step is a hand-off to the
 * thread pool and back, and on a loaded machine every hand-off can cost a scheduler time slice:
 * the common case takes none. */
async function removeStaging(dir: string): Promise<void> {
  try {
    rmdirSync(dir);
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await fs.stat(join(e.parentPath, e.name))).size;
  }
  return total;
}
