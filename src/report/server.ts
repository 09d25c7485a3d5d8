// Build the report, and serve it on 127.0.0.1, rebuilding when a run finishes (the scheduler
// writes one file into the store's history/ at the end of every run).
import { existsSync, mkdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { collectReport } from './collect.js';
import { writeSite, type WriteResult } from './site.js';

export async function buildReport(opts: EngineOptions, out: string, compare?: string): Promise<WriteResult & { ms: number }> {
  const t0 = Date.now();
  const engine = await Engine.open(opts);
  const c = await collectReport(engine, compare ? { compare } : {});
  const r = await writeSite(c, out);
  return { ...r, ms: Date.now() - t0 };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png' };

export interface Served {
  url: string;
  server: Server;
  /** Resolves after the next rebuild (tests wait on it instead of sleeping). */
  nextBuild(): Promise<WriteResult>;
  close(): void;
}

export async function serveReport(o: { engine: EngineOptions; out: string; compare?: string; port: number; log: (m: string) => void }): Promise<Served> {
  await buildReport(o.engine, o.out, o.compare);
  const server = createServer((req, res) => {
    let path: string;
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '') || 'index.html';
      path = join(o.out, rel);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request');
      return;
    }
    // Only files inside the report folder.
    if (!(path === o.out || path.startsWith(o.out + sep)) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(readFileSync(path));
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port, '127.0.0.1', () => res());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  // The history folder holds one file per finished run; its store root is the engine's.
  const probe = await Engine.open(o.engine);
  const history = probe.store.dir('history');
  mkdirSync(history, { recursive: true });
  let waiters: ((r: WriteResult) => void)[] = [];
  let building = false;
  let again = false;
  const rebuild = async (): Promise<void> => {
    if (building) { again = true; return; }
    building = true;
    try {
      const r = await buildReport(o.engine, o.out, o.compare);
      o.log(`report rebuilt after a run (${(r.ms / 1000).toFixed(1)} s)`);
      const w = waiters;
      waiters = [];
      for (const f of w) f(r);
    } catch (e) {
      o.log(`report rebuild failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      building = false;
      if (again) { again = false; void rebuild(); }
    }
  };
  const watcher: FSWatcher = watch(history, () => void rebuild());
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    nextBuild: () => new Promise((res) => waiters.push(res)),
    close: () => { watcher.close(); server.close(); },
  };
}
