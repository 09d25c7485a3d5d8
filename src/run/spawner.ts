// The engine's side of the spawner (spawner-main.ts): one per process that runs `run:` stages,
// started on first use and ended with that process.
import { fork, type ChildProcess } from 'node:child_process';
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

  constructor() {
    this.child = fork(MAIN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
      for (const w of this.waiting.values()) w.resolve({ code: null, signal: 'spawner-exit', stderr: `the command runner exited (code ${code})` });
      this.waiting.clear();
    });
    // The engine must be free to exit while the spawner idles; the spawner ends on disconnect.
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
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
      this.child.send({ type: 'start', id, cmd, cwd, env });
      // Aborted before it started (a time limit that ran out while the spawner started).
      if (signal.aborted) onAbort();
    });
  }
}

const SLOT = 'run:spawner';

/** The spawner of this process (kept in the stage context's process cache). */
export function spawnerFor(cache: Map<string, unknown>): Spawner {
  let s = cache.get(SLOT) as Spawner | undefined;
  if (!s) {
    s = new Spawner();
    cache.set(SLOT, s);
  }
  return s;
}
