// A fake Hugging Face Hub on 127.0.0.1 for tests: serves model folders (by default
// shared/models/tiny-gpt2 as `test-org/tiny-gpt2`) with each `revisions/<name>` as a branch and the
// folder root as `main`, through the hub's API and resolve endpoints, with Range support and the
// hub's headers; a repo of type 'dataset' is served under the hub's dataset routes. Faults on demand: dropped connections mid-file, HTTP errors, required auth.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** /work/shared, found from this file (dist/test/support/fake-hub.js or test/support/fake-hub.ts). */
export function sharedDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      if (statSync(join(dir, 'package.json')).isFile()) return resolve(dir, '../shared');
    } catch { /* keep climbing */ }
    dir = dirname(dir);
  }
  throw new Error('fake-hub: could not find the repository root above ' + fileURLToPath(import.meta.url));
}

export interface FakeRepo {
  /** Hub id, `org/name`. */
  id: string;
  /** Folder in the transformers.js layout; `revisions/<name>/` become branches. */
  dir: string;
  /** Tags: tag name → branch name it points at. */
  tags?: Record<string, string>;
  /** A dataset repo is served at /api/datasets/<id>/… and /datasets/<id>/resolve/… (default: a model repo). */
  type?: 'model' | 'dataset';
}

export interface FakeHubOptions {
  repos?: FakeRepo[];
  /** Require `Authorization: Bearer <token>` on every request. */
  token?: string;
  /** Status sent without the right token (401 like a gated repo; 403 for "licence not accepted"). */
  authStatus?: 401 | 403;
  /**
   * On the first `count` matching file GETs, send `afterBytes` (default: half the body), then close
   * the connection ('close', the default) or send nothing more and keep it open ('stall').
   */
  drop?: { count: number; afterBytes?: number; match?: (file: string) => boolean; mode?: 'close' | 'stall' };
  /** Answer `status` to the first `count` matching requests. */
  fail?: { count: number; status: number; match?: (path: string) => boolean };
  /** Extra plain files: URL path → file path or content (for stimuli downloads). */
  static?: Record<string, string | Buffer>;
  /** Files at least this large (and all .onnx / .onnx_data files) are LFS files. */
  lfsThreshold?: number;
  /** A hostile hub, for the security tests (each field one attack; the rest behaves as usual). */
  hostile?: HostileOptions;
}

export interface HostileOptions {
  /** The commit every revision answer names; resolve requests for it serve `main`. */
  sha?: string;
  /** Extra listing entries of every revision: name → content, served at the name (or the URL path it normalises to). */
  files?: Record<string, string | Buffer>;
  /** Extra branch names in /refs, pointing at main's commit. */
  branches?: string[];
  /** File GETs (matching `match`, default all) send the listed bytes and then more: `extra` bytes, or without end ('endless'). */
  body?: { mode: 'endless' } | { mode: 'long'; extra: number };
  bodyMatch?: (file: string) => boolean;
  /** Requests whose path matches are accepted and never answered (no headers, no bytes). */
  silent?: (path: string) => boolean;
  /** Resolve GETs answer 302 to `<redirect><same path>` (another host). */
  redirect?: string;
}

export interface FakeHubRequest {
  method: string;
  /** URL path with query. */
  url: string;
  /** Repo file for resolve requests. */
  file?: string;
  range?: string;
  authorization?: string;
  status: number;
  /** Body bytes actually sent (less than the length on a dropped connection). */
  sent: number;
}

export interface FakeHub {
  url: string;
  requests: FakeHubRequest[];
  /** The fake commit sha of a branch (`main` or a revision name). */
  commit(id: string, branch: string): string;
  close(): Promise<void>;
}

interface FileMeta {
  abs: string;
  size: number;
  sha256: string;
  blobId: string;
  lfs: boolean;
}

interface Branch {
  name: string;
  commit: string;
  folder: string;
}

function walk(folder: string, root = folder, out: string[] = []): string[] {
  for (const e of readdirSync(folder, { withFileTypes: true })) {
    const full = join(folder, e.name);
    const rel = relative(root, full).split(sep).join('/');
    if (e.isDirectory()) {
      if (rel !== 'revisions') walk(full, root, out);
    } else out.push(rel);
  }
  return out.sort();
}

export function fakeCommit(id: string, branch: string): string {
  return createHash('sha1').update(`fake-hub:${id}@${branch}`).digest('hex');
}

