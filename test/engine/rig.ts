// A test rig in the manner of wireit's: a temp project, the real CLI as a subprocess, and a calls
// log that every `run:` command appends to, so tests assert exactly which stages executed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(REPO, 'bin', 'pipeline.js');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class Rig {
  readonly dir: string;
  constructor(pipeline?: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'ltd-rig-'));
    if (pipeline !== undefined) this.write('pipeline.yaml', pipeline);
  }

  write(rel: string, text: string): void {
    mkdirSync(dirname(join(this.dir, rel)), { recursive: true });
    writeFileSync(join(this.dir, rel), text);
  }

  read(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(join(this.dir, rel));
  }

  /** Run the CLI synchronously. */
  cli(args: string[], env: Record<string, string> = {}): Result {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: this.dir, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
    return { code: r.status ?? (r.signal === 'SIGKILL' ? 137 : r.signal === 'SIGINT' ? 130 : -1), stdout: r.stdout, stderr: r.stderr };
  }

  /** Run the CLI without blocking this process's event loop (needed when this process serves HTTP). */
  cliAsync(args: string[], env: Record<string, string> = {}): Promise<Result> {
    return this.spawn(args, env).done;
  }

  /** Run the CLI in the background. */
  spawn(args: string[], env: Record<string, string> = {}): { proc: ReturnType<typeof spawn>; done: Promise<Result> } {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: this.dir, env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<Result>((res) => proc.on('close', (code, sig) => res({ code: code ?? (sig === 'SIGKILL' ? 137 : -1), stdout, stderr })));
    return { proc, done };
  }

  /** Stage names whose commands ran (each `run:` in these tests appends its name to calls.log). */
  calls(): string[] {
    if (!this.exists('calls.log')) return [];
    return this.read('calls.log').split('\n').filter(Boolean);
  }

  resetCalls(): void {
    this.write('calls.log', '');
  }

  /** JSON-lines events of a `run --json`. */
  static events(r: Result): Record<string, unknown>[] {
    return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  static ran(r: Result): string[] {
    return Rig.events(r).filter((e) => e['type'] === 'stage-done').map((e) => String(e['id'])).sort();
  }
}
