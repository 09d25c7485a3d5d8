// GPUs and the CUDA provider: detection for the default gpu pool (`nvidia-smi -L` lists one line
// per device), what `pipeline doctor` reports, and the check a score stage given GPUs makes before
// it loads anything. onnxruntime-node ships its CPU provider only; the CUDA provider libraries are
// a separate download (scripts/install-cuda.sh) that the offline default install skips.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export async function detectGpus(): Promise<string[]> {
  if (process.env['CUDA_VISIBLE_DEVICES'] !== undefined) {
    return process.env['CUDA_VISIBLE_DEVICES'].split(',').map((s) => s.trim()).filter(Boolean);
  }
  const out = await nvidiaSmi(['-L']);
  if (out === null) return [];
  return out.split('\n').filter((l) => /^GPU \d+/.test(l)).map((l) => /^GPU (\d+)/.exec(l)![1]!);
}

/** stdout of nvidia-smi, or null when it is absent or fails. */
async function nvidiaSmi(args: string[]): Promise<string | null> {
  try {
    const { $ } = await import('zx');
    const out = await $({ quiet: true, nothrow: true, verbose: false })`nvidia-smi ${args}`;
    return out.exitCode === 0 ? out.stdout : null;
  } catch {
    return null;
  }
}

export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  driver: string;
}

/** Every GPU nvidia-smi sees, with its memory; [] without nvidia-smi. */
export async function gpuInventory(): Promise<GpuInfo[]> {
  const out = await nvidiaSmi(['--query-gpu=index,name,memory.total,memory.free,driver_version', '--format=csv,noheader,nounits']);
  if (out === null) return [];
  return out
    .split('\n')
    .map((l) => l.split(',').map((s) => s.trim()))
    .filter((f) => f.length >= 5 && /^\d+$/.test(f[0]!))
    .map((f) => ({ index: Number(f[0]), name: f[1]!, memoryTotalMiB: Number(f[2]), memoryFreeMiB: Number(f[3]), driver: f[4]! }));
}

/** The libraries onnxruntime-node 1.30's CUDA provider needs from the install (its own files). */
export const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;

/** The CUDA 12 / cuDNN 9 runtime libraries that provider links against (sonames). */
export const CUDA_RUNTIME_LIBS = ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11', 'libcurand.so.10', 'libcudnn.so.9'] as const;

export const CUDA_FIX =
  'run `npm run install-cuda` (scripts/install-cuda.sh; needs network access to api.nuget.org) on the GPU host; ' +
  'onnxruntime-node 1.30 needs the CUDA 12.x runtime and cuDNN 9.x there (see docs/gpu.md)';

export interface CudaProviderStatus {
  /** onnxruntime-node's binary folder for this platform. */
  binDir: string;
  present: boolean;
  missing: string[];
}

export function cudaProviderStatus(): CudaProviderStatus {
  let root: string;
  try {
    root = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return { binDir: 'node_modules/onnxruntime-node (not installed)', present: false, missing: [...PROVIDER_FILES] };
  }
  const binDir = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
  const missing = PROVIDER_FILES.filter((f) => !existsSync(path.join(binDir, f)));
  return { binDir, present: missing.length === 0, missing };
}

/** The message a stage given GPUs fails with when the provider is missing (null when present). */
export function cudaProviderProblem(): string | null {
  const st = cudaProviderStatus();
  if (st.present) return null;
  return `the CUDA provider of onnxruntime-node is not installed (${st.missing.join(', ')} missing in ${st.binDir}): ${CUDA_FIX}`;
}

/** Which CUDA runtime sonames the dynamic loader finds (ldconfig -p), or null when it cannot tell. */
export async function cudaRuntimeLibs(): Promise<Record<string, boolean> | null> {
  try {
    const { $ } = await import('zx');
    const out = await $({ quiet: true, nothrow: true, verbose: false })`ldconfig -p`;
    if (out.exitCode !== 0) return null;
    const ldPath = (process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean);
    return Object.fromEntries(
      CUDA_RUNTIME_LIBS.map((lib) => [lib, out.stdout.includes(`${lib} `) || ldPath.some((d) => existsSync(path.join(d, lib)))]),
    );
  } catch {
    return null;
  }
}

/**
 * CUDA ordinals of granted GPUs inside this process: positions in CUDA_VISIBLE_DEVICES when it
 * lists them (a worker started with CUDA_VISIBLE_DEVICES=2,3 sees them as 0 and 1), else the ids.
 */
export function deviceOrdinals(gpus: readonly string[]): number[] {
  const visible = (process.env['CUDA_VISIBLE_DEVICES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return gpus.map((g, i) => {
    const at = visible.indexOf(g);
    if (at >= 0) return at;
    const n = Number(g);
    return visible.length === 0 && Number.isInteger(n) ? n : i;
  });
}

let planDetection: Promise<string[]> | undefined;

/**
 * For plan time: the message a stage that asks for GPUs fails with when this host has GPUs but
 * not the CUDA provider (null otherwise; a host without GPUs runs such stages' plans unchanged).
 */
export async function gpuStageProblem(requestedGpus: number): Promise<string | null> {
  if (requestedGpus <= 0) return null;
  const problem = cudaProviderProblem();
  if (!problem) return null;
  planDetection ??= detectGpus();
  return (await planDetection).length > 0 ? problem : null;
}
