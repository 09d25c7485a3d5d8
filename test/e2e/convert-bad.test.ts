// Bad checkpoints fail their convert-model stage with a message naming the file and the tensor,
// and nothing else is lost: with --keep-going the good model is converted and scored, and a
// second run re-runs only the failed stages (which fail the same way).

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/convert/checkpoint.js';
import { writeSafetensors } from '../../src/convert/readers/safetensors-write.js';
import { REPO, Rig } from '../engine/rig.js';
import { scoreStagesYaml } from '../support/score-stages.js';

const SHARED = join(REPO, '..', 'shared');
const PYTHIA = join(SHARED, 'models', 'hf-tiny', 'pythia-tiny');
const STIMULI = join(SHARED, 'data', 'stimuli');

function copyTiny(dest: string, skipWeights = false): void {
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(PYTHIA)) if (!(skipWeights && f === 'model.safetensors')) copyFileSync(join(PYTHIA, f), join(dest, f));
}

/** pythia-tiny split over two shards with an index; returns the tensors of the second shard. */
async function writeSharded(dest: string): Promise<string[]> {
  copyTiny(dest, true);
  const r = await openCheckpoint(PYTHIA);
  const all = r.list();
  const halves = [all.slice(0, all.length / 2), all.slice(all.length / 2)];
  const map: Record<string, string> = {};
  for (const [i, part] of halves.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors = [];
    for (const t of part) {
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await r.readBytes(t.name) });
      map[t.name] = file;
    }
    await writeSafetensors(join(dest, file), tensors);
  }
  await r.close();
  writeFileSync(join(dest, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  return halves[1]!.map((t) => t.name);
}

test('bad checkpoints fail their convert stage naming file and tensor; the good model is still scored', { timeout: 300_000 }, async () => {
  const rig = new Rig();
  const m = join(rig.dir, 'models');
  copyTiny(join(m, 'good'));
  copyTiny(join(m, 'truncated'));
  const cut = join(m, 'truncated', 'model.safetensors');
  truncateSync(cut, statSync(cut).size - 100);
  // The tensor stored last is the one the cut reaches.
  const bytes = readFileSync(join(PYTHIA, 'model.safetensors'));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString()) as Record<string, { data_offsets?: number[] }>;
  const lastTensor = Object.entries(header).filter(([k]) => k !== '__metadata__')
    .sort((x, y) => y[1].data_offsets![1]! - x[1].data_offsets![1]!)[0]![0];
  copyTiny(join(m, 'misshapen'));
  const config = JSON.parse(readFileSync(join(m, 'misshapen', 'config.json'), 'utf8')) as Record<string, number>;
  config['intermediate_size'] = config['intermediate_size']! * 2;
  writeFileSync(join(m, 'misshapen', 'config.json'), JSON.stringify(config));
  const second = await writeSharded(join(m, 'sharded'));
  await writeSharded(join(m, 'unsharded'));
  const gone = join(m, 'unsharded', 'model-00002-of-00002.safetensors');
  // The missing shard: removed after the index was written.
  rmSync(gone);

  const models = ['good', 'truncated', 'misshapen', 'sharded', 'unsharded'];
  rig.write('pipeline.yaml', `version: 1
models:
${models.map((n) => `  - id: test/${n}\n    path: ${join(m, n)}\n    display: { name: ${n}, family: T }`).join('\n')}
tasks:
  blimp: {}
${scoreStagesYaml({ convert: true, params: '{ limit: 2 }' })}`);
  const env = { PIPELINE_STIMULI_DIR: STIMULI };
  const run = await rig.cliAsync(['run', '--keep-going', '--json'], env);
  assert.notEqual(run.code, 0);
  const failed = new Map(Rig.events(run).filter((e) => e['type'] === 'stage-failed').map((e) => [String(e['id']), String(e['message'])]));
  assert.deepEqual([...failed.keys()].sort(), ['convert-model/misshapen', 'convert-model/truncated', 'convert-model/unsharded']);
  assert.match(failed.get('convert-model/truncated')!, new RegExp(`model\\.safetensors: tensor "${lastTensor.replace(/\./g, '\\.')}" ends at byte \\d+ but the file has \\d+ bytes`));
  assert.match(failed.get('convert-model/misshapen')!, /gpt_neox\.layers\.0\.mlp\.dense_(h_to_4h|4h_to_h)\.(weight|bias)/);
  assert.match(failed.get('convert-model/misshapen')!, /model\.safetensors/);
  assert.match(failed.get('convert-model/unsharded')!, new RegExp(`model-00002-of-00002\\.safetensors .*"(${second.map((s) => s.replace(/\./g, '\\.')).join('|')})"`));
  for (const msg of failed.values()) assert.match(msg, /stage convert-model\/\w+ \(convert-model, model test\/\w+\)/);
  const ran = Rig.ran(run);
  for (const ok of ['good', 'sharded']) {
    assert.ok(ran.includes(`convert-model/${ok}`), ran.join(', '));
    assert.ok(ran.includes(`score/blimp/${ok}`), ran.join(', '));
  }
  assert.ok(rig.exists('output/blimp/good.csv') && rig.exists('output/blimp/sharded.csv'));
  // The sharded copy holds the same weights: identical scores.
  assert.equal(rig.read('output/blimp/sharded.csv').replace(/test\/sharded/g, 'M'), rig.read('output/blimp/good.csv').replace(/test\/good/g, 'M'));

  // Again: what succeeded stays; only the failed conversions run (and fail) again.
  const again = await rig.cliAsync(['run', '--keep-going', '--json'], env);
  assert.deepEqual(Rig.ran(again), []);
  const failedAgain = Rig.events(again).filter((e) => e['type'] === 'stage-failed').map((e) => String(e['id'])).sort();
  assert.deepEqual(failedAgain, [...failed.keys()].sort());
});

