// bench/gpu.sh and bench/gpu-pack.sh without a GPU: a tiny fake payload packed into parts, checked
// by the dry run (every part, the working tree + part size per call, every unpacked file, the
// commands, the carried benchmark), carried part by part through --receive, and reassembled by
// the run; and the failure paths. The real payload's dry run runs where .gpu-carry is prepared.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'gpu-dry-'));
after(() => rmSync(work, { recursive: true, force: true }));

type Res = { code: number; stdout: string; stderr: string };
function sh(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Res> {
  return new Promise((resolve) =>
    execFile('bash', [path.join(repoRoot, 'bench', script), ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
const gpuSh = (args: string[], env: NodeJS.ProcessEnv = {}) => sh('gpu.sh', args, env);

const ORTBIN = 'project/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

/** A payload with the layout gpu.sh checks; its "benchmark" writes the report it is asked for. */
function fakePayload(dir: string): void {
  const put = (rel: string, text: string | Buffer) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  put('bin/node', `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
  chmodSync(path.join(dir, 'bin/node'), 0o755);
  put('project/bin/pipeline.js', '// fake\n');
  put(
    'project/dist/bench/gpu-bench.js',
    `const a = process.argv; const arg = (n) => a[a.indexOf('--' + n) + 1];
if (arg('device') !== 'cpu' || arg('shape') !== 'mini') { console.error('unexpected args ' + a.slice(2).join(' ')); process.exit(3); }
require('fs').writeFileSync(arg('out'), 'fake benchmark ran\\n');\n`,
  );
  put('project/node_modules/@huggingface/transformers/package.json', '{"name":"@huggingface/transformers","version":"0.0.0"}\n');
  put('project/node_modules/onnxruntime-node/package.json', '{"name":"onnxruntime-node","version":"1.29.0"}\n');
  put(`${ORTBIN}/onnxruntime_binding.node`, 'fake\n');
  put(`${ORTBIN}/libonnxruntime.so.1`, 'fake\n');
  // Incompressible, so that it packs into several 1 MiB parts.
  put(`${ORTBIN}/libonnxruntime_providers_cuda.so`, randomBytes(2.5 * 2 ** 20));
  put(`${ORTBIN}/libonnxruntime_providers_shared.so`, 'fake\n');
  put('shared/data/stimuli/crt/stimuli.csv', 'a,b\n');
  put('shared/models/tiny-gpt2/tokenizer.json', '{}\n');
}

const carry = path.join(work, 'carry');
before(async () => {
  fakePayload(path.join(work, 'payload'));
  const r = await sh('gpu-pack.sh', [path.join(work, 'payload'), carry], { GPU_PART_MIB: '1', GPU_PACK_COMPRESS: 'xz', XZ_OPT: '-0' });
  assert.equal(r.code, 0, r.stderr);
});

test('gpu-pack.sh splits the payload into parts of at most GPU_PART_MIB, with checksums and one device call per part', () => {
  const parts = readdirSync(path.join(carry, 'parts')).sort();
  assert.deepEqual(parts, ['payload.tar.xz.000', 'payload.tar.xz.001', 'payload.tar.xz.002']);
  for (const p of parts) assert.ok(readFileSync(path.join(carry, 'parts', p)).length <= 2 ** 20);
  assert.equal(readFileSync(path.join(carry, 'meta', 'PARTS.sha256'), 'utf8').trim().split('\n').length, 3);
  const calls = readFileSync(path.join(carry, 'meta', 'CALLS'), 'utf8').trim().split('\n');
  assert.equal(calls.length, 3);
  assert.match(calls[0]!, /parts\/payload\.tar\.xz\.000"\] command="bash bench\/gpu\.sh --receive"$/);
  assert.match(calls[2]!, /parts\/payload\.tar\.xz\.002"\] command="bash bench\/gpu\.sh --receive && bash bench\/gpu\.sh \$OUT"$/);
});

test('the dry run checks every part and unpacked file, every command, and runs the carried benchmark', async () => {
  const out = path.join(work, 'out-ok');
  const r = await gpuSh(['--dry-run', out], { GPU_CARRY: carry });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /3 part\(s\), .* each call \(working tree \d+ MiB \+ meta \+ one part\) within 64 MiB, checksums ok/);
  assert.match(r.stdout, /11 files, \d+ MiB unpacked, checksums ok/);
  assert.match(r.stdout, /payload\.tar\.xz\.002"\] command="bash bench\/gpu\.sh --receive && bash bench\/gpu\.sh \$OUT"/);
  assert.match(r.stdout, /dry run passed/);
  assert.equal(readFileSync(path.join(out, 'gpu-bench-dry.md'), 'utf8'), 'fake benchmark ran\n');
});

test('the dry run refuses a call that would carry more than the device tool moves', async () => {
  // The working tree alone is over 1 MiB, so tree + a 1 MiB part exceeds a 2 MiB limit.
  const r = await gpuSh(['--dry-run', path.join(work, 'out-big')], { GPU_CARRY: carry, GPU_CALL_LIMIT_MIB: '2' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /MISSING: a call carrying parts\/payload\.tar\.xz\.000 within 2 MiB .*smaller GPU_PART_MIB/);
  assert.match(r.stderr, /nothing was run/);
});

test('a damaged part or an unlisted part fails the dry run', async () => {
  const bad = path.join(work, 'carry-bad');
  cpSync(carry, bad, { recursive: true });
  writeFileSync(path.join(bad, 'parts', 'payload.tar.xz.001'), 'damaged');
  writeFileSync(path.join(bad, 'parts', 'payload.tar.xz.009'), 'extra');
  const r = await gpuSh(['--dry-run', path.join(work, 'out-bad')], { GPU_CARRY: bad });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /payload\.tar\.xz\.001 matches its checksum in PARTS\.sha256/);
  assert.match(r.stderr, /only the listed parts .*payload\.tar\.xz\.009/);

});

test('without a prepared carry folder the dry run stops and says how to make one', async () => {
  const r = await gpuSh(['--dry-run', path.join(work, 'out1')], { GPU_CARRY: path.join(work, 'none') });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /none\/meta\/PARTS\.sha256 is missing: run `bash bench\/gpu-prepare\.sh`/);
});

test('parts carried one per call are received, kept, and reassembled by the run; a damaged one is refused', async () => {
  const received = path.join(work, 'received');
  const payload = path.join(work, 'unpacked');
  const env = { GPU_RECEIVED: received, GPU_PAYLOAD: payload };
  const parts = readdirSync(path.join(carry, 'parts')).sort();
  // Each call brings meta/ and one part, as the device tool's carry would.
  const arrive = (name: string, body?: string) => {
    const c = path.join(work, `call-${name}`);
    cpSync(path.join(carry, 'meta'), path.join(c, 'meta'), { recursive: true });
    mkdirSync(path.join(c, 'parts'), { recursive: true });
    if (body === undefined) cpSync(path.join(carry, 'parts', name), path.join(c, 'parts', name));
    else writeFileSync(path.join(c, 'parts', name), body);
    return c;
  };
  const damaged = await gpuSh(['--receive'], { ...env, GPU_CARRY: arrive(parts[0]!, 'x') });
  assert.equal(damaged.code, 1);
  assert.match(damaged.stderr, /payload\.tar\.xz\.000 arrived damaged .*carry it again/);

  const early = await gpuSh([path.join(work, 'run-early')], { ...env, GPU_CARRY: path.join(work, 'empty') });
  assert.equal(early.code, 2);
  assert.match(early.stderr, /part\(s\) not received yet: parts\/payload\.tar\.xz\.000 parts\/payload\.tar\.xz\.001 parts\/payload\.tar\.xz\.002/);

  for (const [i, name] of parts.entries()) {
    const r = await gpuSh(['--receive'], { ...env, GPU_CARRY: arrive(name) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`received parts/${name.replace(/\./g, '\\.')} \\(checksum ok\\)`));
    assert.match(r.stdout, new RegExp(`${i + 1} of 3 part\\(s\\) here`));
  }
  // No GPU here: the run reassembles and checks the payload, then stops at what a GPU machine has.
  const run = await gpuSh([path.join(work, 'run-out')], { ...env, GPU_CARRY: path.join(work, 'empty'), GPU_PYTHON: '/nonexistent' });
  assert.match(run.stdout, /reassembled and unpacked into/);
  assert.match(run.stdout, /11 files, \d+ MiB unpacked, checksums ok/);
  assert.ok(existsSync(path.join(payload, `${ORTBIN}/libonnxruntime_providers_cuda.so`)));
  assert.equal(run.code, 2);
  assert.match(run.stderr, /MISSING: CUDA libraries libcudart\.so\.13/);
  assert.match(run.stderr, /nothing was run/);

  // A rerun on the same machine reuses the unpacked payload, and still checks every file.
  writeFileSync(path.join(payload, 'shared/models/tiny-gpt2/tokenizer.json'), '{"changed":1}\n');
  const rerun = await gpuSh([path.join(work, 'run-out')], { ...env, GPU_CARRY: path.join(work, 'empty'), GPU_PYTHON: '/nonexistent' });
  assert.doesNotMatch(rerun.stdout, /reassembled/);
  assert.match(rerun.stderr, /tokenizer\.json: FAILED/);
  assert.match(rerun.stderr, /differ from its MANIFEST\.sha256/);
  assert.equal(rerun.code, 2);
});

const prepared = existsSync(path.join(repoRoot, '.gpu-carry', 'meta', 'PARTS.sha256'));
test('the prepared .gpu-carry passes the dry run: every part, every file, the carried benchmark on the CPU', { skip: prepared ? false : '.gpu-carry is not prepared here (bash bench/gpu-prepare.sh needs the npm registry)', timeout: 900_000 }, async () => {
  const out = path.join(work, 'out3');
  const r = await gpuSh(['--dry-run', out]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /checksums ok/);
  assert.match(r.stdout, /dry run passed/);
  assert.ok(existsSync(path.join(out, 'gpu-bench-dry.md')));
});
