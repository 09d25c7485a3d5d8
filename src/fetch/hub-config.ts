// Where the hub is, who we are, and where downloads are kept: the same environment variables the
// Python and JS Hugging Face clients read, so a user's existing setup just works.

import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HttpTimeouts } from './http.js';

export interface RetryOptions {
  /** Total tries per request (the first included). */
  attempts: number;
  /** First backoff delay; doubles each retry. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface HubConfig {
  endpoint: string;
  token?: string;
  /** Download cache: `<cacheDir>/models--<org>--<name>/snapshots/<commit>/<file>`. */
  cacheDir: string;
  /** No network at all. */
  offline: boolean;
  retry: RetryOptions;
  /** Give up on a response that sends nothing for this long (a stalled connection). */
  idleTimeoutMs: number;
  /** Give up on a request whose response has not started this long after it was sent (connecting included); default 30 s. */
  firstByteTimeoutMs?: number;
  /** Longest JSON answer (listing, refs) read from the hub; default 64 MiB. */
  maxJsonBytes?: number;
}

export const DEFAULT_FIRST_BYTE_MS = 30_000;
export const DEFAULT_IDLE_MS = 60_000;
export const DEFAULT_MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A positive number of seconds from the environment, as milliseconds; a bad value is an error naming the variable. */
function secondsMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${JSON.stringify(v)}: give a positive number of seconds`);
  return Math.round(n * 1000);
}

function whole(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error(`${name}=${JSON.stringify(v)}: give a whole number of tries from 1 to 100`);
  return n;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

/** HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE, PIPELINE_HTTP_TIMEOUT / _IDLE_TIMEOUT / _RETRIES; overrides win. */
export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<HubConfig> = {}): HubConfig {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return {
    endpoint: (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, ''),
    token: env.HF_TOKEN || undefined,
    cacheDir: env.HF_HUB_CACHE || join(home, 'hub'),
    offline: truthy(env.HF_HUB_OFFLINE),
    retry: { ...DEFAULT_RETRY, attempts: whole(env, 'PIPELINE_HTTP_RETRIES', DEFAULT_RETRY.attempts) },
    idleTimeoutMs: secondsMs(env, 'PIPELINE_HTTP_IDLE_TIMEOUT', DEFAULT_IDLE_MS),
    firstByteTimeoutMs: secondsMs(env, 'PIPELINE_HTTP_TIMEOUT', DEFAULT_FIRST_BYTE_MS),
    maxJsonBytes: DEFAULT_MAX_JSON_BYTES,
    ...overrides,
  };
}

/** The deadlines of one request under this configuration. */
export function timeoutsOf(c: Pick<HubConfig, 'idleTimeoutMs' | 'firstByteTimeoutMs'>): HttpTimeouts {
  return { firstByteMs: c.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_MS, idleMs: c.idleTimeoutMs };
}

/** The cache folder of one repo, named as huggingface_hub names it. */
export function repoCacheDir(cacheDir: string, id: string): string {
  return join(cacheDir, `models--${id.split('/').join('--')}`);
}

export function backoffDelay(retry: RetryOptions, attempt: number): number {
  return Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
