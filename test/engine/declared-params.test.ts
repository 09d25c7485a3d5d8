// Every built-in kind declares every param it reads: a misspelt param of any kind is a located
// error when the pipeline is expanded (exit 2), naming the stage, the kind and the closest name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { PipelineError } from '../../src/engine/diagnostics.js';
import { BUILTIN_KINDS, KindRegistry } from '../../src/engine/registry.js';
import { Rig } from './rig.js';

const registry = new KindRegistry();

/** A near miss of the kind's first param (two different neighbouring letters swapped), or any name
 * for a kind without params. */
function misspelt(names: string[]): string {
  const n = names[0];
  if (!n) return 'colour';
  const i = [...n].findIndex((c, j) => j > 0 && j + 1 < n.length && c !== n[j + 1]);
  return n.slice(0, i) + n[i + 1]! + n[i]! + n.slice(i + 2);
}

async function refusal(pipeline: string): Promise<PipelineError> {
  const r = new Rig(pipeline);
  try {
    await Engine.open({ file: join(r.dir, 'pipeline.yaml') });
  } catch (e: unknown) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  assert.fail('the pipeline was accepted');
}

for (const kind of BUILTIN_KINDS.filter((k) => k !== 'run')) {
  test(`kind ${kind}: a misspelt param is a located error`, async () => {
    const decls = (await registry.get(kind)).params;
    assert.ok(decls, `kind ${kind} declares its params`);
    const names = Object.keys(decls);
    const typo = misspelt(names);
    const e = await refusal(`stages:\n  s:\n    uses: ${kind}\n    params:\n      ${typo}: 1\n`);
    assert.equal(e.diagnostics.length, 1, e.message);
    const d = e.diagnostics[0]!;
    assert.deepEqual([d.line, d.col], [5, 7]);
    const hint = names.length ? `; its params: ${names.join(', ')}` : '; it takes no params';
    assert.ok(d.message.startsWith(`stage "s": kind ${kind} has no param "${typo}"`) && d.message.endsWith(hint), d.message);
    if (names.length) assert.match(d.message, new RegExp(`did you mean "${names[0]}"`));
  });
}

test('build-model: format is declared (checkpoint accepted, a bad value refused), and a misspelt name in a model\'s build: block is located there', async () => {
  const head = 'models:\n  - { name: tiny, id: local/tiny, build: { seed: 1, formta: checkpoint } }\nstages:\n  b:\n    uses: build-model\n    matrix: { model: [tiny] }\n';
  const e = await refusal(head);
  assert.equal(e.diagnostics.length, 1, e.message);
  assert.equal(e.diagnostics[0]!.line, 2);
  assert.match(e.diagnostics[0]!.message, /^model "tiny" build: kind build-model has no param "formta".*did you mean "format"/);
  const ok = new Rig(head.replace('formta', 'format'));
  const engine = await Engine.open({ file: join(ok.dir, 'pipeline.yaml') });
  assert.deepEqual(engine.graph.order.map((i) => i.id), ['b/tiny']);
  const bad = await refusal(head.replace(', formta: checkpoint', '').replace('build-model\n', 'build-model\n    params: { format: safetensors }\n'));
  assert.match(bad.message, /param format of kind build-model must be one of onnx, checkpoint, got "safetensors"/);
});

test('statistics: a misspelt param exits 2 from the CLI, with the line underlined', () => {
  const r = new Rig('stages:\n  st:\n    uses: statistics\n    params: { rscirpt: /usr/bin/Rscript }\n');
  const out = r.cli(['status']);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /pipeline\.yaml:4:15 stage "st": kind statistics has no param "rscirpt" \(did you mean "rscript"\?\); its params: domain, rscript\n 4 \| /);
});
