// Calling R: whether Rscript and the packages a program needs are there (checked at plan time, so a
// missing R fails before anything runs, with the install command), and running a program.

import { execFile } from 'node:child_process';

export type RCheck =
  | { ok: true; rscript: string; r: string; packages: Record<string, string>; /** The BLAS library R uses (its path: the build). */ blas: string }
  | { ok: false; rscript: string; reason: string };

interface ExecResult { stdout: string; stderr: string }

/** One BLAS/LAPACK thread, whatever the build (OpenBLAS, MKL, BLIS, Apple's, any OpenMP one): a
 * threaded BLAS splits sums by thread count, which moves a singular glmer's optimum in the third
 * decimal; single-threaded, a fit depends only on the BLAS build (docs/analysis.md). */
export const R_THREAD_ENV: Readonly<Record<string, string>> = {
  OPENBLAS_NUM_THREADS: '1',
  GOTO_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  MKL_DYNAMIC: 'FALSE',
  BLIS_NUM_THREADS: '1',
  VECLIB_MAXIMUM_THREADS: '1',
};

/** The environment Rscript runs in: ours, a fixed locale, one BLAS thread. */
export function rEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, LC_ALL: 'C.UTF-8', ...R_THREAD_ENV };
}

function exec(file: string, args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolveP, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 0, signal: opts.signal, env: rEnv() },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout: String(stdout), stderr: String(stderr) }));
        else resolveP({ stdout: String(stdout), stderr: String(stderr) });
      });
  });
}

const checks = new Map<string, Promise<RCheck>>();

/** Rscript's R version and the versions of `packages`; cached per Rscript path and package list. */
export function checkR(rscript: string, packages: readonly string[], program: string): Promise<RCheck> {
  const key = `${rscript}\0${packages.join(',')}`;
  let hit = checks.get(key);
  if (!hit) {
    hit = (async (): Promise<RCheck> => {
      let out: ExecResult;
      try {
        // No timeout: other inline stages can block this process's event loop for minutes, and a
        // timer that fires late kills R after it answered, losing its output.
        out = await exec(rscript, ['--vanilla', '-e', program]);
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        const reason = err.code === 'ENOENT' ? `${rscript} was not found` : `${rscript} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`;
        return { ok: false, rscript, reason };
      }
      const found: Record<string, string> = {};
      let r = '';
      let blas = '';
      for (const line of out.stdout.split('\n')) {
        const [name, version] = line.trim().split(/\s+/);
        if (!name || !version) continue;
        if (name === 'R') r = version;
        else if (name === 'BLAS') blas = line.trim().slice(5).trim();
        else found[name] = version;
      }
      const missing = packages.filter((p) => !found[p] || found[p] === 'MISSING');
      if (missing.length) {
        // Say what R answered when it named no version at all (not the check's expected output).
        const said = Object.keys(found).length === 0 ? ` (${rscript} printed ${JSON.stringify((out.stdout + out.stderr).trim().slice(0, 300))})` : '';
        return { ok: false, rscript, reason: `R package${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed${said}` };
      }
      return { ok: true, rscript, r, blas, packages: Object.fromEntries(packages.map((p) => [p, found[p]!])) };
    })();
    checks.set(key, hit);
  }
  return hit;
}

/** Run an R program file with arguments; a non-zero exit is an error carrying R's last lines. */
export async function runRscript(rscript: string, file: string, args: string[], signal?: AbortSignal): Promise<ExecResult> {
  try {
    return await exec(rscript, ['--vanilla', file, ...args], { signal });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const tail = (err.stderr ?? '').trim().split('\n').slice(-8).join('\n');
    throw new Error(`${rscript} ${file} failed: ${tail || err.message}`);
  }
}
