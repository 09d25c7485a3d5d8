// The one liveness check and the atomic lock file it guards: who is provably dead, and what a
// lock looks like to others while it is being created, held, broken and released.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { liveness, processStart, selfOwner, STALE_MS, type Owner } from '../../src/util/liveness.js';
import { acquireLock, createExclusive, readHolder } from '../../src/util/lock-file.js';
import { age } from './helpers.js';

const now = Date.now();
const base: Owner = { token: 'aaaaaaaaaaaa', host: hostname(), pid: process.pid, argv: 'run', since: '' };

test('this host: a live pid is alive whatever its heartbeat; a gone pid is dead at once', async () => {
  const me = selfOwner();
  assert.equal(liveness(me, now - 10 * STALE_MS, now).dead, false, 'pids are proof; a stopped run (Ctrl-Z) keeps its locks');
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  const l = liveness({ ...base, pid }, now, now);
  assert.equal(l.dead, true);
  assert.match((l as { why: string }).why, new RegExp(`pid ${pid} is not running`));
});

test('this host: a reused pid (other start time) and another boot are dead', () => {
  const start = processStart(process.pid);
  assert.ok(start !== undefined, 'Linux /proc gives a start time');
  assert.equal(liveness({ ...base, start: start + 1 }, now, now).dead, true);
  assert.equal(liveness({ ...base, start }, now, now).dead, false);
  assert.equal(liveness({ ...base, boot: 'another-boot-id' }, now, now).dead, selfOwner().boot !== undefined);
});

test('another host: alive while its heartbeat is fresh, dead once it is older than STALE_MS', () => {
  const other = { ...base, host: 'elsewhere.example', pid: 1 };
  assert.equal(liveness(other, now - STALE_MS / 2, now).dead, false);
  assert.equal(liveness(other, now - STALE_MS - 1000, now).dead, true);
});

test('an unreadable owner is stale after the timeout, never a wait for ever', () => {
  assert.equal(liveness(undefined, now - 1000, now).dead, false);
  assert.equal(liveness(undefined, now - STALE_MS - 1, now).dead, true);
});

test('a lock is never seen empty: the file at its name always holds the whole owner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-lock-'));
  const p = join(dir, 'x.lock');
  assert.equal(createExclusive(p, JSON.stringify(selfOwner())), true);
  assert.equal(createExclusive(p, 'other'), false, 'exclusive');
  assert.equal(readHolder(p)!.owner!.token, selfOwner().token);
  assert.deepEqual(readdirSync(dir).sort(), ['x.lock'], 'no temporary file left');
});

test('locks of one owner link one kept temporary: whole at every name, released one by one, made again when removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-lock-'));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const me = JSON.stringify(selfOwner());
  const beats = { heartbeatOf: () => Date.now(), tmpDir: tmp, reuseTemp: true };
  const a = await acquireLock(join(dir, 'a.lock'), beats);
  const b = await acquireLock(join(dir, 'b.lock'), beats);
  const temps = readdirSync(tmp);
  assert.equal(temps.length, 1, 'one temporary for both locks');
  assert.ok(temps[0]!.startsWith(`${selfOwner().token}-`), 'named by its owner: staging clean-up removes it after a kill');
  assert.equal(statSync(join(dir, 'a.lock')).ino, statSync(join(dir, 'b.lock')).ino, 'one inode: a link each');
  assert.equal(readFileSync(join(dir, 'b.lock'), 'utf8'), me);
  assert.equal(createExclusive(join(dir, 'a.lock'), me, tmp, true), false, 'still exclusive');
  a();
  assert.equal(existsSync(join(dir, 'a.lock')), false);
  assert.equal(readFileSync(join(dir, 'b.lock'), 'utf8'), me, 'releasing one leaves the other whole');
  b();
  // The temporary removed under it (a clean-up of staging): the next lock makes a new one.
  rmSync(join(tmp, temps[0]!));
  const c = await acquireLock(join(dir, 'c.lock'), beats);
  assert.equal(readFileSync(join(dir, 'c.lock'), 'utf8'), me);
  c();
  // Without a heartbeat kept elsewhere (a lock that is its own heartbeat), no temporary is kept.
  const d = await acquireLock(join(dir, 'd.lock'), { tmpDir: tmp, reuseTemp: true, beat: true });
  const kept = readdirSync(tmp);
  assert.equal(kept.length, 1, 'only the kept temporary of the locks above');
  assert.notEqual(statSync(join(dir, 'd.lock')).ino, statSync(join(tmp, kept[0]!)).ino, 'its own file');
  d();
});

test('acquireLock takes over a dead holder, an old unreadable one, and waits for a live one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ltd-lock-'));
  // Dead: a pid on this host that no longer runs.
  const dead = join(dir, 'dead.lock');
  writeFileSync(dead, JSON.stringify({ ...base, token: 'bbbbbbbbbbbb', pid: 4_000_000 }));
  (await acquireLock(dead))();
  assert.equal(existsSync(dead), false, 'released');
  // Unreadable (an empty file from an older version after ENOSPC), untouched for longer than STALE_MS.
  const empty = join(dir, 'empty.lock');
  writeFileSync(empty, '');
  age(empty, STALE_MS + 5000);
  const rel = await acquireLock(empty);
  assert.equal(readHolder(empty)!.owner!.token, selfOwner().token);
  rel();
  // Live: another host with a fresh heartbeat. The waiter is told once and keeps waiting.
  const live = join(dir, 'live.lock');
  writeFileSync(live, JSON.stringify({ ...base, token: 'cccccccccccc', host: 'elsewhere.example' }));
  const ac = new AbortController();
  let told = '';
  // Synchronised on the waiter's own events: it said it waits, then judged the holder alive twice more.
  let stillAlive = 0;
  let judgedTwice!: () => void;
  const twice = new Promise<void>((r) => (judgedTwice = r));
  const waiting = acquireLock(live, {
    signal: ac.signal,
    noticeMs: 1,
    onWait: (h) => (told = h.owner!.host),
    onStillWaiting: () => {
      if (++stillAlive === 2) judgedTwice();
    },
  });
  await twice;
  assert.equal(told, 'elsewhere.example');
  assert.match(readFileSync(live, 'utf8'), /cccccccccccc/, 'the live holder keeps its lock');
  // Its heartbeat goes stale: taken over.
  age(live, STALE_MS + 5000);
  const rel2 = await waiting;
  assert.equal(readHolder(live)!.owner!.token, selfOwner().token);
  rel2();
  ac.abort();
});
