// Shared by the Slurm tests: make sure a real Slurm answers (starting the project's single-node
// one when it does not), build invocations, and watch the queue from outside the executor.

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Grant, Invocation } from '../../src/engine/executor.js';
import type { ResourceRequest } from '../../src/engine/kind.js';

export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const fakeExecStage = join(repoRoot, 'test', 'slurm', 'fixtures', 'fake-exec-stage.mjs');
export const grant: Grant = { cpus: 1, gpus: [], memory: 0 };

/** Start scripts/slurm/start.sh unless `sinfo` already answers. */
export function ensureSlurm(): void {
  try {
    execFileSync('sinfo', ['-h', '-o', '%T'], { stdio: 'pipe', timeout: 10_000 });
    return;
  } catch {
    // not installed or no controller: start ours
  }
  execFileSync('bash', [join(repoRoot, 'scripts', 'slurm', 'start.sh')], { stdio: 'inherit', timeout: 300_000 });
}

const made: string[] = [];
// Removed when the test process ends, unless a test failed (then they are worth reading). A Slurm
// job cancelled at the end may still write into one: removing it under the job is harmless.
process.on('exit', (code) => {
  if (code !== 0 || process.exitCode) return;
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slurm-${label}-`));
  made.push(dir);
  return dir;
}

/** An invocation the fake exec-stage understands (`fake` tells it what to do). */
export function invocation(storeDir: string, id: string, fake: Record<string, unknown> = {}, resources: ResourceRequest = {}): Invocation {
  const key = createHash('sha256').update(`${storeDir}\0${id}`).digest('hex');
  return {
    key,
    instance: { id, kind: 'fake', name: id.split('/')[0] ?? id, vars: {}, params: { fake } },
    projectDir: storeDir,
    storeDir,
    spec: { projectDir: storeDir, models: [], tasks: [], vars: {}, offline: true },
    plugins: [],
    inputs: [],
    planned: {},
    fingerprint: { id },
    resources,
  };
}

/** squeue's view of jobs whose name starts with `prefix`: name → state. */
export function queueByName(prefix: string): Promise<Map<string, string>> {
  return new Promise((resolveQueue) => {
    execFile('squeue', ['-h', '-o', '%j %T'], (error, stdout) => {
      const jobs = new Map<string, string>();
      if (!error) {
        for (const line of String(stdout).split('\n')) {
          const [name, state] = line.trim().split(/\s+/);
          if (name && state && name.startsWith(prefix)) jobs.set(name, state);
        }
      }
      resolveQueue(jobs);
    });
  });
}

/** `squeue -h -t all -j ID -o %T` of one job. */
export function jobState(jobId: string): string {
  return execFileSync('squeue', ['-h', '-t', 'all', '-j', jobId, '-o', '%T'], { encoding: 'utf8' }).trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
