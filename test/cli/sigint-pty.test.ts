// Ctrl-C in a terminal: `pipeline run` in a pseudo-terminal (python3's pty module), so the listr2
// task list is what renders, and a real Ctrl-C (the byte 0x03 typed at the terminal, which the
// terminal turns into SIGINT for the foreground process group) mid-run. listr2 must not install its
// own SIGINT handler (it calls process.exit(127)): the engine stops its stages cleanly, says so and
// exits 130, and a re-run resumes — what finished is not run again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, Rig } from '../engine/rig.js';

const PTY_DRIVER = `
import json, os, pty, select, sys, time
cwd, marker, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execvp(argv[0], argv)
out, sent, t0 = b'', None, time.time()
while True:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if sent is None and os.path.exists(os.path.join(cwd, marker)):
        time.sleep(0.3)
        os.write(fd, b'\\x03')
        sent = time.time()
    if time.time() - t0 > 120:
        os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'sent': sent is not None, 'out': out.decode('utf-8', 'replace')}))
`;

const PIPELINE = `version: 1
stages:
  quick:
    run: echo quick >> calls.log && echo done > quick.txt
    outs: [quick.txt]
  slow:
    run: echo slow >> calls.log && touch slow.started && sleep 30 && echo done > slow.txt
    deps: [quick.txt]
    outs: [slow.txt]
`;

test('Ctrl-C in a terminal stops the run cleanly with exit 130, and a re-run resumes', { timeout: 180_000 }, () => {
  const rig = new Rig(PIPELINE);
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color' };
  delete env['CI']; // a terminal and no CI: the listr2 reporter renders
  const r = spawnSync('python3', ['-c', PTY_DRIVER, rig.dir, 'slow.started', process.execPath, BIN, 'run'], { encoding: 'utf8', env, timeout: 150_000 });
  assert.equal(r.status, 0, `driver: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { code: number; sent: boolean; out: string };
  assert.ok(res.sent, `the slow stage never started:\n${res.out}`);
  assert.equal(res.code, 130, `exit ${res.code} (127 is listr2's own handler):\n${res.out}`);
  assert.match(res.out, /interrupt: stopping running stages/);
  assert.equal(rig.exists('slow.txt'), false);
  // Resume: quick is fresh, only slow runs again (with a fast command this time).
  rig.write('pipeline.yaml', PIPELINE.replace('sleep 30', 'true'));
  const again = rig.cli(['run']);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.deepEqual(rig.read('calls.log').trim().split('\n'), ['quick', 'slow', 'slow']);
  assert.equal(rig.read(join('slow.txt')).trim(), 'done');
});
