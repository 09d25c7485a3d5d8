// One file over HTTP, robustly: bytes go to `<dest>.part`, a dropped connection resumes with a
// Range request, the result is checked against the expected size and digest, and only then renamed
// to `<dest>`. A partial file is never at the final path.

import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FetchError, HttpStatusError, isTransient } from './errors.js';
import { withFileLock } from './file-lock.js';
import { gitBlobSha1File, sha256File } from './hash.js';
import { backoffDelay, type RetryOptions, sleep } from './hub-config.js';
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
  const have = await sizeOf(dest);
  if (have !== null && (expected.size === undefined || have === expected.size)) {
    return { bytes: have, cached: true, requests: 0, resumed: 0 };
  }
  await mkdir(dirname(dest), { recursive: true });
  return withFileLock(`${dest}.lock`, async () => {
    // Another process may have finished it while we waited for the lock.
    const now = await sizeOf(dest);
    if (now !== null && (expected.size === undefined || now === expected.size)) {
      return { bytes: now, cached: true, requests: 0, resumed: 0 };
    }
    const part = `${dest}.part`;
    const stats = await fetchToPart(opts, part);
    const size = (await sizeOf(part)) ?? 0;
    await verify(part, opts, size);
    await rename(part, dest);
    return { bytes: size, cached: false, ...stats };
  }, opts.signal);
}

async function fetchToPart(opts: DownloadOptions, part: string): Promise<{ requests: number; resumed: number }> {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const expectedSize = opts.expected?.size;
  let requests = 0;
  let resumed = 0;
  let last: unknown;
  for (let attempt = 0; attempt < opts.retry.attempts; attempt++) {
    let offset = (await sizeOf(part)) ?? 0;
    if (expectedSize !== undefined && offset > expectedSize) {
      await truncate(part, 0);
      offset = 0;
    }
    if (expectedSize !== undefined && offset === expectedSize && offset > 0) return { requests, resumed };
    const idle = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      const ms = opts.idleTimeoutMs ?? 60_000;
      timer = setTimeout(() => idle.abort(new Error(`no data for ${ms} ms`)), ms);
    };
    try {
      const headers: Record<string, string> = { ...opts.headers };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      arm();
      requests++;
      const res = await fetchImpl(opts.url, { headers, signal });
      if (res.status === 416) {
        // Our .part no longer fits the remote file: start again from nothing.
        await rm(part, { force: true });
        throw new Error(`HTTP 416 for a resume at byte ${offset}`);
      }
      if (!res.ok || !res.body) {
        throw new HttpStatusError(res.status, opts.url, res.headers.get('x-error-code'), await res.text().catch(() => ''));
      }
      let append = false;
      if (res.status === 206 && offset > 0) {
        const start = /bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
        if (start === undefined || Number(start) !== offset) {
          await res.body.cancel();
          await rm(part, { force: true }); // the next try starts from nothing
          throw new Error(`unexpected Content-Range ${res.headers.get('content-range')} for a resume at ${offset}`);
        }
        append = true;
        resumed++;
      }
      const total = totalFrom(res, append ? offset : 0);
      let bytes = append ? offset : 0;
      // Write each chunk as it arrives (not through a pipeline, which discards buffered writes when
      // the connection drops), so a resume continues from every byte that was received.
      const fh = await open(part, append ? 'a' : 'w');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          arm();
          await fh.write(chunk);
          bytes += chunk.length;
          opts.onProgress?.(bytes, expectedSize ?? total);
        }
      } finally {
        await fh.close();
      }
      const want = expectedSize ?? total;
      if (want !== undefined && bytes < want) throw new Error(`connection ended at byte ${bytes} of ${want}`);
      return { requests, resumed };
    } catch (err) {
      last = err;
      if (opts.signal?.aborted) throw opts.signal.reason;
      // An idle abort may surface as an AbortError; it is a stalled connection, worth another try.
      if (!idle.signal.aborted && !isTransient(err)) {
        throw err instanceof HttpStatusError && opts.mapError ? opts.mapError(err) : err;
      }
      if (attempt + 1 < opts.retry.attempts) {
        const delay = backoffDelay(opts.retry, attempt);
        opts.onRetry?.(attempt + 1, opts.retry.attempts, errorText(err), delay);
        await sleep(delay, opts.signal);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  const kept = (await sizeOf(part)) ?? 0;
  throw new FetchError('retries-exhausted',
    `${opts.what}: download failed after ${opts.retry.attempts} tries (${errorText(last)}); `
    + `${kept} bytes are kept in ${part} and the next run resumes from there`, { cause: last });
}
