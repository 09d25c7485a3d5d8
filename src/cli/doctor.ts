// `pipeline doctor`: can this host run the pipeline? GPUs (nvidia-smi) with free memory, the CUDA
// provider of onnxruntime-node, the CUDA 12 / cuDNN 9 libraries it loads; R with lme4 and lmerTest,
// Slurm, the hub endpoint, free disk in the store (host-checks.ts); and the exact fix for whatever
// is missing. Exit 0 when the host is ready for GPUs or has none; 1 when it has GPUs but cannot
// use them (the other checks are reported: a host may well do without R or Slurm).
import { dirname, join, resolve } from 'node:path';
import { cudaProviderStatus, cudaRuntimeLibs, CUDA_FIX, gpuInventory } from '../engine/gpus.js';
import { gib, hostChecks, type Check } from './host-checks.js';
import { EXIT, type GlobalOpts } from './options.js';

export async function doctorCommand(g: GlobalOpts, f: Record<string, unknown>): Promise<number> {
  const store = g.store ? resolve(g.store) : join(dirname(resolve(g.file)), 'cache');
  const [gpus, host] = await Promise.all([gpuInventory(), hostChecks(store)]);
  const provider = cudaProviderStatus();
  const libs = await cudaRuntimeLibs();
  const missingLibs = libs ? Object.entries(libs).filter(([, ok]) => !ok).map(([l]) => l) : [];
  const fixes: string[] = [];
  if (gpus.length > 0 && !provider.present) fixes.push(CUDA_FIX);
  if (gpus.length > 0 && missingLibs.length > 0) {
    fixes.push(
      `install the CUDA 12.x runtime and cuDNN 9.x so the loader finds ${missingLibs.join(', ')} ` +
        '(NVIDIA\'s apt repository: cuda-libraries-12-x and libcudnn9-cuda-12; or add their folders to LD_LIBRARY_PATH)',
    );
  }
  const visible = process.env['CUDA_VISIBLE_DEVICES'];
  const report = {
    gpus,
    cudaVisibleDevices: visible ?? null,
    cudaProvider: provider,
    cudaRuntimeLibs: libs,
    ready: gpus.length > 0 && fixes.length === 0,
    fixes,
    ...host,
  };
  if (f['json'] || g.json) {
    process.stdout.write(JSON.stringify(report, null, 1) + '\n');
  } else {
    const w = (s: string): boolean => process.stdout.write(s + '\n');
    if (gpus.length === 0) w('GPUs: none found (nvidia-smi absent or lists none); scoring runs on the CPU');
    else {
      w(`GPUs: ${gpus.length}`);
      for (const d of gpus) w(`  GPU ${d.index}: ${d.name}, ${d.memoryFreeMiB} MiB free of ${d.memoryTotalMiB} MiB (driver ${d.driver})`);
    }
    if (visible !== undefined) w(`CUDA_VISIBLE_DEVICES=${visible}`);
    w(`CUDA provider (onnxruntime-node): ${provider.present ? 'installed' : `missing ${provider.missing.join(', ')}`} in ${provider.binDir}`);
    if (libs === null) w('CUDA 12 / cuDNN 9 libraries: cannot tell (no ldconfig)');
    else w(`CUDA 12 / cuDNN 9 libraries: ${missingLibs.length === 0 ? 'all found' : `missing ${missingLibs.join(', ')}`}`);
    if (fixes.length > 0) {
      w('To score on these GPUs:');
      for (const fix of fixes) w(`  - ${fix}`);
    } else if (gpus.length > 0) w('Ready: score stages given GPUs run on CUDA.');
    else if (!provider.present) w(`On a GPU host: ${CUDA_FIX}`);
    const line = <T>(what: string, c: Check<T>, ok: (c: T) => string): void => {
      w(c.ok ? `${what}: ${ok(c)}` : `${what}: ${c.problem}\n  - ${c.fix}`);
    };
    line('R (statistics stage)', host.r, (c) => `R ${c.r}, lme4 ${c.packages['lme4']}, lmerTest ${c.packages['lmerTest']} (${c.rscript}; BLAS ${c.blas})`);
    line('Slurm (--executor slurm)', host.slurm, (c) => `${c.partitions.length} partition${c.partitions.length === 1 ? '' : 's'}: ${c.partitions.join('; ')}`);
    if (host.hub.ok === null) w(`Hub: ${host.hub.note}`);
    else line('Hub', host.hub, (c) => `${c.endpoint} answers (${c.ms} ms)`);
    line('Disk', host.disk, (c) => `${gib(c.freeBytes)} free of ${gib(c.totalBytes)} where the store is (${c.store})`);
  }
  return gpus.length > 0 && fixes.length > 0 ? EXIT.failed : EXIT.ok;
}
