// Work of another host in a shared store: its staging folder and stage lock survive `status` and
// `run` while its heartbeat is fresh, and are taken over once it is stale. A live run's heartbeat
// really beats.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rig } from '../engine/rig.js';
import { age, forgeLock, forgeOwner, forgeStaging, keyOf, owner, until } from './helpers.js';

const ONE = `stages:
  a:
    run: echo a >> calls.log && echo a > a.txt
    outs: [a.txt]
`;

test("another host's staging folder and stage lock survive status and run while its heartbeat is fresh; stale, they are taken over", async () => {
  const r = new Rig(ONE);
  const key = keyOf(r, 'a');
  const o = owner('0123456789ab');
  const record = forgeOwner(r, o);
  const staging = forgeStaging(r, o, 'a');
  const lock = forgeLock(r, o, key);
  assert.equal(r.cli(['status']).code, 0);
  assert.ok(existsSync(staging), 'status must not remove a live foreign staging folder');
  assert.ok(existsSync(lock));
  const run = r.spawn(['run', '--json'], { PIPELINE_WAIT_NOTICE_MS: '1' });
  let said = '';
  run.proc.stdout!.on('data', (d: Buffer) => (said += d.toString()));
  assert.ok(await until(() => said.includes('being computed by'), 60_000), said);
  // Not a fixed wait: the run says it still waits each time it judged the holder alive again.
  assert.ok(await until(() => said.split('still waiting for').length > 2, 60_000), said);
  assert.deepEqual(r.calls(), [], 'the stage is being computed on the other host: wait, do not compute it twice');
  assert.ok(existsSync(staging) && existsSync(lock));
  // The other host stops beating (it crashed): after STALE_MS its lock is taken over.
  age(record, 3_600_000);
  const res = await run.done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.calls(), ['a']);
  const waited = Rig.events(res).find((e) => e['type'] === 'warning');
  assert.match(String(waited?.['message']), /being computed by `pipeline run` \(pid 4000000 on host node17\.other-cluster\.example/);
  // The next status cleans the dead owner's staging and owner record.
  assert.equal(r.cli(['status']).code, 0);
  assert.equal(existsSync(staging), false);
  assert.equal(existsSync(record), false);
});

test("a running engine's owner record beats (its mtime advances) and is gone after the run", async () => {
  const r = new Rig(`stages:
  slow:
    run: echo slow >> calls.log && sleep 2 && echo x > s.txt
    outs: [s.txt]
`);
  const run = r.spawn(['run'], { PIPELINE_HEARTBEAT_MS: '200' });
  const owners = join(r.dir, 'cache', 'owners');
  assert.ok(await until(() => existsSync(owners) && readdirSync(owners).length > 0, 20_000));
  const rec = join(owners, readdirSync(owners)[0]!);
  const m0 = statSync(rec).mtimeMs;
  assert.ok(await until(() => existsSync(rec) && statSync(rec).mtimeMs > m0, 3000), 'heartbeat refreshed');
  assert.equal((await run.done).code, 0);
  assert.deepEqual(readdirSync(owners), []);
  assert.deepEqual(readdirSync(join(r.dir, 'cache', 'tmp')), []);
});
