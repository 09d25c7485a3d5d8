// The engine's side of the spawners (spawner-main.ts): a few per process that runs `run:` stages,
// each started on first use and ended with that process.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

// A `new URL` reference: the run kind's key follows it into spawner-main (engine/code-digest.ts).
const MAIN = fileURLToPath(new URL('./spawner-main.js', import.meta.url));

export interface CommandResult {
  code: number | null;
  signal: string | null;
  /** The last lines of standard error, for the failure message. */
  stderr: string;
}

export class Spawner {
  private child: ChildProcess;
  private next = 1;
  private waiting = new Map<number, { resolve(r: CommandResult): void; onLine(l: string): void }>();
  /** False once its process has exited: the pool starts another. */
  alive = true;
  /** The environment the spawner inherited: a command's is sent as the difference from it. */
  private readonly base: NodeJS.ProcessEnv = { ...process.env };

  constructor() {
    // The spawner's environment is this snapshot, which envDiff compares against.
    this.child = fork(MAIN, [], { env: this.base, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { type: string; id: number; line?: string } & CommandResult) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      if (m.type === 'line') w.onLine(m.line ?? '');
      else if (m.type === 'exit') {
        this.waiting.delete(m.id);
        w.resolve({ code: m.code, signal: m.signal, stderr: m.stderr });
      }
    });
    this.child.on('exit', (code) => {
      this.alive = false;
      for (const w of this.waiting.values()) w.resolve({ code: null, signal: 'spawner-exit', stderr: `the command runner exited (code ${code})` });
      this.waiting.clear();
    });
    // The engine must be free to exit while the spawner idles; the spawner ends on disconnect.
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Commands started and not yet ended. */
  get inFlight(): number {
    return this.waiting.size;
  }

  run(cmd: string, cwd: string, env: NodeJS.ProcessEnv, signal: AbortSignal, onLine: (l: string) => void): Promise<CommandResult> {
    const id = this.next++;
    return new Promise<CommandResult>((resolve) => {
      // While a command runs, the channel keeps the engine alive to hear its end.
      (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
      const done = (r: CommandResult): void => {
        signal.removeEventListener('abort', onAbort);
        if (this.waiting.size === 0) (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
        resolve(r);
      };
      const onAbort = (): void => void this.child.send({ type: 'kill', id });
      this.waiting.set(id, { resolve: done, onLine });
      signal.addEventListener('abort', onAbort, { once: true });
      this.child.send({ type: 'start', id, cmd, cwd, ...envDiff(this.base, env) });
      // Aborted before it started (a time limit that ran out while the spawner started).
      if (signal.aborted) onAbort();
    });
  }
}

/** Most spawners per process (env PIPELINE_SPAWNERS, for benchmarks). A spawn blocks its spawner
 * until the child has exec'd (libuv waits for it: 5 to 25 ms on a loaded machine), so one spawner
 * serialises the starts of every command running at once; one per running command overlaps them.
 * Each costs a Node process (~40 MB) and its own start-up and warm-up. */
export const MAX_SPAWNERS = Number(process.env['PIPELINE_SPAWNERS']) >= 1 ? Math.floor(Number(process.env['PIPELINE_SPAWNERS'])) : Math.max(1, Math.min(4, availableParallelism()));

/** The spawners of one process: a command goes to an idle spawner, else to a new one while there
 * are fewer than `max`, else to the one with the fewest commands running. */
export class SpawnerPool {
  private readonly spawners: Spawner[] = [];

  constructor(
    private readonly max = MAX_SPAWNERS,
    private readonly start: () => Spawner = () => new Spawner(),
  ) {}

  /** The spawner for the next command. */
  pick(): Spawner {
    for (let i = this.spawners.length - 1; i >= 0; i--) if (!this.spawners[i]!.alive) this.spawners.splice(i, 1);
    let best: Spawner | undefined;
    for (const s of this.spawners) if (!best || s.inFlight < best.inFlight) best = s;
    if (best && (best.inFlight === 0 || this.spawners.length >= this.max)) return best;
    const s = this.start();
    this.spawners.push(s);
    return s;
  }

  /** Spawners started and alive (tests). */
  get size(): number {
    return this.spawners.filter((s) => s.alive).length;
  }

  run(cmd: string, cwd: string, env: NodeJS.ProcessEnv, signal: AbortSignal, onLine: (l: string) => void): Promise<CommandResult> {
    return this.pick().run(cmd, cwd, env, signal, onLine);
  }
}

/** What to set and unset in `base` to make `env`: a command's environment is the engine's plus a
 * few variables, and the whole of it (kilobytes) would be serialised and parsed twice per stage. */
export function envDiff(base: NodeJS.ProcessEnv, env: NodeJS.ProcessEnv): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const k in env) {
    const v = env[k];
    if (v !== undefined && v !== base[k]) set[k] = v;
  }
  for (const k in base) if (env[k] === undefined) unset.push(k);
  return { set, unset };
}

/** The environment the spawner gives a command: its own (the engine's at its start) with the difference applied. */
export function applyEnvDiff(base: NodeJS.ProcessEnv, d: { set: Record<string, string>; unset: string[] }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...d.set };
  for (const k of d.unset) delete env[k];
  return env;
}

const SLOT = 'run:spawners';

/** The spawners of this process (kept in the stage context's process cache). */
export function spawnerFor(cache: Map<string, unknown>): SpawnerPool {
  let s = cache.get(SLOT) as SpawnerPool | undefined;
  if (!s) {
    s = new SpawnerPool();
    cache.set(SLOT, s);
  }
  return s;
}
