// What must keep holding for conversions (issue 17): gc and verify refuse while a run that is
// converting a model holds the store, and a conversion killed (kill -9 of its worker at each point
// of the stage) resumes to a byte-identical model with verify clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from '../engine/rig.js';
import { until } from './helpers.js';

const MODEL = `version: 1
models:
  - id: demo/converted
    display: { name: converted, family: T }
    build: { seed: 5, nEmbd: 32, nLayer: 2, nHead: 4, format: checkpoint }
stages:
  build-model:
    uses: build-model
    matrix: { model: $models }
  convert-model:
    uses: convert-model
    matrix: { model: $models }
    needs: [build-model]
`;
const CONVERT = 'convert-model/converted';

function outputsOf(rig: Rig): Record<string, { digest: string }> {
  const r = rig.cli(['inspect', CONVERT, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { outputs: Record<string, { digest: string }> }).outputs;
}

function verifyClean(rig: Rig): void {
  const v = rig.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { corrupt: string[] }).corrupt, []);
}

test('gc and verify refuse while a run converting a model holds the store', { timeout: 300_000 }, async () => {
  // `hold` keeps the run alive until the test has asked gc and verify (a fifo nobody writes to yet).
  const rig = new Rig(`${MODEL}  hold:
    run: "cat hold.fifo > held.txt"
    outs: [held.txt]
`);
  rig.cli(['run', '--only', 'build-model']);
  const { spawnSync } = await import('node:child_process');
  spawnSync('mkfifo', [`${rig.dir}/hold.fifo`]);
  const run = rig.spawn(['run', '--json', '--jobs', '2']);
  let out = '';
  run.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  assert.ok(await until(() => out.includes(`"type":"stage-start","id":"${CONVERT}"`), 120_000), out);
  for (const verb of ['gc', 'verify']) {
    const r = await rig.cliAsync([verb], { PIPELINE_LEASE_WAIT_MS: '300' });
    assert.equal(r.code, 1, `${verb}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`pipeline ${verb} needs the store .* to itself, but it is in use by a running process: \`pipeline run --json --jobs 2\``));
  }
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${rig.dir}/hold.fifo`, 'done\n');
  const res = await run.done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  verifyClean(rig);
});

test('a conversion killed (kill -9 of its worker) at each point of the stage resumes to the same bytes, verify clean', { timeout: 600_000 }, () => {
  const clean = new Rig(MODEL);
  assert.equal(clean.cli(['run']).code, 0);
  const expected = outputsOf(clean);
  for (const point of ['before-execute', 'after-execute', 'mid-store', 'after-store', 'after-record']) {
    const rig = new Rig(MODEL);
    const killed = rig.cli(['run'], { PIPELINE_FAULT: `${point}:${CONVERT}` });
    assert.notEqual(killed.code, 0, `${point}: the worker died\n${killed.stdout}${killed.stderr}`);
    assert.match(killed.stdout + killed.stderr, /worker process for .* died \(SIGKILL\)/, point);
    const again = rig.cli(['run']);
    assert.equal(again.code, 0, `${point}: ${again.stdout}${again.stderr}`);
    assert.deepEqual(outputsOf(rig), expected, `${point}: byte-identical model`);
    verifyClean(rig);
  }
});
