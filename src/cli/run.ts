// `pipeline run`: pick a reporter (listr2 in a terminal, lines otherwise, JSON with --json), wire
// Ctrl-C to a clean stop, and turn the summary into an exit code.
import { Engine } from '../engine/engine.js';
import { parseDuration, type Duration } from '../engine/spec-types.js';
import type { Reporter } from '../engine/events.js';
import { engineOptions, EXIT, positiveInt, UsageError, type GlobalOpts } from './options.js';
import { jsonReporter } from './reporters/json.js';
import { lineReporter } from './reporters/lines.js';
import { lineWriter } from './line-out.js';

interface RunFlags {
  only: string[];
  dryRun?: boolean;
  force?: boolean;
  jobs?: string;
  keepGoing?: boolean;
  stageTimeout?: string;
  executor?: 'local' | 'slurm';
  retries?: string;
  json?: boolean;
  verbose?: boolean;
}

function duration(v: string, flag: string): Duration {
  try {
    return parseDuration(v);
  } catch (e: unknown) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

export async function runCommand(g: GlobalOpts, f: Record<string, unknown>, targets: string[]): Promise<number> {
  const flags = f as unknown as RunFlags;
  const out = lineWriter();
  const opts = engineOptions(g);
  const stageTimeout = flags.stageTimeout !== undefined ? duration(flags.stageTimeout, '--stage-timeout') : undefined;
  if (flags.jobs) opts.jobs = positiveInt(flags.jobs, '--jobs');
  if (flags.executor) opts.executor = flags.executor;
  let forward: Reporter = () => undefined;
  opts.reporter = (e) => forward(e);
  const engine = await Engine.open(opts);
  if (flags.retries !== undefined) {
    const n = Number(flags.retries);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--retries expects a whole number ≥ 0, got "${flags.retries}"`);
    engine.spec.executor.retries = n;
  }
  const selection = { targets, only: flags.only };
  let done: Promise<void> = Promise.resolve();
  if (flags.json || g.json) forward = jsonReporter(out);
  else if (process.stdout.isTTY && !process.env['CI'] && !flags.verbose) {
    const { listrReporter } = await import('./reporters/listr.js');
    const kinds = new Map(engine.selection(selection).map((i) => [i.id, i.kind] as const));
    const l = await listrReporter(kinds, out);
    forward = l.reporter;
    done = l.done;
  } else forward = lineReporter(out, { verbose: !!flags.verbose });

  const ac = new AbortController();
  const onSig = (): void => {
    if (ac.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupt: stopping running stages (Ctrl-C again to quit at once)…\n');
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const runOpts: Parameters<Engine['run']>[0] = { ...selection, signal: ac.signal };
    if (flags.dryRun) runOpts.dryRun = true;
    if (flags.force) runOpts.force = true;
    if (flags.keepGoing) runOpts.keepGoing = true;
    if (stageTimeout) runOpts.stageTimeout = stageTimeout;
    const summary = await engine.run(runOpts);
    await done;
    if (summary.interrupted) return EXIT.interrupted;
    // A blocked stage (a plan that cannot be made) fails a run and a dry run alike: what was asked
    // cannot all be done. `status` only reports, and exits 0.
    return summary.failed + summary.blocked > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
