// `pipeline inspect` finds a materialised file by a path relative to the working directory or to
// the project folder, and shows exactly the number of rows asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from '../engine/rig.js';

const PIPELINE = `stages:
  table:
    run: mkdir -p out && printf 'a,b\\n1,2\\n3,4\\n5,6\\n' > out/t.csv && printf '{"i":1}\\n{"i":2}\\n{"i":3}\\n' > out/r.jsonl
    outs: [out/t.csv, out/r.jsonl]
`;

/** The lines printed under a `  <name> (…)` heading of inspect's output. */
function section(stdout: string, heading: RegExp): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => heading.test(l));
  assert.ok(at >= 0, `no ${heading} in:\n${stdout}`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith('    ')) break;
    out.push(l.trim());
  }
  return out;
}

test('inspect -f proj/pipeline.yaml takes out/t.csv (project-relative) and proj/out/t.csv (cwd-relative); --rows is exact', () => {
  const r = new Rig();
  r.write('proj/pipeline.yaml', PIPELINE);
  const run = r.cli(['run', '-f', 'proj/pipeline.yaml']);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  for (const path of ['out/t.csv', 'proj/out/t.csv', './proj/out/t.csv', `${r.dir}/proj/out/t.csv`]) {
    const ins = r.cli(['-f', 'proj/pipeline.yaml', 'inspect', path, '--rows', '2']);
    assert.equal(ins.code, 0, `${path}: ${ins.stderr}`);
    assert.match(ins.stdout, /^table {2}\(run\)/, path);
  }
  const ins = r.cli(['-f', 'proj/pipeline.yaml', 'inspect', 'out/t.csv', '--rows', '2']);
  // A CSV: its header, then exactly two rows; JSON lines: exactly two lines.
  assert.deepEqual(section(ins.stdout, /^ {2}\S+ \(header and first 2 rows\)$/), ['a,b', '1,2', '3,4']);
  assert.deepEqual(section(ins.stdout, /^ {2}\S+ \(first 2 rows\)$/), ['{"i":1}', '{"i":2}']);
  // Not there: the message says where paths are looked up.
  const miss = r.cli(['-f', 'proj/pipeline.yaml', 'inspect', 'out/none.csv']);
  assert.equal(miss.code, 2);
  assert.match(miss.stderr, /relative to the working directory or to the project folder proj\//);
  assert.equal(r.cli(['-f', 'proj/pipeline.yaml', 'inspect', 'out/t.csv', '--rows', 'x']).code, 2);
});
