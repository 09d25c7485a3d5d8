// Plans that do not over-promise: what a stage needs of this machine (R for the statistics stage, a
// reachable host for a URL download) is checked when `status` and `--dry-run` plan it — also while
// it still waits on an upstream — so they say "blocked", with the fix, where the run would fail.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { toCsv } from '../../src/analysis/csv-io.js';
import { digitMat } from '../analysis/fixtures.js';
import { Rig } from './rig.js';

const INSTALL = 'apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest';

test('without R, a dry run says the statistics stage is blocked (with the install command) while its aggregate would run', () => {
  const rig = new Rig(`version: 1
models:
  - { id: org/alpha-1b, display: { name: Alpha 1B } }
  - { id: org/alpha-10b, display: { name: Alpha 10B } }
stages:
  import: { uses: import, params: { dir: scores } }
  aggregate: { uses: aggregate, id: "aggregate/\${domain}", matrix: { domain: [digit_mat] }, needs: [import] }
  statistics: { uses: statistics, id: "statistics/\${domain}", matrix: { domain: [digit_mat] }, needs: [aggregate] }
`);
  rig.write('scores/digit_mat/alpha-1b.csv', toCsv(digitMat('alpha-1b', '', [[true, false], [false, true]]).table));
  rig.write('scores/digit_mat/alpha-10b.csv', toCsv(digitMat('alpha-10b', '', [[true, true], [false, true]]).table));
  const env = { RSCRIPT: join(rig.dir, 'no-such-Rscript') };
  const dry = rig.cli(['run', '--dry-run'], env);
  assert.equal(dry.code, 1, 'what it would run cannot all run');
  assert.match(dry.stdout, /^would run import /m);
  assert.match(dry.stdout, /^would run aggregate\/digit_mat  \(upstream import will run\)$/m);
  assert.match(dry.stdout, /^⊘ statistics\/digit_mat: stage statistics\/digit_mat \(statistics\): .*no-such-Rscript was not found; install R/m);
  assert.ok(dry.stdout.includes(INSTALL), dry.stdout);
  assert.match(dry.stdout, /2 of 3 stages would run with --keep-going \(0 up to date, 1 blocked\); without it a run stops/);
  const st = rig.cli(['status', '--json'], env);
  const rows = JSON.parse(st.stdout) as { id: string; state: string }[];
  assert.deepEqual(rows.map((r) => `${r.id} ${r.state}`), ['import stale', 'aggregate/digit_mat waiting', 'statistics/digit_mat blocked']);
  // With R there (this machine's, when installed), the same dry run promises all three.
  const withR = rig.cli(['run', '--dry-run']);
  if (withR.code === 0) assert.match(withR.stdout, /3 of 3 stages would run/);
});

const URL_PIPELINE = (url: string): string => `version: 1
tasks:
  blimp: { stimuli: { url: "${url}", sha256: ${'a'.repeat(64)} } }
stages:
  stimuli:
    uses: fetch-stimuli
    matrix: { task: $tasks }
  after:
    run: echo after >> calls.log && cp external_stimuli/blimp/stimuli.csv copy.csv
    deps: [external_stimuli/blimp/stimuli.csv]
    outs: [copy.csv]
`;

test('a stimuli download from a host that cannot be reached is blocked in the dry run, the status and the run, not promised', async () => {
  // A port nobody listens on: the connection is refused at once.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const rig = new Rig(URL_PIPELINE(`http://127.0.0.1:${port}/stimuli.csv`));
  const dry = await rig.cliAsync(['run', '--dry-run']);
  assert.equal(dry.code, 1, dry.stdout + dry.stderr);
  assert.match(dry.stdout, new RegExp(`⊘ stimuli/blimp: stage stimuli/blimp: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\) to download http://127\\.0\\.0\\.1:${port}/stimuli\\.csv; without network, give task blimp's stimuli\\.csv with --stimuli-dir`));
  assert.doesNotMatch(dry.stdout, /would run stimuli/);
  const json = Rig.events(await rig.cliAsync(['run', '--dry-run', '--json'])).filter((e) => e['type'] === 'stage-blocked');
  assert.deepEqual(json.map((e) => [e['id'], e['by'] ?? (e['failure'] as { cause?: string }).cause]), [['stimuli/blimp', 'network'], ['after', 'stimuli/blimp']]);
  const run = await rig.cliAsync(['run']);
  assert.equal(run.code, 1);
  assert.deepEqual(rig.calls(), []);
  assert.match(run.stdout, /0 ran, 0 up to date, 2 blocked/);
});

test('a stimuli download from a host that answers is planned as "would run"', async () => {
  const open = createServer((s) => s.end());
  await new Promise<void>((r) => open.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (open.address() as { port: number }).port;
    const rig = new Rig(URL_PIPELINE(`http://127.0.0.1:${port}/stimuli.csv`));
    const dry = await rig.cliAsync(['run', '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /^would run stimuli\/blimp  \(never run\)$/m);
  } finally {
    open.close();
  }
});
