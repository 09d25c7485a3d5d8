// `pipeline exec-stage <invocation.json…>`: execute invocations in this process (a Slurm job, or a
// user re-running one stage by hand). Several invocations of one model share the loaded model.
import { readFile } from 'node:fs/promises';
import { executeInvocation } from '../engine/exec-stage.js';
import type { Invocation } from '../engine/executor.js';
import { KindRegistry } from '../engine/registry.js';
import { progressMark } from '../engine/executors/slurm-script.js';
import { EXIT, type GlobalOpts } from './options.js';

export async function execStageCommand(_g: GlobalOpts, _f: Record<string, unknown>, files: string[]): Promise<number> {
  const registry = new KindRegistry();
  const processCache = new Map<string, unknown>();
  const ac = new AbortController();
  process.on('SIGTERM', () => ac.abort());
  const gpus = (process.env['CUDA_VISIBLE_DEVICES'] ?? '').split(',').filter(Boolean);
  const cpus = Number(process.env['SLURM_CPUS_PER_TASK'] ?? process.env['PIPELINE_CPUS'] ?? 1);
  let failed = 0;
  for (const f of files) {
    const inv = JSON.parse(await readFile(f, 'utf8')) as Invocation;
    try {
      const rec = await executeInvocation(inv, { registry, processCache, signal: ac.signal, onLog: (l) => process.stdout.write(`${l}\n`), onProgress: (p) => process.stdout.write(`${progressMark(inv.instance.id, p)}\n`), executor: process.env['SLURM_JOB_ID'] ? `slurm:${process.env['SLURM_JOB_ID']}` : 'exec-stage', gpus, cpus });
      process.stdout.write(`committed ${rec.stageId} ${rec.key}\n`);
    } catch (e: unknown) {
      failed++;
      process.stderr.write(`stage ${inv.instance.id} failed: ${(e as Error).message}\n`);
    }
  }
  return failed ? EXIT.failed : EXIT.ok;
}
