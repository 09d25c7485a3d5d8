// A scoring-only load on the scoring-graph path never imports transformers.js (~0.4 CPU s per
// `pipeline score` call); the plain path does (the check can see an import). Each load runs in a
// child process whose module resolutions a loader hook writes to a file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { convertCheckpoint } from '../../src/convert/convert.js';
import { repoRoot, sharedDir } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'lm-lazy-import-'));
after(() => rmSync(work, { recursive: true, force: true }));
const model = path.join(work, 'gpt2-tiny');

before(async () => {
  await convertCheckpoint(path.join(sharedDir, 'models', 'hf-tiny', 'gpt2-tiny'), model, { dtype: 'fp32' });
  writeFileSync(path.join(work, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.RESOLVED_LOG, r.url + '\\n');
  return r;
}\n`);
  writeFileSync(path.join(work, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(work, 'hooks.mjs')).href)});\n`);
});

/** Load the model in a child process, score one sentence, and return every module URL it resolved. */
async function resolvedBy(plain: boolean): Promise<string[]> {
  const log = path.join(work, `resolved-${plain}.log`);
  writeFileSync(log, '');
  const index = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'lm', 'index.js')).href;
  const script = `const { loadLanguageModel } = await import(${JSON.stringify(index)});
const lm = await loadLanguageModel(${JSON.stringify(model)}, { plain: ${plain} });
const [r] = await lm.sequence(['Mary had left.']);
if (!(r.logprob < 0)) throw new Error('no score');
process.stdout.write(lm.path);
await lm.dispose();`;
  const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(work, 'register.mjs')).href, '--input-type=module', '-e', script], {
    env: { ...process.env, RESOLVED_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, err);
  assert.equal(out, plain ? 'plain' : 'graph');
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

test('scoring on the scoring-graph path does not import transformers.js; the plain path does', async () => {
  const graph = await resolvedBy(false);
  assert.ok(graph.some((u) => u.includes('onnxruntime-node')), 'the hook sees the graph path import onnxruntime-node');
  assert.deepEqual(graph.filter((u) => u.includes('@huggingface/transformers')), []);
  const plain = await resolvedBy(true);
  assert.ok(plain.some((u) => u.includes('@huggingface/transformers')), 'the plain path imports transformers.js');
});
