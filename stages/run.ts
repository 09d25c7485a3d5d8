// `run:` stages — the escape hatch (like a DVC cmd stage): a shell command run by `bash -c` in the
// project folder (values of `${name}` reach it as data: src/engine/command-values.ts), its declared
// deps hashed into the key and its declared outs captured into the store.
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { OutputDecl, PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { describePathProblem, inputProblem, lexicalProblem, symlinkProblem } from '../src/engine/project-paths.js';
import { viewInputs } from '../src/engine/input-paths.js';

interface RunParams {
  cmd: string;
  deps: string[];
  outs: string[];
  /** Values of `${name}`s the command reads as environment variables (src/engine/command-values.ts). */
  env?: Record<string, string>;
}

function params(ctx: PlanContext): RunParams {
  return ctx.instance.params as unknown as RunParams;
}

function abs(ctx: PlanContext, p: string): string {
  return isAbsolute(p) ? p : join(ctx.spec.projectDir, p);
}

/** The output's name in the stage is its path; a trailing slash or an existing folder makes it a folder. */
function outputDecls(ctx: PlanContext): OutputDecl[] {
  return params(ctx).outs.map((o) => {
    const name = o.replace(/^\.\//, '').replace(/\/+$/, '');
    let type: 'file' | 'dir' = o.endsWith('/') ? 'dir' : 'file';
    try {
      if (statSync(abs(ctx, name)).isDirectory()) type = 'dir';
    } catch {
      /* not there yet */
    }
    return { name, type, materialize: name };
  });
}

const kind: StageKind = {
  name: 'run',
  description: 'a shell command with declared deps and outs (run by bash -c in the project folder)',
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs: outputDecls,
  async plan(ctx) {
    const deps: Record<string, string> = {};
    for (const d of params(ctx).deps) {
      const problem = lexicalProblem(d, ctx.spec.projectDir, 'dep') ?? symlinkProblem(d, ctx.spec.projectDir);
      if (problem) throw new Error(`stage ${ctx.instance.id}: ${describePathProblem(problem, 'dep', d)}`);
      try {
        deps[d] = (await ctx.digest(abs(ctx, d))).digest;
      } catch {
        throw new Error(`stage ${ctx.instance.id}: its dependency ${d} does not exist (create it, or make the stage that writes it an upstream stage)`);
      }
    }
    return { deps };
  },
  async execute(ctx: StageContext) {
    if (ctx.signal.aborted) throw new Error('interrupted');
    const { cmd, env: values } = params(ctx);
    const outs = outputDecls(ctx);
    // Expansion already refused these; the file system may have changed since (a new symlink), and
    // nothing outside the project is ever deleted.
    const inputs = viewInputs(ctx.spec);
    for (const o of outs) {
      const real = existsSync(abs(ctx, o.name)) ? realpathSync(abs(ctx, o.name)) : abs(ctx, o.name);
      const problem =
        lexicalProblem(o.name, ctx.spec.projectDir, 'out') ??
        symlinkProblem(o.name, ctx.spec.projectDir) ??
        inputProblem(o.name, ctx.spec.projectDir, inputs, ctx.instance.id) ??
        inputProblem(real, ctx.spec.projectDir, inputs, ctx.instance.id);
      if (problem) throw new Error(`stage ${ctx.instance.id}: ${describePathProblem(problem, 'out', o.name)}; nothing was deleted`);
    }
    // Forget before running: stale outputs must not be mistaken for this run's.
    for (const o of outs) rmSync(abs(ctx, o.name), { recursive: true, force: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...(values ?? {}), PIPELINE_STAGE_ID: ctx.instance.id };
    if (ctx.gpus.length) env['CUDA_VISIBLE_DEVICES'] = ctx.gpus.join(',');
    // Run in a small helper process (src/run/spawner.ts): spawning from the engine's
    // own, much larger process blocks its main thread for each command.
    const { spawnerFor } = await import('../src/run/spawner.js');
    const out = await spawnerFor(ctx.processCache).run(cmd, ctx.spec.projectDir, env, ctx.signal, (l) => ctx.log(l));
    if (ctx.signal.aborted) throw new Error('interrupted');
    if (out.code !== 0) {
      throw new Error(`command exited with code ${out.code ?? out.signal}: ${cmd}${out.stderr ? `\n${out.stderr}` : ''}`);
    }
    for (const o of outs) {
      const src = abs(ctx, o.name);
      try {
        statSync(src);
      } catch {
        throw new Error(`the command finished but did not write its declared output ${o.name}`);
      }
      // The engine stores it straight from the working tree (the copy there is the materialised one).
      if (ctx.provide) {
        ctx.provide(o.name, src);
        continue;
      }
      const dst = join(ctx.outDir, o.name);
      if (o.name.includes('/')) mkdirSync(dirname(dst), { recursive: true });
      if (o.type === 'file') copyFileSync(src, dst);
      else await fs.cp(src, dst, { recursive: true });
    }
  },
};

export default kind;
