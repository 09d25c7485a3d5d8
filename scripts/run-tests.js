#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
// Usage: node scripts/run-tests.js [area…]   e.g. `node scripts/run-tests.js engine tasks`
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', 'dist', 'test');
const areas = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
}
walk(root);
const chosen = areas.length ? files.filter((f) => areas.some((a) => f.includes(`/test/${a}/`))) : files;
if (chosen.length === 0) {
  console.error(`no test files found under ${root}${areas.length ? ` for ${areas.join(', ')}` : ''}; run npm run build first`);
  process.exit(1);
}
// The statistics tests fit the paper's mixed models in R (lme4): like the Slurm tests, which start
// a Slurm, the suite installs R when it is missing (Debian packages; needs root, as .ci/run has).
if (chosen.some((f) => /\/test\/(analysis|e2e)\//.test(f))) {
  const r = spawnSync('bash', [join(import.meta.dirname, 'install-r.sh')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('the statistics tests need R with lme4 and lmerTest: run `sudo bash scripts/install-r.sh` (or apt-get install -y r-base-core r-cran-lme4 r-cran-lmertest)');
    process.exit(1);
  }
}
// The report tests drive a real browser: headless Chromium from Debian (scripts/install-chromium.sh).
if (chosen.some((f) => /\/test\/report\//.test(f))) {
  const r = spawnSync('bash', [join(import.meta.dirname, 'install-chromium.sh')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('the report tests need Chromium: run `sudo bash scripts/install-chromium.sh` (or apt-get install -y --no-install-recommends chromium)');
    process.exit(1);
  }
}
// Every test's temporary folders go into one folder per run, removed when the run passes: tests
// that leave stores behind (a killed stage's, a Slurm job's) cannot fill the machine's /tmp.
// LTD_KEEP_TEST_TMP=1 keeps it; a failed run keeps it and says where.
const testTmp = mkdtempSync(join(tmpdir(), 'ltd-tests-'));
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...chosen], {
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: testTmp },
});
if (run.status === 0 && process.env.LTD_KEEP_TEST_TMP !== '1') {
  try {
    rmSync(testTmp, { recursive: true, force: true });
  } catch (e) {
    // A mount a test left behind: the results stand; say what is left.
    console.error(`could not remove ${testTmp} (${e.code ?? e.message}); remove it by hand`);
  }
} else console.error(`the tests' temporary folders are kept in ${testTmp}`);
process.exit(run.status ?? 1);
