// The spawner: a small process that runs `run:` commands through zx on the engine's behalf.
// Forking from a small process is several times cheaper than from the engine, whose main thread
// would otherwise block for each spawn; the engine only exchanges messages with it.
import { $ } from 'zx';

interface Start { type: 'start'; id: number; cmd: string; cwd: string; env: NodeJS.ProcessEnv }
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
  // The raw template: zx's own shell runs the command as typed (no quoting, no `set -e` prefix).
  const raw = Object.assign([m.cmd], { raw: [m.cmd] }) as unknown as TemplateStringsArray;
  const ac = new AbortController();
  // stdin is /dev/null, not the socket Node would give it: bash treats a socket on stdin as a
  // remote shell (rshd/sshd) and sources ~/.bashrc for every command — slow (a pyenv init per
  // stage on this machine) and a source of results that depend on the user's shell setup.
  const proc = $({ cwd: m.cwd, env: m.env, signal: ac.signal, nothrow: true, quiet: true, verbose: false, shell: 'bash', prefix: '', postfix: '', stdio: ['ignore', 'pipe', 'pipe'] })(raw);
  running.set(m.id, { kill: () => ac.abort() });
  const lines = (d: Buffer): void => d.toString().split('\n').filter(Boolean).forEach((line) => send({ type: 'line', id: m.id, line }));
  proc.stdout.on('data', lines);
  proc.stderr.on('data', lines);
  proc.then(
    (out) => {
      running.delete(m.id);
      send({ type: 'exit', id: m.id, code: out.exitCode, signal: out.signal, stderr: out.stderr.trim().split('\n').slice(-5).join('\n') });
    },
    (e: unknown) => {
      running.delete(m.id);
      send({ type: 'exit', id: m.id, code: null, signal: null, stderr: String((e as Error)?.message ?? e) });
    },
  );
});
