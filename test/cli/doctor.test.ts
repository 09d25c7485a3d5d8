// `pipeline doctor` beyond the GPUs: R with lme4 and lmerTest, Slurm, the hub endpoint and the free
// disk of the store, each with the fix when missing — driven through the CLI with a controlled
// environment (a missing Rscript, no sinfo on PATH, a hub port that refuses or answers).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN } from '../engine/rig.js';

interface Report {
  r: { ok: boolean; problem?: string; fix?: string };
  slurm: { ok: boolean; problem?: string };
  hub: { ok: boolean | null; problem?: string; endpoint?: string };
  disk: { ok: boolean; store?: string; freeBytes?: number };
}

/** Runs doctor without blocking this process (it serves the fake hub port). */
function doctor(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args, 'doctor', ...(args.includes('--text') ? [] : ['--json'])].filter((a) => a !== '--text'), { env: { ...process.env, ...env } });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.on('close', (code) => res({ code, stdout }));
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

test('doctor names a missing R, a missing Slurm and an unreachable hub, each with its fix, and still exits 0 without GPUs', async () => {
  const closed = createServer();
  const port = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  const store = join(dir, 'not-yet', 'cache');
  // PATH is an empty folder: no sinfo (node itself is started by its absolute path).
  const env = { RSCRIPT: '/nonexistent/Rscript', PATH: dir, HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_OFFLINE: '', CUDA_VISIBLE_DEVICES: '' };
  const r = await doctor(env, ['--store', store]);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.r.ok, false);
  assert.match(report.r.problem!, /\/nonexistent\/Rscript was not found/);
  assert.match(report.r.fix!, /apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest/);
  assert.equal(report.slurm.ok, false);
  assert.match(report.slurm.problem!, /sinfo not found/);
  assert.equal(report.hub.ok, false);
  assert.match(report.hub.problem!, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  // A store that does not exist yet is measured on the filesystem it will be made on.
  assert.equal(report.disk.store, store);
  assert.ok(report.disk.ok ? report.disk.freeBytes! > 0 : true);
  assert.equal(r.code, 0);
  const text = await doctor(env, ['--store', store, '--text']);
  assert.match(text.stdout, /^R \(statistics stage\): \/nonexistent\/Rscript was not found\n  - install R with lme4 and lmerTest/m);
  assert.match(text.stdout, /^Slurm \(--executor slurm\): sinfo not found \(Slurm is not installed\)$/m);
  assert.match(text.stdout, /^Hub: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\n  - without network, run with --offline/m);
  assert.match(text.stdout, /^Disk: /m);
});

test('doctor says a hub endpoint that answers does, and HF_HUB_OFFLINE is said as such', async () => {
  const open = createServer((s) => s.end());
  const port = await listen(open);
  try {
    const up = JSON.parse((await doctor({ HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_OFFLINE: '' })).stdout) as Report;
    assert.equal(up.hub.ok, true);
    assert.equal(up.hub.endpoint, `http://127.0.0.1:${port}`);
    const off = JSON.parse((await doctor({ HF_HUB_OFFLINE: '1' })).stdout) as Report;
    assert.equal(off.hub.ok, null);
  } finally {
    open.close();
  }
});
