// What `pipeline doctor` checks besides the GPUs, as data: R with lme4 and lmerTest (the statistics
// stage), Slurm (`--executor slurm`), whether the hub endpoint answers (fetch-model and dataset
// stimuli), and the free disk where the store is. Each check says what is missing and the fix;
// doctor.ts words them.
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { checkR } from '../analysis/rscript.js';
import { R_CHECK_PROGRAM, R_INSTALL_HINT, R_PACKAGES } from '../analysis/size-lmer.js';
import { reachable } from '../engine/reachable.js';
import { hubConfigFromEnv } from '../fetch/hub-config.js';

export type Check<T> = ({ ok: true } & T) | { ok: false; problem: string; fix: string };

export interface HostChecks {
  r: Check<{ rscript: string; r: string; packages: Record<string, string>; blas: string }>;
  slurm: Check<{ partitions: string[] }>;
  hub: Check<{ endpoint: string; ms: number }> | { ok: null; endpoint: string; note: string };
  disk: Check<{ store: string; freeBytes: number; totalBytes: number }>;
}

/** Below this much free space in the store a run of the paper's pipeline cannot finish. */
export const LOW_DISK_BYTES = 20 * 2 ** 30;

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: string | number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      res({ code: e ? (e.killed ? 'TIMEOUT' : e.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function rCheck(): Promise<HostChecks['r']> {
  const rscript = process.env['RSCRIPT'] ?? 'Rscript';
  const c = await checkR(rscript, R_PACKAGES, R_CHECK_PROGRAM);
  if (!c.ok) return { ok: false, problem: c.reason, fix: R_INSTALL_HINT };
  return { ok: true, rscript, r: c.r, packages: c.packages, blas: c.blas };
}

async function slurmCheck(): Promise<HostChecks['slurm']> {
  const r = await run('sinfo', ['-h', '-o', '%P %a %D %t'], 10_000);
  const fix = 'install and start Slurm (docs/slurm.md; scripts/slurm/start.sh on one Debian machine), or leave --executor at local';
  if (r.code === 'ENOENT') return { ok: false, problem: 'sinfo not found (Slurm is not installed)', fix };
  if (r.code !== 0) return { ok: false, problem: `sinfo failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`, fix };
  const partitions = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (partitions.length === 0) return { ok: false, problem: 'sinfo lists no partition', fix };
  return { ok: true, partitions };
}

async function hubCheck(): Promise<HostChecks['hub']> {
  const config = hubConfigFromEnv(process.env);
  if (config.offline) return { ok: null, endpoint: config.endpoint, note: 'HF_HUB_OFFLINE is set: nothing is fetched from the hub' };
  const r = await reachable(config.endpoint);
  if (r.ok) return { ok: true, endpoint: config.endpoint, ms: r.ms };
  return {
    ok: false,
    problem: `cannot reach ${config.endpoint} (${r.code})`,
    fix: 'without network, run with --offline and give models with --models-dir and stimuli with --stimuli-dir; or set HF_ENDPOINT to a reachable hub mirror',
  };
}

async function diskCheck(store: string): Promise<HostChecks['disk']> {
  // The store may not exist yet: its nearest existing parent is on the same filesystem.
  for (let dir = resolve(store); ; dir = dirname(dir)) {
    try {
      const s = await statfs(dir);
      const freeBytes = s.bavail * s.bsize;
      const totalBytes = s.blocks * s.bsize;
      if (freeBytes < LOW_DISK_BYTES) return { ok: false, problem: `only ${gib(freeBytes)} free where the store is (${store})`, fix: 'free space there (`pipeline gc` drops unreferenced objects) or put the store elsewhere with --store DIR' };
      return { ok: true, store, freeBytes, totalBytes };
    } catch (e: unknown) {
      if (dirname(dir) === dir) return { ok: false, problem: `cannot read the filesystem of ${store}: ${(e as Error).message}`, fix: 'check the --store path' };
    }
  }
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Every check at once (each has its own short timeout). */
export async function hostChecks(store: string): Promise<HostChecks> {
  const [r, slurm, hub, disk] = await Promise.all([rCheck(), slurmCheck(), hubCheck(), diskCheck(store)]);
  return { r, slurm, hub, disk };
}
