// One HTTP GET with deadlines, for the hub client and downloads: the response must start within
// `firstByteMs` (connecting included), and the body may not pause longer than `idleMs`; a body is
// read to at most a limit. A server that accepts and never answers, or sends forever, ends here.

export interface HttpTimeouts {
  /** From sending the request (connecting included) to the response headers. */
  firstByteMs: number;
  /** Longest pause between two pieces of the body. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { firstByteMs: 30_000, idleMs: 60_000 };

/** A deadline missed: worth another try (isTransient), then named in the final error. */
export class HttpTimeoutError extends Error {
  constructor(readonly phase: 'first-byte' | 'idle', readonly url: string, readonly ms: number) {
    super(phase === 'first-byte'
      ? `no response from ${url} within ${ms} ms (PIPELINE_HTTP_TIMEOUT)`
      : `no data from ${url} for ${ms} ms (PIPELINE_HTTP_IDLE_TIMEOUT)`);
    this.name = 'HttpTimeoutError';
  }
}

export interface TimedResponse {
  res: Response;
  /** The body, each pause checked against the idle deadline; errors are the timeout when it fired. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Stop the timers and drop the connection (a body not read to its end). */
  close(): void;
}

/** GET `url` under the deadlines; a missed deadline rejects with HttpTimeoutError. */
export async function timedFetch(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal },
  timeouts: HttpTimeouts, fetchImpl: typeof fetch = fetch): Promise<TimedResponse> {
  const ctl = new AbortController();
  const signal = init.signal ? AbortSignal.any([init.signal, ctl.signal]) : ctl.signal;
  let timer: NodeJS.Timeout | undefined;
  const arm = (phase: 'first-byte' | 'idle'): void => {
    clearTimeout(timer);
    const ms = phase === 'first-byte' ? timeouts.firstByteMs : timeouts.idleMs;
    timer = setTimeout(() => ctl.abort(new HttpTimeoutError(phase, url, ms)), ms);
  };
  const why = (err: unknown): unknown => (ctl.signal.aborted && !init.signal?.aborted ? ctl.signal.reason : err);
  arm('first-byte');
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: init.headers, signal });
  } catch (err) {
    clearTimeout(timer);
    throw why(err);
  }
  arm('idle');
  const close = (): void => {
    clearTimeout(timer);
    if (!ctl.signal.aborted) ctl.abort(new Error('closed'));
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (!res.body) return;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm('idle');
        yield chunk;
      }
    } catch (err) {
      throw why(err);
    } finally {
      clearTimeout(timer);
    }
  }
  return { res, chunks, close };
}

/** The start of a body (an error page) as text, at most `max` bytes; the rest is not read. */
export async function readTextPrefix(r: TimedResponse, max = 4096): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of r.chunks()) {
      parts.push(chunk);
      n += chunk.length;
      if (n >= max) break;
    }
  } catch { /* the status says enough */ } finally {
    r.close();
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

/** A response body as text, refused past `maxBytes` (a JSON answer that never ends). */
export async function readTextLimited(r: TimedResponse, maxBytes: number, what: string, tooLarge: (msg: string) => Error): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of r.chunks()) {
      n += chunk.length;
      if (n > maxBytes) throw tooLarge(`${what}: the answer is longer than ${maxBytes} bytes; refusing it`);
      parts.push(chunk);
    }
  } finally {
    r.close();
  }
  return Buffer.concat(parts).toString('utf8');
}
