// A task's stimuli file: an explicit path, a local mirror `<stimuliDir>/<task>/<file>` (the layout
// of shared/data/stimuli), or a URL pinned by sha256. Resolution is a few stat() calls and no
// network, so plan() stays cheap; the pin is the key of a URL source.

import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { downloadFile } from './download.js';
import { FetchError } from './errors.js';
import { sha256File } from './hash.js';
import { DEFAULT_RETRY, type RetryOptions } from './hub-config.js';

export interface StimuliDecl {
  url?: string;
  sha256?: string;
  path?: string;
  file?: string;
}

export type StimuliSource =
  | { source: 'path' | 'mirror'; path: string; file: string; sha256?: string }
  | { source: 'url'; url: string; sha256: string; file: string };

export interface StimuliResolveOptions {
  projectDir: string;
  stimuliDir?: string;
  offline: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The file name the stimuli are kept under: `file:`, else the last part of the path or URL. */
export function stimuliFileName(task: string, decl: StimuliDecl): string {
  if (decl.file) return decl.file;
  if (decl.path) return basename(decl.path);
  if (decl.url) {
    const name = basename(new URL(decl.url).pathname);
    if (name) return name;
  }
  throw new FetchError('bad-spec', `task ${task}: stimuli need a file:, path: or url: to name the file`);
}

const SHA256_RE = /^[0-9a-f]{64}$/i;

/** Choose the source: explicit path, then the mirror, then the pinned URL. */
export async function resolveStimuliSource(task: string, decl: StimuliDecl, opts: StimuliResolveOptions): Promise<StimuliSource> {
  const file = stimuliFileName(task, decl);
  const pin = decl.sha256?.toLowerCase();
  if (pin !== undefined && !SHA256_RE.test(pin)) {
    throw new FetchError('bad-spec', `task ${task}: stimuli sha256 "${decl.sha256}" is not 64 hex digits`);
  }
  if (decl.path) {
    const path = isAbsolute(decl.path) ? decl.path : resolve(opts.projectDir, decl.path);
    if (!(await isFile(path))) {
      throw new FetchError('file-not-found', `task ${task}: stimuli path ${decl.path} (${path}) is not a file`);
    }
    return { source: 'path', path, file, sha256: pin };
  }
  const tried: string[] = [];
  if (opts.stimuliDir) {
    const path = join(resolve(opts.projectDir, opts.stimuliDir), task, file);
    if (await isFile(path)) return { source: 'mirror', path, file, sha256: pin };
    tried.push(path);
  }
  const where = tried.length > 0 ? `not found at ${tried.join(', ')}` : 'no stimuli mirror is set';
  const howTo = `put it at <dir>/${task}/${file} and pass --stimuli-dir <dir> (or set PIPELINE_STIMULI_DIR), or give the task stimuli.path:`;
  if (!decl.url) {
    throw new FetchError('file-not-found', `task ${task}: stimuli ${file}: ${where} and no url: is declared; ${howTo}`);
  }
  if (!pin) {
    throw new FetchError('bad-spec',
      `task ${task}: stimuli url ${decl.url} has no sha256: pin; add sha256: <hex> (sha256sum of the file) so the download can be verified`);
  }
  if (opts.offline) {
    throw new FetchError('offline-missing', `task ${task}: stimuli ${file}: ${where}, and offline mode forbids downloading ${decl.url}; ${howTo}`);
  }
  return { source: 'url', url: decl.url, sha256: pin, file };
}

/** Check a file against a pinned sha256; the error states both digests. */
export async function verifyPinned(task: string, path: string, pin: string, from: string): Promise<string> {
  const got = await sha256File(path);
  if (got !== pin.toLowerCase()) {
    throw new FetchError('digest-mismatch',
      `task ${task}: stimuli from ${from} do not match the pinned sha256: expected ${pin.toLowerCase()}, got ${got}; `
      + `if the file changed on purpose, update sha256: in the task's stimuli declaration`);
  }
  return got;
}

export interface StimuliFetchOptions {
  retry?: RetryOptions;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
}

/** Put the stimuli at dest: copied from a local source or downloaded to a temp file, verified, renamed. */
export async function fetchStimuli(task: string, src: StimuliSource, dest: string, opts: StimuliFetchOptions = {}): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
  try {
    if (src.source === 'url') {
      await downloadFile({
        url: src.url,
        dest: tmp,
        what: `task ${task}: stimuli ${src.url}`,
        retry: opts.retry ?? DEFAULT_RETRY,
        signal: opts.signal,
        fetchImpl: opts.fetchImpl,
      });
    } else {
      await copyFile(src.path, tmp);
    }
    const sha256 = src.sha256 ? await verifyPinned(task, tmp, src.sha256, src.source === 'url' ? src.url : src.path) : await sha256File(tmp);
    const { size } = await stat(tmp);
    await rename(tmp, dest);
    return { sha256, bytes: size };
  } finally {
    await rm(tmp, { force: true });
    await rm(`${tmp}.part`, { force: true });
  }
}
