// A lock file beside a download, so two processes never append to the same `.part` file. It is a
// lock of the store's kind (src/util/lock-file.ts, below the engine and this library): created
// atomically by hard link (safe on NFS), naming host + pid, and its own heartbeat (its mtime,
// refreshed while held), so one liveness check (src/util/liveness.ts) decides when a lock left by a
// dead process — on this host or another — may be taken over.
import { dirname } from 'node:path';
import { acquireLock } from '../util/lock-file.js';

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const release = await acquireLock(lockPath, signal ? { tmpDir: dirname(lockPath), beat: true, signal } : { tmpDir: dirname(lockPath), beat: true });
  try {
    return await fn();
  } finally {
    release();
  }
}
