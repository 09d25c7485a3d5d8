// The `pipeline` command: options → an engine call → an exit code. It prints; the engine does not.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { reportError } from './errors.js';
import { EXIT, type GlobalOpts } from './options.js';
import { taskDefs } from '../tasks/registry.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function globals(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

type Action = (g: GlobalOpts, opts: Record<string, unknown>, args: string[]) => Promise<number>;

function wrap(load: () => Promise<Action>) {
  return async (...argv: unknown[]): Promise<void> => {
    const cmd = argv[argv.length - 1] as Command;
    const opts = argv[argv.length - 2] as Record<string, unknown>;
    const args = argv.slice(0, -2).flatMap((a) => (Array.isArray(a) ? (a as string[]) : a === undefined ? [] : [String(a)]));
    try {
      const action = await load();
      process.exitCode = await action(globals(cmd), opts, args);
    } catch (e: unknown) {
      process.exitCode = reportError(e);
    }
  };
}

/** "lm-task-demands 0.1.0" from the project's package.json (dist/src/cli → the repository). */
function projectVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    return `${pkg.name ?? 'lm-task-demands'} ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'lm-task-demands (version unknown: package.json not found)';
  }
}

export function program(): Command {
  const p = new Command('pipeline')
    .description('Run language-model evaluation experiments as a content-addressed pipeline (pipeline.yaml).')
    .version(projectVersion(), '-V, --version', 'the version of lm-task-demands')
    .option('-f, --file <pipeline.yaml>', 'the pipeline file', 'pipeline.yaml')
    .option('--set <name=value>', 'override a var of pipeline.yaml (repeatable)', collect, [])
    .option('--models-dir <dir>', 'local model mirror (<dir>/<hub id>/, revisions under revisions/<rev>/); env PIPELINE_MODELS_DIR')
    .option('--stimuli-dir <dir>', 'local stimuli mirror (<dir>/<task>/<file>); env PIPELINE_STIMULI_DIR')
    .option('--offline', 'never use the network; plan from what is local')
    .option('--store <dir>', 'the content-addressed store (default: <project>/cache)')
    .option('--cpus <n>', 'size of the cpu pool (default: cores, or pools.cpu)')
    .option('--gpus <ids>', 'gpu pool as device ids, e.g. 0,1 (default: detected, or pools.gpu); "none" for no GPUs')
    .option('--memory <size>', 'size of the memory pool, e.g. 16GiB')
    .option('--max-stages <n>', 'most stage instances the pipeline may expand to (default 100000)')
    .showHelpAfterError()
    // Commander exits 1 on its own errors; ours are usage errors (exit 2), thrown and mapped in main().
    // Set before the subcommands are added: they inherit it.
    .exitOverride()
    .addHelpText('after', '\nExit codes: 0 ok · 1 a stage failed · 2 bad pipeline file or usage · 3 verify found corrupt objects · 130 interrupted');

  p.command('run')
    .description('run the pipeline: only stale stages execute, and each says why')
    .argument('[targets...]', 'stage ids, id prefixes (score/crt) or id globs (default: all)')
    .option('--only <selector>', 'restrict to a task, condition, model (name or hub id), revision (step100 or model@step100), stage kind, declaration or a glob over these (repeatable), plus what it needs', collect, [])
    .option('--dry-run', 'print what would run and why, run nothing')
    .option('--force', 're-run the selected stages even when fresh')
    .option('--jobs <n>', 'most stages running at once (default: the cpu pool)')
    .option('--keep-going', 'after a failure, still run everything not downstream of it')
    .option('--stage-timeout <duration>', "every stage's wall-clock limit, e.g. 30m, 2h (before pipeline.yaml's timeout: and timeouts:)")
    .addOption(new Option('--executor <name>', 'where stages run').choices(['local', 'slurm']))
    .option('--retries <n>', 'resubmit failed Slurm jobs up to n times')
    .option('--json', 'JSON lines events on stdout')
    .option('-v, --verbose', 'also print up-to-date stages and stage logs')
    .addHelpText('after', `
