// bench/gpu.sh --dry-run: what the GPU run needs is checked here, without a GPU — every carried
// file against its checksum, every command, and the carried benchmark itself on the CPU.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'gpu-dry-'));
after(() => rmSync(work, { recursive: true, force: true }));

function gpuSh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('bash', [path.join(repoRoot, 'bench', 'gpu.sh'), ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test('without a prepared carry folder the dry run stops and says how to make one', async () => {
  const r = await gpuSh(['--dry-run', path.join(work, 'out1')], { GPU_CARRY: path.join(work, 'none') });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /none\/MANIFEST\.sha256 is missing: run `bash bench\/gpu-prepare\.sh`/);
});

test('a carried file that differs from its checksum, or one the manifest does not list, fails the dry run', async () => {
  const carry = path.join(work, 'carry');
  mkdirSync(path.join(carry, 'bin'), { recursive: true });
  writeFileSync(path.join(carry, 'bin', 'node'), 'changed\n');
  writeFileSync(path.join(carry, 'extra'), 'x\n');
  writeFileSync(path.join(carry, 'MANIFEST.sha256'), `${'0'.repeat(64)}  ./bin/node\n`);
  const r = await gpuSh(['--dry-run', path.join(work, 'out2')], { GPU_CARRY: carry });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bin\/node: FAILED/);
  assert.match(r.stderr, /differ from MANIFEST\.sha256/);
  assert.match(r.stderr, /holds 2 files but MANIFEST\.sha256 lists 1/);
  assert.match(r.stderr, /MISSING: .*libonnxruntime_providers_cuda\.so/);
  assert.match(r.stderr, /nothing was run/);
});

const prepared = existsSync(path.join(repoRoot, '.gpu-carry', 'MANIFEST.sha256'));
test('the prepared .gpu-carry passes the dry run: checksums, commands, the carried benchmark on the CPU', { skip: prepared ? false : '.gpu-carry is not prepared here (bash bench/gpu-prepare.sh needs the npm registry)', timeout: 600_000 }, async () => {
  const out = path.join(work, 'out3');
  const r = await gpuSh(['--dry-run', out]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /checksums ok/);
  assert.match(r.stdout, /dry run passed/);
  assert.ok(existsSync(path.join(out, 'gpu-bench-dry.md')));
});
