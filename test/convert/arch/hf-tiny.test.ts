// Each shared hf-tiny checkpoint (Hugging Face layout, references from transformers' own modeling
// classes) converts to a folder the project's LM layer loads like any export: every
// log-probability within 1e-4 of the float64 reference, the same top-20 last-position ids, the
// same 10 greedy tokens (transformers.js generate with the key/value cache). The scoring graph in
// the same folder gives the decoder graph's log-probabilities, in a padded batch and in a token
// tree (shared prefix + two continuations with a hand-built mask).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { convertCheckpoint } from '../../../src/convert/convert.js';
import { loadLanguageModel } from '../../../src/lm/index.js';
import { causalMask, decoderLogits, hfTinyDir, loadRefs, logSoftmaxAt, runScore, session, tempDir } from './helpers.js';

const MODELS = ['gpt2-tiny', 'pythia-tiny', 'llama-tiny', 'olmo-tiny', 'hf_olmo-tiny'] as const;
const TOL = 1e-4;

const temps: Array<{ cleanup(): Promise<void> }> = [];
after(async () => Promise.all(temps.map((t) => t.cleanup())));

for (const name of MODELS) {
  describe(name, () => {
    let out = '';
    const ready = (async () => {
      const t = await tempDir(name);
      temps.push(t);
      out = path.join(t.dir, name);
      return convertCheckpoint(path.join(hfTinyDir, name), out, { dtype: 'fp32' });
    })();

    test('writes a transformers.js folder with the weights once, in external data', async () => {
      const report = await ready;
      const files = new Map(report.files.map((f) => [f.path, f.bytes]));
      for (const f of ['config.json', 'source_config.json', 'tokenizer.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/score.onnx']) {
        assert.ok(files.has(f) && existsSync(path.join(out, f)), `${f} written`);
      }
      // Graph protobufs hold no weights: the data file has ≥ 4 bytes per parameter, the graphs little.
      assert.ok(files.get('onnx/model.onnx_data')! >= 4 * report.parameters);
      assert.ok(files.get('onnx/model.onnx')! < 64 * 1024 && files.get('onnx/score.onnx')! < 64 * 1024);
      assert.deepEqual(report.sourceDtypes, ['F32']);
      const original = JSON.parse(await readFile(path.join(hfTinyDir, name, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(JSON.parse(await readFile(path.join(out, 'source_config.json'), 'utf8')), original);
      const cfg = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      if (name === 'hf_olmo-tiny') {
        // Native OLMo keys so transformers.js knows the model; no remote code named.
        assert.equal(cfg['model_type'], 'olmo');
        assert.equal(cfg['auto_map'], undefined);
        assert.deepEqual([cfg['hidden_size'], cfg['num_hidden_layers'], cfg['num_attention_heads'], cfg['vocab_size']], [64, 2, 4, 1024]);
      } else {
        for (const [k, v] of Object.entries(original)) assert.deepEqual(cfg[k], v, `config.json keeps ${k}`);
      }
    });

    test('log-probabilities, top-20 ids and greedy tokens equal the references', async () => {
      await ready;
      const refs = await loadRefs(name);
      const lm = await loadLanguageModel(out, { plain: true });
      try {
        const seq = await lm.sequence(refs.map((r) => r.text));
        let worst = 0;
        seq.forEach((s, i) => {
          assert.deepEqual(s.inputIds, refs[i]!.ids, `token ids of text ${i}`);
          s.tokenLogprobs.forEach((lp, t) => (worst = Math.max(worst, Math.abs(lp - refs[i]!.logprobs_fp64[t]!))));
        });
        assert.ok(worst < TOL, `max |logprob - reference| = ${worst}`);
        const last = await lm.nextTokenLogits(refs.map((r) => r.text));
        last.forEach((row, i) => {
          const top = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 20);
          assert.deepEqual(top, refs[i]!.last_logits_top20.ids, `top-20 ids of text ${i}`);
        });
        const gen = await lm.generate(refs.slice(0, 12).map((r) => r.text), 10);
        gen.forEach((g, i) => assert.deepEqual(g.newTokenIds, refs[i]!.greedy_10, `greedy tokens of text ${i}`));
      } finally {
        await lm.dispose();
      }
    });

    test('the scoring graph gives the decoder graph\'s log-probabilities (padded batch and a token tree)', async () => {
      await ready;
      const refs = (await loadRefs(name)).filter((r) => r.ids.length >= 6).slice(0, 3);
      const dec = await session(path.join(out, 'onnx', 'model.onnx'));
      const sc = await session(path.join(out, 'onnx', 'score.onnx'));
      try {
        const rows = refs.map((r) => r.ids);
        const T = Math.max(...rows.map((r) => r.length));
        const { data, V } = await decoderLogits(dec, rows);
        const expected = (b: number, t: number, target: number) => logSoftmaxAt(data.subarray((b * T + t) * V, (b * T + t + 1) * V), target);
        // Padded batch: K = the longest row's scored positions; shorter rows repeat their last.
        const K = T - 1;
        const sp = rows.map((r) => Array.from({ length: K }, (_, t) => Math.min(t, r.length - 2)));
        const tg = rows.map((r, b) => sp[b]!.map((t) => r[t + 1]!));
        const res = await runScore(sc, {
          ids: rows.map((r) => [...r, ...new Array(T - r.length).fill(0)]),
          positions: rows.map(() => Array.from({ length: T }, (_, t) => t)),
          mask: causalMask(rows.map((r) => r.length), T),
          scorePositions: sp,
          targets: tg,
          logitsPositions: rows.map((r) => [r.length - 1]),
        });
        let worst = 0;
        rows.forEach((_, b) => sp[b]!.forEach((t, k) => (worst = Math.max(worst, Math.abs(res.logprobs[b * K + k]! - expected(b, t, tg[b]![k]!))))));
        assert.ok(worst < TOL, `padded batch: max |score - decoder| = ${worst}`);
        assert.deepEqual(res.dims, [rows.length, 1, V]);
        rows.forEach((r, b) => {
          for (let v = 0; v < V; v += 7) {
            const d = data[(b * T + r.length - 1) * V + v]!;
            assert.ok(Math.abs(res.logits[b * V + v]! - d) < 1e-4, `logits row ${b} col ${v}`);
          }
        });

        // Tree: prefix P = first 3 tokens of row 0, continuations A = rest of row 0, B = rest of row 1.
        const P = rows[0]!.slice(0, 3);
        const A = rows[0]!.slice(3);
        const Bc = rows[1]!.slice(3);
        const ids = [...P, ...A, ...Bc];
        const n = ids.length;
        const branch = (i: number): number => (i < 3 ? 0 : i < 3 + A.length ? 1 : 2);
        const pos = ids.map((_, i) => (branch(i) === 2 ? i - A.length : i));
        const mask = [Array.from({ length: n }, (_, t) => Array.from({ length: n }, (_, s) => s <= t && (branch(s) === 0 || branch(s) === branch(t))))];
        // Score every token after the prefix given its ancestors: A's tokens, then B's (B's first from P's last).
        const scoreAt: number[] = [];
        const targets: number[] = [];
        const want: number[] = [];
        for (let j = 0; j < A.length; j++) {
          scoreAt.push(j === 0 ? 2 : 3 + j - 1);
          targets.push(A[j]!);
          want.push(expected(0, 2 + j, A[j]!));
        }
        const rowB = [...P, ...Bc];
        const { data: dB, V: VB } = await decoderLogits(dec, [rowB]);
        for (let j = 0; j < Bc.length; j++) {
          scoreAt.push(j === 0 ? 2 : 3 + A.length + j - 1);
          targets.push(Bc[j]!);
          want.push(logSoftmaxAt(dB.subarray((2 + j) * VB, (3 + j) * VB), Bc[j]!));
        }
        const tree = await runScore(sc, { ids: [ids], positions: [pos], mask, scorePositions: [scoreAt], targets: [targets], logitsPositions: [[]] });
        let worstTree = 0;
        want.forEach((w, k) => (worstTree = Math.max(worstTree, Math.abs(tree.logprobs[k]! - w))));
        assert.ok(worstTree < TOL, `tree row: max |score - decoder| = ${worstTree}`);
        assert.deepEqual(tree.dims, [1, 0, V]);
      } finally {
        await dec.release();
        await sc.release();
      }
    });
  });
}