test('an unknown model_type or a remote-code model fails convert-model at plan time, naming the type and the supported list', { timeout: 120_000 }, async () => {
  const rig = new Rig();
  const m = join(rig.dir, 'models');
  copyTiny(join(m, 'bloomish'));
  copyTiny(join(m, 'remote'));
  const edit = (dir: string, patch: Record<string, unknown>): void => {
    const path = join(m, dir, 'config.json');
    writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, 'utf8')) as object), ...patch }));
  };
  edit('bloomish', { model_type: 'bloom', architectures: ['BloomForCausalLM'] });
  edit('remote', { model_type: 'mpt', auto_map: { AutoModelForCausalLM: 'modeling_mpt.MPTForCausalLM' } });
  // Issue 17: a million layers once ran the engine out of heap at plan time; now the stage alone fails.
  copyTiny(join(m, 'huge'));
  edit('huge', { num_hidden_layers: 1_000_000 });
  copyTiny(join(m, 'notjson'));
  writeFileSync(join(m, 'notjson', 'config.json'), '{"model_type": SECRET-hunter2');
  copyTiny(join(m, 'good'));
  rig.write('pipeline.yaml', `version: 1
models:
  - { id: test/bloomish, path: ${join(m, 'bloomish')} }
  - { id: test/remote, path: ${join(m, 'remote')} }
  - { id: test/huge, path: ${join(m, 'huge')} }
  - { id: test/notjson, path: ${join(m, 'notjson')} }
  - { id: test/good, path: ${join(m, 'good')} }
stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models }
  convert-model:
    uses: convert-model
    matrix: { model: $models }
    needs: [fetch-model]
`);
  const run = await rig.cliAsync(['run', '--keep-going', '--json']);
  assert.notEqual(run.code, 0);
  // A plan that cannot be made blocks the stage (the planner's verdict), with a typed plan failure.
  const blocked = Rig.events(run).filter((e) => e['type'] === 'stage-blocked');
  assert.deepEqual(blocked.map((e) => e['id']).sort(), ['convert-model/bloomish', 'convert-model/huge', 'convert-model/notjson', 'convert-model/remote']);
  const planFailure = (id: string): string => {
    const f = blocked.find((e) => e['id'] === id)!['failure'] as { reason: string; message: string };
    assert.equal(f.reason, 'plan', f.message);
    return f.message;
  };
  const message = (id: string): string => {
    const msg = planFailure(id);
    assert.match(msg, /supported: gpt2, gpt_neox, llama, mistral, gemma, olmo, hf_olmo/);
    return msg;
  };
  assert.match(message('convert-model/bloomish'), /model_type "bloom"/);
  assert.match(message('convert-model/remote'), /model_type "mpt" \(a remote-code model/);
  assert.match(planFailure('convert-model/huge'), /model test\/huge.*num_hidden_layers is 1000000, past the converter's limit of 1024/);
  assert.match(planFailure('convert-model/notjson'), /model test\/notjson.*config\.json is not valid JSON/);
  assert.doesNotMatch(planFailure('convert-model/notjson'), /SECRET|hunter2/);
  // The good model beside them is converted.
  assert.ok(Rig.ran(run).includes('convert-model/good'), Rig.ran(run).join(', '));
});

test('a model whose weights compute NaN fails its score stage with a model fault, not empty cells', { timeout: 300_000 }, async () => {
  const rig = new Rig();
  const m = join(rig.dir, 'models');
  // An ONNX folder as the converter writes it, then damaged in place: its weights made NaN (the
  // converter refuses NaN in a checkpoint, so the damage comes after conversion, as a bad export would).
  const { convertCheckpoint } = await import('../../src/convert/convert.js');
  await convertCheckpoint(PYTHIA, join(m, 'nan'), { dtype: 'fp32' });
  const data = join(m, 'nan', 'onnx', 'model.onnx_data');
  const bytes = readFileSync(data);
  for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeFloatLE(NaN, i);
  writeFileSync(data, bytes);
  rig.write('pipeline.yaml', `version: 1
models:
  - { id: test/nan, path: ${join(m, 'nan')} }
tasks:
  blimp: {}
${scoreStagesYaml({ params: '{ limit: 2 }' })}`);
  const run = await rig.cliAsync(['run', '--keep-going', '--json'], { PIPELINE_STIMULI_DIR: STIMULI });
  assert.notEqual(run.code, 0);
  const failed = Rig.events(run).filter((e) => e['type'] === 'stage-failed');
  assert.deepEqual(failed.map((e) => e['id']), ['score/blimp/nan']);
  assert.match(String(failed[0]!['message']), /model fault: the model computed NaN as the log-probability of token \d+ of item \d+/);
  assert.equal(rig.exists('output/blimp/nan.csv'), false);
});
