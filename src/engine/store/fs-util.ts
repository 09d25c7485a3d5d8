// Small filesystem helpers shared by the store: atomic writes, hashing while copying, pid checks.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readMetaSync } from './damage.js';
import { selfOwner } from '../../util/liveness.js';

export { pidAlive } from '../../util/liveness.js';

/** Files up to this size are read whole (and re-hashed on every check); larger ones are streamed
 * and checked through the stat cache. */
export const SMALL_FILE = 4 * 1024 * 1024;

/** sha256 of a file. A small one is read in one synchronous call: streaming it costs an open, a
 * read or two and a close, each a hand-off to the thread pool and back — on a loaded machine each
 * can wait a scheduler time slice, and a run hashes every output it materialises. */
export async function hashFile(path: string, size = Infinity): Promise<string> {
  if (size <= SMALL_FILE) return createHash('sha256').update(readFileSync(path)).digest('hex');
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

let suffixes = 0;
/** `<owner token>-<n>`: staging names start with the token of the process that owns them
 * (liveness.ts), so only a provably dead owner's staging is ever removed. The token is random per
 * process, so a counter after it is unique. */
export function uniqueSuffix(): string {
  return `${selfOwner().token}-${(++suffixes).toString(16).padStart(8, '0')}`;
}

// The store's metadata (run records, pointers, locks, small objects) is written with synchronous
// calls: each is a few microseconds on a local disk, against a thread-pool round trip per call for
// the promise API, and a run of thousands of small stages is bound by them.
const made = new Set<string>();
/** mkdir -p, remembered: the store creates the same few folders thousands of times in a run. */
export async function ensureDir(dir: string): Promise<void> {
  if (made.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  made.add(dir);
}

/** Write via a temporary sibling and rename, so readers never see a partial file. The one way
 * anything writes metadata into the store (and the Slurm executor its scripts). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writeFileAtomicSync(path, data);
}

/** writeFileAtomic for callers that cannot wait (a cache saved at exit). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  if (!made.has(dirname(path))) {
    mkdirSync(dirname(path), { recursive: true });
    made.add(dirname(path));
  }
  const tmp = `${path}.tmp-${uniqueSuffix()}`;
  try {
    try {
      writeFileSync(tmp, data);
    } catch (e: unknown) {
      // the folder was made once but removed since (another process cleaned it): make it again
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(tmp, data);
    }
    renameSync(tmp, path);
  } catch (e: unknown) {
    rmSync(tmp, { force: true }); // a full disk leaves nothing half-written behind
    throw withPath(e, path);
  }
}

const PLAIN: Record<string, string> = { ENOSPC: 'no space left on device', EROFS: 'read-only file system', EACCES: 'permission denied', EDQUOT: 'disk quota exceeded' };

/** Node's write errors name no file ("ENOSPC: no space left on device, write"): say which, keeping
 * the code for callers that test it. */
export function withPath(e: unknown, path: string, verb = 'writing'): unknown {
  const x = e as NodeJS.ErrnoException;
  if (!x || typeof x !== 'object' || typeof x.code !== 'string' || x.path) return e;
  const err = new Error(`${PLAIN[x.code] ?? x.message.replace(/^[A-Z]+: /, '').replace(/, \w+$/, '')} (${x.code}) ${verb} ${path}`) as NodeJS.ErrnoException;
  err.code = x.code;
  err.path = path;
  return err;
}

/** Copy with a reflink where the filesystem supports it, a plain copy elsewhere. */
export async function copyFileFast(src: string, dst: string): Promise<void> {
  await fs.copyFile(src, dst, fsc.COPYFILE_FICLONE);
}

export async function exists(path: string): Promise<boolean> {
  return existsSync(path);
}

/** Small metadata files are read synchronously: a no-op run reads hundreds of them, and the
 * promise-based API costs several times more per file. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  return readJsonSync<T>(path);
}

/** Undefined when absent; a damaged file is quarantined (damage.ts) and reads as absent. */
export function readJsonSync<T>(path: string): T | undefined {
  return readMetaSync<T>(path);
}

/** Every regular file under a folder, as sorted relative paths (symlinks are followed as files). */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() || e.isSymbolicLink()) out.push(r);
    }
  }
  await walk('');
  return out.sort();
}
