#!/usr/bin/env python3
"""The torch side of bench/e2e-bench.ts: a whole process over the same requests the CLI sent.

A hand-written GPT-NeoX forward in PyTorch (Hugging Face's semantics: parallel residual, partial
rotary, exact GELU, fp32) over the checkpoint's safetensors, with a key/value cache, padding masks
and position ids, in two modes:
  one     one sequence at a time (scoring: one forward per request, output layer only where
          scored; generation: greedy with the cache, one prompt at a time)
  batched length-sorted batches of BATCH (16) rows: scoring right-padded (what minicons and
          lm-evaluation-harness do), generation left-padded with position ids from the attention
          mask (cumsum - 1, as Hugging Face generate does); finished rows keep computing until the
          batch ends, as HF generate's do; the output layer at the last position only (leaner
          than HF generate: see hf)
  hf      as batched, but generation does what Hugging Face transformers 4.40.2's `generate`
          does on GPT-NeoX: the prefill applies the output layer to every position of every row
          (modeling_gpt_neox.py, GPTNeoXForCausalLM.forward: `lm_logits = self.embed_out(hidden_states)`
          on the whole [B, S, hidden]; `num_logits_to_keep` came in a later release), and greedy
          search then reads `outputs.logits[:, -1, :]` (generation/utils.py,
          GenerationMixin._greedy_search); finished rows keep computing (`unfinished_sequences`
          replaces their tokens with the pad id) until every row is done. Scoring as batched.
Hugging Face transformers itself is not used (not installable here): this loop stands in for
`model(...)` / `model.generate(...)` with the same arithmetic.

Usage: torch-e2e.py MODEL_DIR JOBS.json OUT.json MODE (one | batched | hf)
  JOBS.json: {"jobs": [{"ids": [...], "start": s} | {"ids": [...], "next": true} | {"ids": [...], "gen": n}], "eos": id}
  OUT.json:  forward tokens, output rows, generated ids, per scoring job its tokens' log-probabilities
             (or a next-token job's argmax), seconds after load, threads.
Threads: torch.set_num_threads(BENCH_THREADS); OMP/OpenBLAS/MKL threads are pinned by the caller's
environment to the same number.
"""

import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch

torch.set_grad_enabled(False)
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
torch.set_num_threads(THREADS)
BATCH = int(os.environ.get("BENCH_TORCH_BATCH", "16"))


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"torch-e2e.py: {name} is {info['dtype']}; only F32 checkpoints are benchmarked")
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


