// One file over HTTP, robustly: bytes go to `<dest>.part`, a dropped connection resumes with a
// Range request, the result is checked against the expected size and digest, and only then renamed
// to `<dest>`. A partial file is never at the final path. A body longer than the expected size
// (or the limit) is refused as soon as it passes it; a file already at `<dest>` (a shared hub
// cache) is used only when its digest matches, else it is downloaded again.

import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FetchError, HttpStatusError, isTransient } from './errors.js';
import { withFileLock } from './file-lock.js';
import { gitBlobSha1File, sha256File } from './hash.js';
import { backoffDelay, DEFAULT_FIRST_BYTE_MS, DEFAULT_IDLE_MS, type RetryOptions, sleep } from './hub-config.js';
import { HttpTimeoutError, readTextPrefix, timedFetch } from './http.js';
import { errorText } from './hub-client.js';

export interface Expected {
  size?: number;
  sha256?: string;
  /** git blob sha1 (the hub's blobId for non-LFS files). */
  gitSha1?: string;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Names the file in messages (`test-org/tiny-gpt2@1a2b… onnx/model.onnx`). */
  what: string;
  headers?: Record<string, string>;
  expected?: Expected;
  retry: RetryOptions;
  idleTimeoutMs?: number;
  /** Deadline for the response to start (connecting included); default 30 s. */
  firstByteTimeoutMs?: number;
  /** Most bytes read when no size is expected (default DEFAULT_MAX_DOWNLOAD_BYTES). */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Turn a non-transient HTTP status into the caller's error (401 → "set HF_TOKEN"). */
  mapError?: (err: HttpStatusError) => unknown;
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Before each retry: which try failed, why, and how long until the next (so a run can say so). */
  onRetry?: (failedTry: number, tries: number, reason: string, delayMs: number) => void;
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  bytes: number;
  /** Already at dest, nothing fetched. */
  cached: boolean;
  /** HTTP requests made (1 when nothing went wrong). */
  requests: number;
  /** Requests that continued a `.part` file with a Range header. */
  resumed: number;
  /** A file found at dest did not match its digest and was downloaded again. */
  replaced?: boolean;
}

/** The limit of a download whose size nobody states (a pinned URL): 4 GiB. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;

/** Why the file at `path` is not the expected one (size, then sha256 or git blob id), or null. */
export async function cachedFileProblem(path: string, exp: Expected): Promise<string | null> {
  const { size } = await stat(path);
  if (exp.size !== undefined && size !== exp.size) return `${size} bytes, expected ${exp.size}`;
  if (exp.sha256) {
    const got = await sha256File(path);
    if (got !== exp.sha256.toLowerCase()) return `sha256 ${got}, expected ${exp.sha256.toLowerCase()}`;
  } else if (exp.gitSha1) {
    const got = await gitBlobSha1File(path);
    if (got !== exp.gitSha1.toLowerCase()) return `git blob id ${got}, expected ${exp.gitSha1.toLowerCase()}`;
  }
  return null;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** Total size from `Content-Range: bytes a-b/total` or Content-Length. */
function totalFrom(res: Response, offset: number): number | undefined {
  const range = res.headers.get('content-range');
  const m = range ? /\/(\d+)\s*$/.exec(range) : null;
  if (m?.[1]) return Number(m[1]);
  const len = res.headers.get('content-length');
  return len === null ? undefined : offset + Number(len);
}

async function verify(part: string, opts: DownloadOptions, size: number): Promise<void> {
  const exp = opts.expected ?? {};
  if (exp.size !== undefined && size !== exp.size) {
    await rm(part, { force: true });
    throw new FetchError('size-mismatch', `${opts.what}: got ${size} bytes, expected ${exp.size} (from ${opts.url})`);
  }
  if (exp.sha256) {
    const got = await sha256File(part);
    if (got !== exp.sha256.toLowerCase()) {
      await rm(part, { force: true });
      throw new FetchError('digest-mismatch',
        `${opts.what}: sha256 mismatch: expected ${exp.sha256.toLowerCase()}, got ${got} (from ${opts.url})`);
    }
  }
  if (exp.gitSha1) {
    const got = await gitBlobSha1File(part);
    if (got !== exp.gitSha1.toLowerCase()) {
      await rm(part, { force: true });
      throw new FetchError('digest-mismatch',
        `${opts.what}: git blob sha1 mismatch: expected ${exp.gitSha1.toLowerCase()}, got ${got} (from ${opts.url})`);
    }
  }
}

/** Download `url` to `dest` (resuming, verified, atomic). A file already at dest of the right size is kept. */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const { dest, expected = {} } = opts;
  // A file already there (this cache, or a shared HF_HOME another tool fills) counts only when
  // it is the listed one: same size is not enough, a damaged file has that too.
  const have = await sizeOf(dest);
  if (have !== null && (await cachedFileProblem(dest, expected)) === null) {
    return { bytes: have, cached: true, requests: 0, resumed: 0 };
  }
  await mkdir(dirname(dest), { recursive: true });
  return withFileLock(`${dest}.lock`, async () => {
    // Another process may have finished it while we waited for the lock.
    const now = await sizeOf(dest);
    const problem = now === null ? null : await cachedFileProblem(dest, expected);
    if (now !== null && problem === null) return { bytes: now, cached: true, requests: 0, resumed: 0 };
    const part = `${dest}.part`;
    const stats = await fetchToPart(opts, part);
    const size = (await sizeOf(part)) ?? 0;
    await verify(part, opts, size);
    // rename replaces a link (huggingface_hub's snapshot → blob) by the file, leaving the blob alone.
    await rename(part, dest);
    return { bytes: size, cached: false, ...stats, ...(problem !== null ? { replaced: true } : {}) };
  }, opts.signal);
}

