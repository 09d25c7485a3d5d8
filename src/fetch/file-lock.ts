// A lock folder beside a download, so two processes never append to the same `.part` file.
// mkdir is atomic on local and network filesystems; the owner (host + pid) lets a later run take
// over a lock left by a process that died.

import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sleep } from './hub-config.js';

/** A lock from another host is presumed dead when untouched this long. */
const FOREIGN_STALE_MS = 30 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(lockDir: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8')) as { host: string; pid: number };
    if (owner.host === hostname()) return !alive(owner.pid);
    return Date.now() - (await stat(lockDir)).mtimeMs > FOREIGN_STALE_MS;
  } catch {
    // Owner file not written yet (the holder is between mkdir and writeFile) or lock just removed.
    try {
      return Date.now() - (await stat(lockDir)).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
}

export async function withFileLock<T>(lockDir: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let wait = 20; ; wait = Math.min(wait * 2, 1000)) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(lockDir)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      await sleep(wait, signal);
    }
  }
  try {
    await writeFile(join(lockDir, 'owner.json'), JSON.stringify({ host: hostname(), pid: process.pid }));
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