Globs (picomatch): * and ? never match "/" and ** does: score/* is one level (score/lambada),
score/** everything under score/; a glob in --only also matches tasks, models (hub ids contain a
"/": allenai/*), revisions (step10000*) and model@revision. A selector that matches nothing is an
error (exit 2) naming the closest stages, tasks, models, revisions and kinds.`)
    .action(wrap(async () => (await import('./run.js')).runCommand));

  p.command('status')
    .description('every stage: fresh / stale (with the reason) / failed / waiting (on an upstream) / blocked (cannot be planned); edited materialised files')
    .argument('[targets...]')
    .option('--only <selector>', 'restrict as in run', collect, [])
    .option('--json', 'machine-readable output')
    .action(wrap(async () => (await import('./status.js')).statusCommand));

  p.command('dag')
    .description('the stage graph')
    .argument('[targets...]')
    .option('--only <selector>', 'restrict as in run', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'dot', 'mermaid']).default('text'))
    .action(wrap(async () => (await import('./status.js')).dagCommand));

  p.command('inspect')
    .description('params, inputs and outputs with digests, timings, log and first rows of a stage, digest or materialised path')
    .argument('<what>', 'a stage id, a digest (or its first 8+ hex digits), or a materialised path such as output/lambada/tiny.csv')
    .option('--rows <n>', 'rows of a table output to show', '5')
    .option('--json', 'machine-readable output')
    .action(wrap(async () => (await import('./inspect.js')).inspectCommand));

  p.command('ls')
    .description('cached artifacts of the current pipeline: stage, state, outputs, sizes')
    .option('--json', 'machine-readable output')
    .action(wrap(async () => (await import('./store-commands.js')).lsCommand));

  p.command('gc')
    .description('remove objects and run records no current stage or recent run references')
    .option('--dry-run', 'say what would be removed')
    .option('--keep-runs <n>', 'also keep what the last n runs used', '3')
    .action(wrap(async () => (await import('./store-commands.js')).gcCommand));

  p.command('verify')
    .description('re-hash every stored object; quarantine corrupt ones so the affected stages re-run')
    .option('--json', 'machine-readable output')
    .action(wrap(async () => (await import('./store-commands.js')).verifyCommand));

  p.command('score')
    .description('score one model on one task (with its fetch and config stages), without a pipeline file')
    .requiredOption('--model <hub id | folder>', 'a hub id (EleutherAI/pythia-1b-deduped) or a local model folder')
    .requiredOption('--task <task>', taskDefs().map((t) => t.name).join(', '))
    .option('--condition <condition>', taskDefs().filter((t) => t.conditions.length > 0).map((t) => `${t.conditions.join(', ')} (${t.name})`).join('; '))
    .option('--revision <revision>', 'a branch, tag, commit or step name (default: final weights)')
    .option('--limit <n>', 'score only the first n items')
    .option('--dtype <dtype>', 'fp32 (default), fp16, q8, …')
    .option('--threads <n>', "onnxruntime's intra-op threads (the score stage takes n cpus; default 1)")
    .option('--param <name=value>', 'a score param, e.g. force_greedy=true (repeatable; the global --set does the same here)', collect, [])
    .option('--json', 'print one JSON object: csv, requests, stage, key')
    .addHelpText('after', () => (help.scoreParams ? `\nParams of the score kind (--param name=value; --limit n is limit=n):\n${help.scoreParams}\n` : ''))
    .action(wrap(async () => (await import('./score.js')).scoreCommand));

  p.command('report')
    .description('a static, self-contained site of the results: figures, tables, items, provenance (no server needed)')
    .option('-o, --out <dir>', 'where to write it (default: <project>/report)')
    .option('--open', 'open it in the browser when written')
    .option('--serve', 'serve it on 127.0.0.1 and rebuild when a run finishes')
    .option('--port <n>', 'port for --serve (default: any free port)')
    .option('--compare <revision>', 'compare that revision with the final weights, item by item')
    .action(wrap(async () => (await import('./report.js')).reportCommand));

  p.command('doctor')
    .description('GPUs (nvidia-smi) with free memory, the CUDA provider of onnxruntime-node and its CUDA 12 / cuDNN 9 libraries, R with lme4 and lmerTest, Slurm (sinfo), the hub endpoint, free disk in the store, and the fix for what is missing')
    .option('--json', 'machine-readable output')
    .action(wrap(async () => (await import('./doctor.js')).doctorCommand));

  p.command('exec-stage', { hidden: true })
    .description('execute invocation files (used by workers and Slurm jobs)')
    .argument('<invocation...>')
    .action(wrap(async () => (await import('./exec-stage.js')).execStageCommand));
  return p;
}

/** Help text that needs a kind module: loaded by main() only when help is asked for. */
const help: { scoreParams?: string } = {};

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('score') && argv.some((a) => a === '--help' || a === '-h' || a === 'help')) {
    const [{ scoreParams }, { describeParams }] = await Promise.all([import('../../stages/score.js'), import('../engine/params.js')]);
    help.scoreParams = describeParams(scoreParams).join('\n');
  }
  // `pipeline status | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    await program().parseAsync(argv);
  } catch (e: unknown) {
    if (!(e instanceof CommanderError)) throw e;
    // Commander has printed its message. --help and --version are not errors.
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
}