async function fetchToPart(opts: DownloadOptions, part: string): Promise<{ requests: number; resumed: number }> {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const expectedSize = opts.expected?.size;
  // Never keep more than the listing says (or the limit when it says nothing).
  const limit = expectedSize ?? opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  const timeouts = { firstByteMs: opts.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_MS, idleMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_MS };
  const tooLarge = async (got: string): Promise<never> => {
    await rm(part, { force: true });
    throw new FetchError('too-large', `${opts.what}: the server sent ${got}, more than the ${limit} bytes `
      + `${expectedSize !== undefined ? 'the listing gives' : 'allowed'} (from ${opts.url}); refusing it`);
  };
  let requests = 0;
  let resumed = 0;
  let last: unknown;
  for (let attempt = 0; attempt < opts.retry.attempts; attempt++) {
    let offset = (await sizeOf(part)) ?? 0;
    if (offset > limit) {
      await truncate(part, 0);
      offset = 0;
    }
    if (expectedSize !== undefined && offset === expectedSize && offset > 0) return { requests, resumed };
    let r: Awaited<ReturnType<typeof timedFetch>> | undefined;
    try {
      const headers: Record<string, string> = { ...opts.headers };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      requests++;
      r = await timedFetch(opts.url, { headers, signal: opts.signal }, timeouts, fetchImpl);
      const res = r.res;
      if (res.status === 416) {
        // Our .part no longer fits the remote file: start again from nothing.
        await rm(part, { force: true });
        throw new Error(`HTTP 416 for a resume at byte ${offset}`);
      }
      if (!res.ok || !res.body) {
        throw new HttpStatusError(res.status, opts.url, res.headers.get('x-error-code'), await readTextPrefix(r));
      }
      let append = false;
      if (res.status === 206 && offset > 0) {
        const start = /bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
        if (start === undefined || Number(start) !== offset) {
          await rm(part, { force: true }); // the next try starts from nothing
          throw new Error(`unexpected Content-Range ${res.headers.get('content-range')} for a resume at ${offset}`);
        }
        append = true;
        resumed++;
      }
      const total = totalFrom(res, append ? offset : 0);
      if (total !== undefined && total > limit) await tooLarge(`a length of ${total} bytes`);
      let bytes = append ? offset : 0;
      // Write each chunk as it arrives (not through a pipeline, which discards buffered writes when
      // the connection drops), so a resume continues from every byte that was received.
      const fh = await open(part, append ? 'a' : 'w');
      try {
        for await (const chunk of r.chunks()) {
          if (bytes + chunk.length > limit) {
            r.close();
            await fh.close().catch(() => undefined);
            await tooLarge(`more than ${bytes + chunk.length} bytes`);
          }
          await fh.write(chunk);
          bytes += chunk.length;
          opts.onProgress?.(bytes, expectedSize ?? total);
        }
      } finally {
        await fh.close().catch(() => undefined);
      }
      const want = expectedSize ?? total;
      if (want !== undefined && bytes < want) throw new Error(`connection ended at byte ${bytes} of ${want}`);
      return { requests, resumed };
    } catch (err) {
      last = err;
      if (opts.signal?.aborted) throw opts.signal.reason;
      // A missed deadline is a stalled or silent server, worth another try (a bounded number).
      if (!(err instanceof HttpTimeoutError) && !isTransient(err)) {
        throw err instanceof HttpStatusError && opts.mapError ? opts.mapError(err) : err;
      }
      if (attempt + 1 < opts.retry.attempts) {
        const delay = backoffDelay(opts.retry, attempt);
        opts.onRetry?.(attempt + 1, opts.retry.attempts, errorText(err), delay);
        await sleep(delay, opts.signal);
      }
    } finally {
      r?.close();
    }
  }
  const kept = (await sizeOf(part)) ?? 0;
  throw new FetchError('retries-exhausted',
    `${opts.what}: download failed after ${opts.retry.attempts} tries (${errorText(last)}); `
    + `${kept} bytes are kept in ${part} and the next run resumes from there`, { cause: last });
}