export async function startFakeHub(opts: FakeHubOptions = {}): Promise<FakeHub> {
  const repos = opts.repos ?? [{ id: 'test-org/tiny-gpt2', dir: join(sharedDir(), 'models', 'tiny-gpt2') }];
  const lfsThreshold = opts.lfsThreshold ?? 1_000_000;
  const requests: FakeHubRequest[] = [];
  const metaCache = new Map<string, FileMeta>();
  let drops = opts.drop?.count ?? 0;
  let fails = opts.fail?.count ?? 0;

  const branchesOf = (repo: FakeRepo): Branch[] => {
    const out: Branch[] = [{ name: 'main', commit: fakeCommit(repo.id, 'main'), folder: repo.dir }];
    for (const name of opts.hostile?.branches ?? []) out.push({ name, commit: fakeCommit(repo.id, 'main'), folder: repo.dir });
    let names: string[] = [];
    try {
      names = readdirSync(join(repo.dir, 'revisions')).sort();
    } catch { /* no revisions */ }
    for (const name of names) out.push({ name, commit: fakeCommit(repo.id, name), folder: join(repo.dir, 'revisions', name) });
    return out;
  };

  const meta = (abs: string, rel: string): FileMeta => {
    let m = metaCache.get(abs);
    if (!m) {
      const data = readFileSync(abs);
      m = {
        abs,
        size: data.length,
        sha256: createHash('sha256').update(data).digest('hex'),
        blobId: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
        lfs: data.length >= lfsThreshold || /\.onnx(_data.*)?$/.test(rel),
      };
      metaCache.set(abs, m);
    }
    return m;
  };

  /** Branch name, tag name or full commit → branch. */
  const findRev = (repo: FakeRepo, rev: string): Branch | undefined => {
    const branches = branchesOf(repo);
    const tagTarget = repo.tags?.[rev];
    return branches.find((b) => b.name === rev) ?? branches.find((b) => b.name === tagTarget) ?? branches.find((b) => b.commit === rev)
      ?? (hostile.sha !== undefined && rev === hostile.sha ? branches[0] : undefined);
  };

  const json = (res: ServerResponse, status: number, body: unknown, errorCode?: string): number => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (errorCode) headers['x-error-code'] = errorCode;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
    return status;
  };

  const hostile = opts.hostile ?? {};
  const hostileFiles = Object.entries(hostile.files ?? {}).map(([name, c]) => ({ name, data: typeof c === 'string' ? Buffer.from(c) : c }));
  const blobMeta = (data: Buffer): { size: number; blobId: string; sha256: string } => ({
    size: data.length,
    blobId: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
  });

  const info = (repo: FakeRepo, b: Branch, blobs: boolean): unknown => ({
    id: repo.id,
    modelId: repo.id,
    sha: hostile.sha ?? b.commit,
    siblings: [...walk(b.folder).map((f) => {
      if (!blobs) return { rfilename: f };
      const m = meta(join(b.folder, f), f);
      return { rfilename: f, size: m.size, blobId: m.blobId, ...(m.lfs ? { lfs: { sha256: m.sha256, size: m.size, pointerSize: 134 } } : {}) };
    }), ...hostileFiles.map(({ name, data }) => {
      const m = blobMeta(data);
      return blobs ? { rfilename: name, size: m.size, blobId: m.blobId } : { rfilename: name };
    })],
  });

  /** Send a file's bytes, honouring Range; may drop the connection. Returns [status, bytes sent]. */
  const sendBytes = (req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>, droppable: boolean): [number, number] => {
    const range = req.headers.range;
    let start = 0;
    let end = data.length - 1;
    let status = 200;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m?.[1] || Number(m[1]) >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return [416, 0];
      }
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${data.length}`;
    }
    const body = data.subarray(start, end + 1);
    res.writeHead(status, { ...headers, 'accept-ranges': 'bytes', 'content-length': String(body.length) });
    if (req.method === 'HEAD') {
      res.end();
      return [status, 0];
    }
    if (droppable && drops > 0) {
      drops--;
      const cut = Math.min(body.length - 1, opts.drop?.afterBytes ?? Math.floor(body.length / 2));
      // A graceful FIN after the bytes (not a reset), so the client surely receives exactly `cut` bytes.
      if (opts.drop?.mode === 'stall') res.write(body.subarray(0, cut));
      else res.write(body.subarray(0, cut), () => res.socket?.end());
      return [status, cut];
    }
    res.end(body);
    return [status, body.length];
  };

  /** The file, then more bytes than it has (chunked, no length): a hub that lies about a size. */
  const sendTooMuch = (res: ServerResponse, data: Buffer, body: NonNullable<HostileOptions['body']>): [number, number] => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(data);
    let sent = data.length;
    if (body.mode === 'long') {
      res.end(Buffer.alloc(body.extra, 0x41));
      return [200, sent + body.extra];
    }
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = (): void => {
      // Write until the socket pushes back or the client goes away; never end.
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
    return [200, sent];
  };

  const handle = (req: IncomingMessage, res: ServerResponse): FakeHubRequest => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: FakeHubRequest = {
      method: req.method ?? 'GET', url: url.pathname + url.search, range: req.headers.range,
      authorization: req.headers.authorization, status: 0, sent: 0,
    };
    if (hostile.silent?.(url.pathname)) {
      rec.status = -1; // accepted, never answered: the client's timeouts must end it
      return rec;
    }
    if (fails > 0 && (opts.fail?.match?.(url.pathname) ?? true)) {
      fails--;
      rec.status = json(res, opts.fail?.status ?? 500, { error: 'injected failure' });
      return rec;
    }
    const stat = opts.static?.[url.pathname];
    if (stat !== undefined) {
      const data = typeof stat === 'string' ? readFileSync(stat) : stat;
      [rec.status, rec.sent] = sendBytes(req, res, data, { 'content-type': 'application/octet-stream' }, false);
      return rec;
    }
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      rec.status = json(res, opts.authStatus ?? 401,
        { error: 'Access to this model is restricted. You must have access to it and be authenticated to access it.' }, 'GatedRepo');
      return rec;
    }
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/(models|datasets)\/(.+?)(?:\/(revision|refs)(?:\/(.+))?)?$/.exec(url.pathname);
    if (api?.[2]) {
      const id = decodeURIComponent(api[2]);
      const type = api[1] === 'datasets' ? 'dataset' : 'model';
      const repo = repos.find((r) => r.id === id && (r.type ?? 'model') === type);
      if (!repo) {
        rec.status = json(res, 401, { error: 'Repository not found' }, 'RepoNotFound');
        return rec;
      }
      if (api[3] === 'refs') {
        const branches = branchesOf(repo);
        rec.status = json(res, 200, {
          branches: branches.map((b) => ({ name: b.name, ref: `refs/heads/${b.name}`, targetCommit: b.commit })),
          tags: Object.entries(repo.tags ?? {}).map(([name, br]) => ({
            name, ref: `refs/tags/${name}`, targetCommit: branches.find((b) => b.name === br)?.commit ?? '',
          })),
          converts: [],
        });
        return rec;
      }
      const rev = api[3] === 'revision' ? decodeURIComponent(api[4] ?? '') : 'main';
      const b = findRev(repo, rev);
      rec.status = b
        ? json(res, 200, info(repo, b, url.searchParams.get('blobs') === 'true'))
        : json(res, 404, { error: `Invalid rev id: ${rev}` }, 'RevisionNotFound');
      return rec;
    }
    const prefixOf = (r: FakeRepo): string => `${r.type === 'dataset' ? '/datasets' : ''}/${r.id}/resolve/`;
    const repo = repos.find((r) => url.pathname.startsWith(prefixOf(r)));
    if (repo) {
      const rest = url.pathname.slice(prefixOf(repo).length);
      const slash = rest.indexOf('/');
      const rev = decodeURIComponent(rest.slice(0, slash));
      const file = rest.slice(slash + 1).split('/').map(decodeURIComponent).join('/');
      rec.file = file;
      const b = findRev(repo, rev);
      if (!b) {
        rec.status = json(res, 404, { error: `Invalid rev id: ${rev}` }, 'RevisionNotFound');
        return rec;
      }
      if (hostile.redirect) {
        res.writeHead(302, { location: `${hostile.redirect}${url.pathname}` });
        res.end();
        rec.status = 302;
        return rec;
      }
      const evil = hostileFiles.find(({ name }) => name === file);
      if (evil) {
        [rec.status, rec.sent] = sendBytes(req, res, evil.data, { 'content-type': 'application/octet-stream' }, false);
        return rec;
      }
      const abs = join(b.folder, ...file.split('/'));
      if (file.startsWith('revisions/') || file.includes('..') || !walk(b.folder).includes(file)) {
        rec.status = json(res, 404, { error: 'Entry not found' }, 'EntryNotFound');
        return rec;
      }
      const m = meta(abs, file);
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'x-repo-commit': b.commit,
        etag: `"${m.lfs ? m.sha256 : m.blobId}"`,
      };
      if (m.lfs) {
        headers['x-linked-size'] = String(m.size);
        headers['x-linked-etag'] = `"${m.sha256}"`;
      }
      if (hostile.body && (hostile.bodyMatch?.(file) ?? true)) {
        [rec.status, rec.sent] = sendTooMuch(res, readFileSync(abs), hostile.body);
        return rec;
      }
      const droppable = opts.drop !== undefined && (opts.drop.match?.(file) ?? m.size > 65_536);
      [rec.status, rec.sent] = sendBytes(req, res, readFileSync(abs), headers, droppable);
      return rec;
    }
    // A hostile listing name with `..` reaches us as the URL path the client normalised it to.
    for (const r of repos) {
      for (const b of branchesOf(r)) {
        const evil = hostileFiles.find(({ name }) => [b.commit, hostile.sha ?? b.commit].some((c) =>
          new URL(prefixOf(r) + encodeURIComponent(c) + '/' + name.split('/').map(encodeURIComponent).join('/'), 'http://h').pathname === url.pathname));
        if (evil) {
          rec.file = evil.name;
          [rec.status, rec.sent] = sendBytes(req, res, evil.data, { 'content-type': 'application/octet-stream' }, false);
          return rec;
        }
      }
    }
    rec.status = json(res, 404, { error: `no route for ${path}` });
    return rec;
  };

  const server = createServer((req, res) => {
    try {
      requests.push(handle(req, res));
    } catch (err) {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '', status: 500, sent: 0 });
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    commit: fakeCommit,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/** Files a PyTorch-layout repo on the real hub often holds beside what conversion needs. */
export const CHECKPOINT_DECOYS: Readonly<Record<string, string>> = {
  'flax_model.msgpack': 'flax weights (decoy)',
  'tf_model.h5': 'tensorflow weights (decoy)',
  'model.gguf': 'gguf weights (decoy)',
  'model.onnx': 'an optimum export at the top level (decoy)',
  'onnx/decoder_model_merged.onnx': 'a non-transformers.js ONNX variant (decoy)',
  'pytorch_model.bin': 'a .bin beside safetensors (decoy: safetensors win)',
  'README.md': '# model card (decoy)',
};

/**
 * A hub-layout PyTorch repo under `dir`: `base` (an hf-tiny folder with model.safetensors) as
 * `main`, plus `revisions/<name>` copies whose float weights are perturbed by `scale` × a seeded
 * pseudo-random draw (so each revision scores differently), and optional decoy files everywhere.
 */
export async function writePytorchRepo(dir: string, base: string, revisions: readonly string[], opts: { scale?: number; decoys?: boolean } = {}): Promise<void> {
  const { mkdirSync, copyFileSync, writeFileSync } = await import('node:fs');
  const { openCheckpoint } = await import('../../src/convert/checkpoint.js');
  const { writeSafetensors } = await import('../../src/convert/readers/safetensors-write.js');
  const folders = [{ folder: dir, seed: 0 }, ...revisions.map((r, i) => ({ folder: join(dir, 'revisions', r), seed: i + 1 }))];
  for (const { folder, seed } of folders) {
    mkdirSync(folder, { recursive: true });
    for (const f of readdirSync(base)) if (f !== 'model.safetensors') copyFileSync(join(base, f), join(folder, f));
    const r = await openCheckpoint(base);
    const tensors = [];
    let state = seed * 2654435761 + 1;
    const rand = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648 - 0.5;
    };
    for (const t of r.list()) {
      const data = await r.readF32(t.name);
      if (seed > 0) for (let i = 0; i < data.length; i++) data[i]! += (opts.scale ?? 0.05) * rand();
      tensors.push({ name: t.name, dtype: 'F32' as const, shape: t.shape, data });
    }
    await r.close();
    await writeSafetensors(join(folder, 'model.safetensors'), tensors);
    if (opts.decoys) {
      for (const [f, text] of Object.entries(CHECKPOINT_DECOYS)) {
        mkdirSync(dirname(join(folder, f)), { recursive: true });
        writeFileSync(join(folder, f), text);
      }
    }
  }
}

/**
 * A hub-layout repo of tiny GPT-2 checkpoints (src/tinymodel: random weights, the real GPT-2
 * tokenizer) of any size: `main` in `dir`, each revision under `revisions/<name>` with its own seed,
 * so every revision's weights (and digest) differ (`main: false`: no weights on main). About
 * 4·(50257 + nPositions)·nEmbd bytes of embeddings plus 48·nEmbd² per layer.
 */
export async function writeTinyCheckpointRepo(dir: string, revisions: readonly string[], sizes: { nEmbd: number; nLayer: number; nHead: number; nPositions?: number },
  opts: { main?: boolean } = {}): Promise<void> {
  const { buildTinyCheckpoint } = await import('../../src/tinymodel/checkpoint.js');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const folders = [...(opts.main === false ? [] : [{ folder: dir, seed: 1 }]), ...revisions.map((r, i) => ({ folder: join(dir, 'revisions', r), seed: i + 2 }))];
  for (const { folder, seed } of folders) await buildTinyCheckpoint(folder, { seed, ...sizes });
}
