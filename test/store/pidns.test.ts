// Liveness across PID namespaces: two runs sharing a store from two containers on one machine (same
// host name and boot id, separate PID namespaces) must not take each other's pids for dead. An owner
// records its PID namespace; one in another namespace is judged by its heartbeat, as a remote host
// is. Tested with `unshare -p --fork --mount-proc` (root; skipped visibly where it is not allowed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { selfOwner } from '../../src/util/liveness.js';
import { BIN, REPO, Rig } from '../engine/rig.js';
import { age, until } from './helpers.js';

function canUnshare(): string | false {
  const r = spawnSync('unshare', ['-p', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  return r.status === 0 ? false : `unshare -p is not allowed here (${(r.error?.message ?? r.stderr).trim() || `exit ${r.status}`}): needs root or user namespaces`;
}
const SKIP = canUnshare();

/** Run node code in a new PID namespace (with its own /proc, as in a container). */
function inNewPidNs(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-p', '--fork', '--mount-proc', process.execPath, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const JUDGE = `
const [lib, lock] = process.argv.slice(1);
const { readHolder, judge } = await import(lib + '/lock-file.js');
const { PIDNS } = await import(lib + '/liveness.js');
console.log(JSON.stringify({ pidns: PIDNS, verdict: judge(readHolder(lock)) }));
`;

test('a live owner in another PID namespace is alive while it beats, dead once its heartbeat is stale', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-pidns-'));
  const lock = join(dir, 'x.lock');
  // This (live) process holds the lock; its pid means nothing inside the new namespace.
  writeFileSync(lock, JSON.stringify(selfOwner()));
  assert.match(selfOwner().pidns ?? '', /^pid:\[\d+\]$/);
  const lib = pathToFileURL(join(REPO, 'dist', 'src', 'util')).href;
  const fresh = inNewPidNs(['--input-type=module', '-e', JUDGE, lib, lock]);
  assert.equal(fresh.code, 0, fresh.stderr);
  const seen = JSON.parse(fresh.stdout) as { pidns: string; verdict: { dead: boolean; why?: string } };
  assert.notEqual(seen.pidns, selfOwner().pidns, 'the judge runs in another PID namespace');
  assert.deepEqual(seen.verdict, { dead: false }, 'a fresh heartbeat: alive, whatever its pid says there');
  age(lock, 3_600_000);
  const stale = JSON.parse(inNewPidNs(['--input-type=module', '-e', JUDGE, lib, lock]).stdout) as { verdict: { dead: boolean; why?: string } };
  assert.equal(stale.verdict.dead, true);
  assert.match(stale.verdict.why ?? '', /no heartbeat from host .* in another PID namespace \(pid:\[\d+\]\) for 36\d\d s/);
});

test('`status` from another PID namespace leaves a live run\'s staging alone; the run finishes', { skip: SKIP, timeout: 120_000 }, async () => {
  const r = new Rig(`stages:
  slow:
    run: echo start >> calls.log && while [ ! -e go ]; do sleep 0.05; done && echo x > s.txt
    outs: [s.txt]
`);
  const run = r.spawn(['run']);
  try {
    assert.ok(await until(() => r.calls().includes('start'), 60_000), 'the stage is running');
    // What the live run holds: its stage lock and owner record (a run stage stores its outputs from
    // the working tree, so it has no staging folder), and whatever staging it has.
    const held = ['tmp', 'locks', 'owners'].flatMap((area) => readdirSync(join(r.dir, 'cache', area)).map((n) => join(r.dir, 'cache', area, n)));
    assert.ok(held.some((p) => p.endsWith('.lock')), 'the running stage holds its lock');
    const st = inNewPidNs([BIN, 'status'], r.dir);
    assert.equal(st.code, 0, st.stderr);
    for (const p of held) assert.ok(existsSync(p), `status in another PID namespace must not remove the live run's ${p}`);
  } finally {
    r.write('go', ''); // the stage ends whatever happened above
  }
  const res = await run.done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.read('s.txt'), 'x\n');
});
