// `pipeline report`: write the static report site (or serve it, rebuilding after each run).
import { spawn } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from '../engine/engine.js';
import { buildReport, serveReport } from '../report/server.js';
import { engineOptions, EXIT, positiveInt, UsageError, type GlobalOpts } from './options.js';

export async function reportCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  if (f['port'] !== undefined && !f['serve']) throw new UsageError('--port goes with --serve');
  const opts = engineOptions(g);
  const probe = await Engine.open(opts);
  const out = resolve(typeof f['out'] === 'string' ? f['out'] : join(probe.spec.projectDir, 'report'));
  const compare = typeof f['compare'] === 'string' ? f['compare'] : undefined;
  if (f['serve']) {
    const port = f['port'] === undefined ? 0 : positiveInt(String(f['port']), '--port');
    const srv = await serveReport({ engine: opts, out, ...(compare ? { compare } : {}), port, log: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`report at ${srv.url} (rebuilt when a run finishes; Ctrl-C to stop)\n`);
    await new Promise<void>((res) => process.once('SIGINT', () => { srv.close(); res(); }));
    return EXIT.ok;
  }
  const r = await buildReport(opts, out, compare);
  const index = join(out, 'index.html');
  process.stdout.write(`report: ${relative(process.cwd(), index) || index} (${r.stages} stages, ${r.itemSets} score stages, ${r.items} items, built in ${(r.ms / 1000).toFixed(1)} s)\n`);
  if (f['open']) openInBrowser(pathToFileURL(index).href);
  return EXIT.ok;
}

function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  // The URL is one argument, never shell text.
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`could not start ${cmd}; open ${url} in a browser\n`));
  child.unref();
}
