// The spawner: a small process that runs `run:` commands on the engine's behalf. Forking from a
// small process is several times cheaper than from the engine, whose main thread would otherwise
// block for each spawn; the engine only exchanges messages with it. Commands are spawned directly
// (`bash -c`, no zx: its per-command bookkeeping cost as much as the spawn itself in a run of many
// small stages), each in its own process group so that a stop ends everything the command started.
import { spawn } from 'node:child_process';
import { applyEnvDiff } from './spawner.js';

/** `set` and `unset` turn this process's environment (the engine's when it started this one) into the command's. */
interface Start { type: 'start'; id: number; cmd: string; cwd: string; set: Record<string, string>; unset: string[] }
/** This process's environment as it started: never changed here. */
const BASE: NodeJS.ProcessEnv = { ...process.env };
interface Kill { type: 'kill'; id: number }

const running = new Map<number, { kill(): void }>();
const send = (m: unknown): void => void process.send?.(m);

// Ctrl-C reaches the whole process group: the engine decides what stops (it sends 'kill').
process.on('SIGINT', () => undefined);
process.on('disconnect', () => {
  for (const r of running.values()) r.kill();
  process.exit(0);
});

process.on('message', (m: Start | Kill) => {
  if (m.type === 'kill') {
    running.get(m.id)?.kill();
    return;
  }
  // stdin is /dev/null, not the socket Node would give it: bash treats a socket on stdin as a
  // remote shell (rshd/sshd) and sources ~/.bashrc for every command — slow (a pyenv init per
  // stage on this machine) and a source of results that depend on the user's shell setup.
  const proc = spawn('bash', ['-c', m.cmd], { cwd: m.cwd, env: applyEnvDiff(BASE, m), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      if (proc.pid) process.kill(-proc.pid, sig);
    } catch {
      /* already gone */
    }
  };
  // SIGTERM first; whatever is left of the group (a child that ignores it) is killed 2 s later.
  const kill = (): void => {
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 2000).unref();
  };
  running.set(m.id, { kill });
  const stderr: string[] = [];
  // A chunk may end inside a line: the rest is kept for the next chunk (or the end).
  const splitter = (onLine: (l: string) => void): { data(d: Buffer): void; end(): void } => {
    let rest = '';
    return {
      data(d) {
        const parts = (rest + d.toString()).split('\n');
        rest = parts.pop() ?? '';
        parts.filter(Boolean).forEach(onLine);
      },
      end() {
        if (rest) onLine(rest);
        rest = '';
      },
    };
  };
  const out = splitter((line) => send({ type: 'line', id: m.id, line }));
  const err = splitter((line) => {
    stderr.push(line);
    if (stderr.length > 5) stderr.shift();
    send({ type: 'line', id: m.id, line });
  });
  proc.stdout.on('data', out.data);
  proc.stderr.on('data', err.data);
  proc.stdout.on('end', out.end);
  proc.stderr.on('end', err.end);
  let settled = false;
  const finish = (code: number | null, signal: string | null, message?: string): void => {
    if (settled) return;
    settled = true;
    running.delete(m.id);
    send({ type: 'exit', id: m.id, code, signal, stderr: message ?? stderr.join('\n') });
  };
  proc.on('error', (e) => finish(null, null, e.message));
  proc.on('close', (code, signal) => finish(code, signal));
});
