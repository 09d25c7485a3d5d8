// Where the hub is, who we are, and where downloads are kept: the same environment variables the
// Python and JS Hugging Face clients read, so a user's existing setup just works.

import { homedir } from 'node:os';
import { join } from 'node:path';

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
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

/** HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE; overrides win. */
export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<HubConfig> = {}): HubConfig {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return {
    endpoint: (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, ''),
    token: env.HF_TOKEN || undefined,
    cacheDir: env.HF_HUB_CACHE || join(home, 'hub'),
    offline: truthy(env.HF_HUB_OFFLINE),
    retry: { ...DEFAULT_RETRY },
    idleTimeoutMs: 60_000,
    ...overrides,
  };
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
