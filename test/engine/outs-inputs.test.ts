// An out never swallows an input (issue 17, item 3): a `run:` stage deletes its outs before its
// command runs, so an out that contains — or lies inside — a model's `path:`, a task's stimuli, an
// annotations file, a plugin, another stage's source dep, .git, the store or a mirror would destroy
// what no store holds. Each is a located error (file:line) with exit 2 before anything runs, and
// every file is still there afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rig } from './rig.js';

const PLUGIN = `export default { name: 'noop', description: 'x', isolation: 'inline', outputs: () => [], execute: async () => {} };\n`;

function project(): Rig {
  const rig = new Rig();
  rig.write('models/my-llama/config.json', '{"model_type":"llama"}\n');
  rig.write('data/crt/stimuli.csv', 'item_id\n1\n');
  rig.write('labels/crt1/m.csv', 'item_id,label\n');
  rig.write('plugins/noop.mjs', PLUGIN);
  rig.write('raw/source.csv', 'a\n1\n');
  rig.write('mirror/org/m/config.json', '{}\n');
  rig.write('.git/HEAD', 'ref: refs/heads/main\n');
  return rig;
}

const HEAD = `plugins: [./plugins/noop.mjs]
models:
  - id: my-llama
    path: ./models/my-llama
tasks:
  crt: { stimuli: { path: ./data/crt/stimuli.csv } }
stages:
  labels:
    uses: annotations
    params: { path: labels }
  reader:
    run: "cat raw/source.csv > read.txt"
    deps: [raw/source.csv]
    outs: [read.txt]
  s:
    run: "true"
`;

const cases: { out: string; expect: RegExp; args?: string[] }[] = [
  { out: 'models/', expect: /output "models\/" contains the model folder of "my-llama" \(models\[0\]\.path: models\/my-llama\)/ },
  { out: 'models/my-llama', expect: /output "models\/my-llama" contains the model folder of "my-llama"/ },
  { out: 'models/my-llama/config.json', expect: /output "models\/my-llama\/config\.json" lies inside the model folder of "my-llama"/ },
  { out: 'data/', expect: /output "data\/" contains the stimuli of task crt \(tasks\.crt\.stimuli\.path: data\/crt\/stimuli\.csv\)/ },
  { out: 'labels/crt1/m.csv', expect: /output "labels\/crt1\/m\.csv" lies inside the input "labels" of stage "labels" \(its param path\)/ },
  { out: 'plugins', expect: /output "plugins" contains the plugin plugins\/noop\.mjs/ },
  { out: 'raw/', expect: /output "raw\/" contains "raw\/source\.csv", a dependency of stage "reader"/ },
  { out: '.git/hooks/pre-commit', expect: /output "\.git\/hooks\/pre-commit" lies inside \.git/ },
  { out: 'store2/objects', expect: /output "store2\/objects" overlaps the store/, args: ['--store', 'store2'] },
  { out: 'mirror/', expect: /output "mirror\/" contains the model mirror \(--models-dir mirror\)/, args: ['--models-dir', 'mirror'] },
];

for (const c of cases) {
  test(`outs: "${c.out}" over an input is refused at plan time with file:line, exit 2; nothing is deleted`, () => {
    const rig = project();
    rig.write('pipeline.yaml', `${HEAD}    outs: [${c.out}]\n`);
    for (const verb of [['run'], ['run', '--dry-run'], ['status']]) {
      const r = rig.cli([...(c.args ?? []), ...verb]);
      assert.equal(r.code, 2, `${verb.join(' ')}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /^pipeline\.yaml:17:12 stage "s": /m, r.stderr);
      assert.match(r.stderr, c.expect, r.stderr);
    }
    for (const f of ['models/my-llama/config.json', 'data/crt/stimuli.csv', 'labels/crt1/m.csv', 'plugins/noop.mjs', 'raw/source.csv', 'mirror/org/m/config.json', '.git/HEAD']) {
      assert.ok(rig.exists(f), `${f} survives`);
    }
  });
}

test('outs: an out that another stage reads (the dep names the out itself) still runs', () => {
  const rig = new Rig(`stages:
  make:
    run: "mkdir -p figs && echo a > figs/a.txt"
    outs: [figs/]
  use:
    run: "cat figs/a.txt > used.txt"
    deps: [figs/]
    outs: [used.txt]
  part:
    run: "cat figs/a.txt > part.txt"
    deps: [figs/]
    outs: [part.txt]
`);
  const r = rig.cli(['run']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(rig.read('used.txt'), 'a\n');
});
