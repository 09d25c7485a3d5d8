// A run on a nearly full filesystem, then space freed: the next run completes with no manual
// step — no empty lock, no half-written record or object stays behind (issue 12 item 11). The
// project and its store sit on a small tmpfs mounted for this test (needs root to mount).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Rig } from '../engine/rig.js';

const mnt = mkdtempSync(join(tmpdir(), 'ltd-full-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]).status === 0;
after(() => {
  if (mounted) spawnSync('umount', ['-l', mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

test('a run that fills the disk, then space freed: the next run completes untouched by hand', { skip: mounted ? false : 'cannot mount a tmpfs here (not root)' }, () => {
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = mnt;
  let r: Rig;
  try {
    r = new Rig(`stages:
  blob:
    matrix: { n: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }
    run: head -c 300000 /dev/urandom > blob-\${n}.bin
    outs: ["blob-\${n}.bin"]
  sum:
    run: cat blob-*.bin | wc -c > sum.txt
    deps: [blob-1.bin, blob-2.bin, blob-3.bin, blob-4.bin, blob-5.bin, blob-6.bin, blob-7.bin, blob-8.bin, blob-9.bin, blob-10.bin, blob-11.bin, blob-12.bin]
    outs: [sum.txt]
`);
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
  const full = r.cli(['run', '--keep-going', '--jobs', '4']);
  assert.notEqual(full.code, 0, 'the disk is too small for this run');
  assert.match(full.stdout + full.stderr, /ENOSPC|no space left/i);
  // The engine says a full disk once per event, naming the file it could not write (issue 17, 11).
  const said = (full.stdout + full.stderr).split('\n').filter((l) => /ENOSPC/.test(l));
  assert.ok(said.length > 0, full.stdout + full.stderr);
  for (const l of said) assert.match(l, /\(ENOSPC\) (writing|storing) \/\S+/, `names the file: ${l}`);
  assert.equal(new Set(said).size, said.length, `nothing said twice:\n${said.join('\n')}`);
  assert.ok(said.filter((l) => l.startsWith('warning')).length <= 1, said.join('\n'));
  // Nothing a later run could trip on: no empty or partial lock, record or pointer.
  const cache = join(r.dir, 'cache');
  for (const f of filesUnder(join(cache, 'locks'))) assert.ok(statSync(f).size > 0, `empty lock ${f}`);
  for (const sub of ['runs', 'stages', 'failures']) for (const f of filesUnder(join(cache, sub))) JSON.parse(readFileSync(f, 'utf8'));
  // With the disk entirely full, status still answers.
  spawnSync('sh', ['-c', `head -c 100000000 /dev/zero > ${join(mnt, 'filler')}`]);
  const st = r.cli(['status']);
  assert.equal(st.code, 0, st.stdout + st.stderr);
  assert.match(st.stdout, /stale|fresh/);
  // Space freed (the filesystem grows); the next run just completes.
  assert.equal(spawnSync('mount', ['-o', 'remount,size=64m', mnt]).status, 0);
  const again = r.cli(['run', '--jobs', '4']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(r.read('sum.txt').trim(), String(12 * 300000));
  const v = r.cli(['verify', '--json']);
  assert.equal(v.code, 0, v.stdout);
  assert.deepEqual(readdirSync(join(cache, 'tmp')), [], 'no staging left behind');
  assert.deepEqual(readdirSync(join(cache, 'locks')), []);
});
