// Can a host be reached at all? A DNS lookup and a TCP connect with a short timeout, asked once per
// host and port per process: a plan that would download from a URL on a machine without network
// says "blocked" instead of "would run", and `pipeline doctor` checks the hub endpoint with it.
import { connect } from 'node:net';

export type Reach = { ok: true; ms: number } | { ok: false; code: string; message: string };

const asked = new Map<string, Promise<Reach>>();

/** Default wait for a connect: long enough for a slow link, short enough for every status call. */
export const REACH_TIMEOUT_MS = 3000;

/** Whether `url`'s host answers on its port (443 for https, 80 for http unless given). */
export function reachable(url: string, timeoutMs = REACH_TIMEOUT_MS): Promise<Reach> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, code: 'EINVAL', message: `not a URL: ${url}` });
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port) || (u.protocol === 'http:' ? 80 : 443);
  const key = `${host}:${port}`;
  let hit = asked.get(key);
  if (!hit) {
    hit = new Promise<Reach>((resolve) => {
      const t0 = Date.now();
      const socket = connect({ host, port });
      const done = (r: Reach): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT', message: `no answer from ${key} within ${timeoutMs} ms` }), timeoutMs);
      socket.once('connect', () => done({ ok: true, ms: Date.now() - t0 }));
      socket.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, code: e.code ?? 'ERROR', message: `${key}: ${e.code ?? e.message}` }));
    });
    asked.set(key, hit);
  }
  return hit;
}
