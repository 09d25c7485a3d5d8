// End to end: the same small pipeline (the tiny GPT-2 from ../shared scored on demo stimuli) run
// by the real CLI with the local executor and with `--executor slurm` gives byte-identical
// outputs and the same stage keys; under Slurm the score stages really ran as Slurm jobs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureSlurm, repoRoot, tempDir } from './helpers.js';

const tinyModel = join(resolve(repoRoot, '../shared'), 'models', 'tiny-gpt2');

const pipeline = `version: 1
models:
  - id: tiny-gpt2
    path: ${tinyModel}
tasks:
  crt:
    conditions: [crt1, crt2]
  blimp: {}
stages:
  fetch-model: { uses: fetch-model, matrix: { model: $models, revision: [''] } }
  stimuli: { uses: demo-stimuli, matrix: { task: $tasks } }
  build-config: { uses: build-config, matrix: { task: $tasks, condition: $conditions, model: $models }, needs: [fetch-model] }
  score:
    uses: score
    matrix: { task: $tasks, condition: $conditions, model: $models, revision: [''] }
    needs: [fetch-model, stimuli, build-config]
    params: { limit: 3 }
`;

interface RunResult {
  code: number;
  out: string;
  events: Array<Record<string, unknown>>;
}

function project(label: string): string {
  const dir = tempDir(label);
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  return dir;
}

function pipelineRun(dir: string, args: string[]): RunResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'pipeline.js'), 'run', '--offline', '--json', ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 120_000,
  });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}`, events };
}

function ran(r: RunResult): string[] {
  return r.events.filter((e) => e.type === 'stage-done').map((e) => String(e.id)).sort();
}

/** Every file under `dir/sub`, relative path → content. */
function files(dir: string, sub: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const e of readdirSync(join(dir, sub), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) found.set(relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name), 'utf8'));
  }
  return found;
}

/** Stage id → { key, executor } from the store's run records. */
function runRecords(dir: string): Map<string, { key: string; executor: string }> {
  const records = new Map<string, { key: string; executor: string }>();
  for (const [path, text] of files(dir, 'cache/runs')) {
    if (!path.endsWith('.json') || path.endsWith('.fingerprint.json')) continue; // fingerprints live beside the records
    const rec = JSON.parse(text) as { stageId: string; key: string; executor: string };
    records.set(rec.stageId, { key: rec.key, executor: rec.executor });
  }
  return records;
}

describe('slurm executor end to end', () => {
  before(() => ensureSlurm());

  it('runs a small pipeline under Slurm with results identical to the local executor', () => {
    const localDir = project('e2e-local');
    const slurmDir = project('e2e-slurm');
    const local = pipelineRun(localDir, []);
    assert.equal(local.code, 0, local.out);
    const started = Date.now();
    const slurm = pipelineRun(slurmDir, ['--executor', 'slurm']);
    const slurmMs = Date.now() - started;
    assert.equal(slurm.code, 0, slurm.out);
    assert.deepEqual(ran(slurm), ran(local));
    assert.equal(ran(slurm).length, 9);

    const localOut = files(localDir, 'output');
    const slurmOut = files(slurmDir, 'output');
    assert.deepEqual([...slurmOut.keys()].sort(), ['output/blimp/tiny-gpt2.csv', 'output/crt/crt1/tiny-gpt2.csv', 'output/crt/crt2/tiny-gpt2.csv']);
    for (const [path, text] of localOut) assert.equal(slurmOut.get(path), text, `${path} differs between executors`);
    assert.ok((localOut.get('output/blimp/tiny-gpt2.csv') ?? '').split('\n').length > 2, 'scores were written');

    // same stage keys; the score stages ran in Slurm jobs (the run record names the job)
    const localRuns = runRecords(localDir);
    const slurmRuns = runRecords(slurmDir);
    assert.deepEqual([...slurmRuns.keys()].sort(), [...localRuns.keys()].sort());
    for (const [id, rec] of slurmRuns) {
      assert.equal(rec.key, localRuns.get(id)?.key, `key of ${id}`);
      if (id.startsWith('score/')) assert.match(rec.executor, /^slurm:\d+$/, `${id} ran as ${rec.executor}`);
    }
    const jobLogs = readdirSync(join(slurmDir, 'cache', 'slurm-logs'));
    // Score stages of one model that are ready together may share a job (executor.group_window_ms,
    // default 500 ms): however they were grouped, the jobs' members add up to the three score stages.
    const members = jobLogs.map((l) => 1 + Number(/\+(\d+)-\d+\.log$/.exec(l)?.[1] ?? 0));
    assert.equal(members.reduce((a, b) => a + b, 0), 3, jobLogs.join(', '));
    console.log(`e2e: 9 stages (3 as Slurm jobs) in ${slurmMs} ms`);

    // nothing is stale afterwards, whichever executor looks
    assert.deepEqual(ran(pipelineRun(slurmDir, ['--executor', 'slurm'])), []);
    assert.deepEqual(ran(pipelineRun(slurmDir, [])), []);
  });
});
