// GPU detection for the default gpu pool: `nvidia-smi -L` lists one line per device.
export async function detectGpus(): Promise<string[]> {
  if (process.env['CUDA_VISIBLE_DEVICES'] !== undefined) {
    return process.env['CUDA_VISIBLE_DEVICES'].split(',').map((s) => s.trim()).filter(Boolean);
  }
  try {
    const { $ } = await import('zx');
    const out = await $({ quiet: true, nothrow: true, verbose: false })`nvidia-smi -L`;
    if (out.exitCode !== 0) return [];
    return out.stdout.split('\n').filter((l) => /^GPU \d+/.test(l)).map((l) => /^GPU (\d+)/.exec(l)![1]!);
  } catch {
    return [];
  }
}