class Neox:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        if cfg.get("model_type") != "gpt_neox":
            raise SystemExit(f"torch-e2e.py: model_type {cfg.get('model_type')!r} is not implemented (gpt_neox)")
        self.cfg = cfg
        self.w = load_safetensors(os.path.join(folder, "model.safetensors"))
        self.H = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.d = self.H // self.heads
        self.rot = int(self.d * cfg.get("rotary_pct", 0.25))
        self.eps = cfg.get("layer_norm_eps", 1e-5)
        self.parallel = cfg.get("use_parallel_residual", True)
        base = cfg.get("rotary_emb_base", 10000)
        self.inv_freq = 1.0 / (base ** (torch.arange(0, self.rot, 2, dtype=torch.int64).float() / self.rot))
        self.layers = cfg["num_hidden_layers"]
        # Linear layers as [in, out] once, so every step is one matmul (torch.nn.functional.linear).
        self.head = self.w["embed_out.weight"]

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, (self.H,), self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def lin(self, x, p):
        return torch.nn.functional.linear(x, self.w[p + ".weight"], self.w[p + ".bias"])

    def rope(self, x, pos):
        # x [B, heads, T, d], pos [B, T]
        freqs = pos.float()[..., None] * self.inv_freq  # [B, T, rot/2]
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # [B, 1, T, rot]
        cos, sin = emb.cos(), emb.sin()
        xr, xp = x[..., : self.rot], x[..., self.rot :]
        half = self.rot // 2
        rotated = torch.cat((-xr[..., half:], xr[..., :half]), dim=-1)
        return torch.cat((xr * cos + rotated * sin, xp), dim=-1)

    def forward(self, ids, pos, keymask, past):
        """ids, pos [B, T]; keymask [B, S] bool (S = past + T); past: list of (k, v) or None."""
        B, T = ids.shape
        S = keymask.shape[1]
        x = self.w["gpt_neox.embed_in.weight"][ids]
        causal = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        mask = causal[None, None] & keymask[:, None, None, :]  # [B, 1, T, S]
        new_past = []
        for i in range(self.layers):
            p = f"gpt_neox.layers.{i}."
            h1 = self.ln(x, p + "input_layernorm")
            qkv = self.lin(h1, p + "attention.query_key_value").view(B, T, self.heads, 3 * self.d).transpose(1, 2)
            q, k, v = qkv[..., : self.d], qkv[..., self.d : 2 * self.d], qkv[..., 2 * self.d :]
            q, k = self.rope(q, pos), self.rope(k, pos)
            if past is not None:
                k = torch.cat((past[i][0], k), dim=2)
                v = torch.cat((past[i][1], v), dim=2)
            new_past.append((k, v))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d)
            scores = scores.masked_fill(~mask, torch.finfo(torch.float32).min)
            a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, self.H)
            a = self.lin(a, p + "attention.dense")

            def mlp(h):
                return self.lin(torch.nn.functional.gelu(self.lin(h, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")

            if self.parallel:
                x = x + a + mlp(self.ln(x, p + "post_attention_layernorm"))
            else:
                x = x + a
                x = x + mlp(self.ln(x, p + "post_attention_layernorm"))
        return self.ln(x, "gpt_neox.final_layer_norm"), new_past


def score_rows(model, rows, stats, results):
    """rows: (job, ids, start, want_next); right-padded batch; output layer only at scored rows.
    results[job] = the scored tokens' log-probabilities, or the next token's argmax."""
    jobs = [r[0] for r in rows]
    rows = [r[1:] for r in rows]
    fed = [r[0] if r[2] else r[0][:-1] for r in rows]
    T = max(len(f) for f in fed)
    ids = torch.zeros(len(rows), T, dtype=torch.int64)
    keymask = torch.zeros(len(rows), T, dtype=torch.bool)
    for b, f in enumerate(fed):
        ids[b, : len(f)] = torch.tensor(f)
        keymask[b, : len(f)] = True
    pos = torch.arange(T)[None].expand(len(rows), T)
    h, _ = model.forward(ids, pos, keymask, None)
    stats["forwardTokens"] += sum(len(f) for f in fed)
    stats["paddedTokens"] += len(rows) * T
    for b, (full, start, want_next) in enumerate(rows):
        if want_next:
            results[jobs[b]] = int((h[b, len(fed[b]) - 1] @ model.head.T).argmax())
            stats["outputRows"] += 1
        else:
            idx = list(range(start - 1, len(full) - 1))
            lp = torch.log_softmax(h[b, idx] @ model.head.T, dim=-1)
            results[jobs[b]] = lp[torch.arange(len(idx)), torch.tensor(full[start:])].tolist()
            stats["outputRows"] += len(idx)


def generate_rows(model, prompts, n, eos, stats, full_logits=False):
    """Greedy, left-padded, positions from the mask; returns new ids per row (cut after EOS).
    full_logits: the prefill computes every position's logits, as HF 4.40.2's generate does."""
    B = len(prompts)
    S = max(len(p) for p in prompts)
    ids = torch.zeros(B, S, dtype=torch.int64)
    keymask = torch.zeros(B, S, dtype=torch.bool)
    for b, p in enumerate(prompts):
        ids[b, S - len(p) :] = torch.tensor(p)
        keymask[b, S - len(p) :] = True
    pos = (keymask.long().cumsum(-1) - 1).clamp(min=0)
    out = [[] for _ in range(B)]
    done = [False] * B
    past = None
    for step in range(n):
        h, past = model.forward(ids, pos, keymask, past)
        stats["forwardTokens"] += int(keymask[:, -ids.shape[1] :].sum()) if step == 0 else B
        stats["paddedTokens"] += B * ids.shape[1]
        if full_logits and step == 0:
            logits = (h @ model.head.T)[:, -1]
            stats["outputRows"] += B * h.shape[1]
        else:
            logits = h[:, -1] @ model.head.T
            stats["outputRows"] += B
        nxt = logits.argmax(-1)
        for b in range(B):
            if not done[b]:
                out[b].append(int(nxt[b]))
                done[b] = int(nxt[b]) == eos
        if all(done):
            break
        ids = nxt[:, None]
        pos = pos[:, -1:] + 1
        keymask = torch.cat((keymask, torch.ones(B, 1, dtype=torch.bool)), dim=1)
    return out


def main(folder, jobs_file, out_file, mode):
    t0 = time.perf_counter()
    model = Neox(folder)
    load_s = time.perf_counter() - t0
    with open(jobs_file) as f:
        spec = json.load(f)
    jobs, eos = spec["jobs"], spec.get("eos", -1)
    stats = {"forwardTokens": 0, "paddedTokens": 0, "outputRows": 0}
    t1 = time.perf_counter()
    c1 = time.process_time()
    scoring = [(i, j["ids"], j.get("start", 0), bool(j.get("next"))) for i, j in enumerate(jobs) if "gen" not in j]
    gens = [(i, j) for i, j in enumerate(jobs) if "gen" in j]
    generated = {}
    scores = {}
    if mode == "one":
        for r in scoring:
            score_rows(model, [r], stats, scores)
        for i, j in gens:
            generated[i] = generate_rows(model, [j["ids"]], j["gen"], eos, stats)[0]
    else:
        order = sorted(scoring, key=lambda r: len(r[1]))
        for k in range(0, len(order), BATCH):
            score_rows(model, order[k : k + BATCH], stats, scores)
        gorder = sorted(gens, key=lambda g: len(g[1]["ids"]))
        for k in range(0, len(gorder), BATCH):
            chunk = gorder[k : k + BATCH]
            n = max(j["gen"] for _, j in chunk)
            res = generate_rows(model, [j["ids"] for _, j in chunk], n, eos, stats, full_logits=mode == "hf")
            for (i, j), r in zip(chunk, res):
                generated[i] = r[: j["gen"]]
    out = {"mode": mode, "loadSeconds": load_s, "seconds": time.perf_counter() - t1, "cpuSeconds": time.process_time() - c1, "threads": torch.get_num_threads(), "torch": torch.__version__, "generated": {str(k): v for k, v in generated.items()}, "scores": {str(k): v for k, v in scores.items()}, **stats}
    with open(out_file, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in ("one", "batched", "hf"):
        raise SystemExit("usage: torch-e2e.py MODEL_DIR JOBS.json OUT.json one|batched|hf")
    main(*sys.argv[1:])
