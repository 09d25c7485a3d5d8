#!/usr/bin/env python3
"""The anchor of bench/score-bench.ts: a plain PyTorch loop over the same requests and weights.

What a researcher would otherwise write: load the checkpoint's safetensors, run a small
hand-written GPT-NeoX (or GPT-2) forward in torch, one sequence at a time, and apply the output
layer only at the positions that are scored (plus the last position for next-token logits). No
batching, no prefix sharing, no key/value cache. Log-softmax in float32 over the full width.

Usage: torch-score.py MODEL_DIR JOBS.json OUT.json [LOGITS.bin]
  JOBS.json: {"tasks": [{"name", "jobs": [{"ids": [...], "start": s, "next": bool}]}]}
  OUT.json:  per task: wall seconds, forward tokens, output-layer rows, and per job the token
             log-probabilities; LOGITS.bin: the float32 next-token rows, in job order.
  torch-score.py --selftest MODEL_DIR REFS.jsonl   checks the forward against hf-tiny references.
"""

import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

torch.set_grad_enabled(False)
if os.environ.get("BENCH_SCORE_THREADS", "0") not in ("", "0"):
    torch.set_num_threads(int(os.environ["BENCH_SCORE_THREADS"]))

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        if info["dtype"] == "BF16":
            raw = np.frombuffer(data[base + a : base + b], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[base + a : base + b], dtype=DTYPES[info["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def causal_attention(q, k, v, scale):
    # q, k, v: [heads, T, d]
    T = q.shape[1]
    scores = (q @ k.transpose(1, 2)) * scale
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class GptNeox:
    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.H = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.d = self.H // self.heads
        self.rot = int(self.d * cfg.get("rotary_pct", 0.25))
        self.eps = cfg.get("layer_norm_eps", 1e-5)
        self.parallel = cfg.get("use_parallel_residual", True)
        base = cfg.get("rotary_emb_base", 10000)
        self.inv_freq = 1.0 / (base ** (torch.arange(0, self.rot, 2, dtype=torch.int64).float() / self.rot))
        self.head = w["embed_out.weight"] if "embed_out.weight" in w else w["gpt_neox.embed_in.weight"]

    def rope(self, x, T):
        t = torch.arange(T, dtype=torch.int64).float()
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        xr, xp = x[..., : self.rot], x[..., self.rot :]
        half = self.rot // 2
        rotated = torch.cat((-xr[..., half:], xr[..., :half]), dim=-1)
        return torch.cat((xr * cos + rotated * sin, xp), dim=-1)

    def hidden(self, ids):
        w, T = self.w, len(ids)
        x = w["gpt_neox.embed_in.weight"][torch.tensor(ids)]
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"gpt_neox.layers.{i}."
            h1 = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], self.eps)
            qkv = h1 @ w[p + "attention.query_key_value.weight"].T + w[p + "attention.query_key_value.bias"]
            qkv = qkv.view(T, self.heads, 3 * self.d).transpose(0, 1)  # [heads, T, 3d]
            q, k, v = qkv[..., : self.d], qkv[..., self.d : 2 * self.d], qkv[..., 2 * self.d :]
            q, k = self.rope(q, T), self.rope(k, T)
            a = causal_attention(q, k, v, 1.0 / math.sqrt(self.d)).transpose(0, 1).reshape(T, self.H)
            a = a @ w[p + "attention.dense.weight"].T + w[p + "attention.dense.bias"]

            def mlp(h):
                u = torch.nn.functional.gelu(h @ w[p + "mlp.dense_h_to_4h.weight"].T + w[p + "mlp.dense_h_to_4h.bias"])
                return u @ w[p + "mlp.dense_4h_to_h.weight"].T + w[p + "mlp.dense_4h_to_h.bias"]

            if self.parallel:
                h2 = layer_norm(x, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], self.eps)
                x = x + a + mlp(h2)
            else:
                x = x + a
                x = x + mlp(layer_norm(x, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], self.eps))
        return layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], self.eps)


class Gpt2:
    def __init__(self, cfg, w):
        self.cfg = cfg
        pre = "transformer." if "transformer.wte.weight" in w else ""
        self.w = {k[len(pre) :] if k.startswith(pre) else k: v for k, v in w.items()}
        self.H = cfg["n_embd"]
        self.heads = cfg["n_head"]
        self.d = self.H // self.heads
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.head = self.w.get("lm_head.weight", self.w["wte.weight"])

    def hidden(self, ids):
        w, T = self.w, len(ids)
        x = w["wte.weight"][torch.tensor(ids)] + w["wpe.weight"][:T]
        for i in range(self.cfg["n_layer"]):
            p = f"h.{i}."
            h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
            q, k, v = (t.view(T, self.heads, self.d).transpose(0, 1) for t in qkv.split(self.H, dim=-1))
            a = causal_attention(q, k, v, 1.0 / math.sqrt(self.d)).transpose(0, 1).reshape(T, self.H)
            x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            u = torch.nn.functional.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
            x = x + u @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        return layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], self.eps)


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = load_safetensors(os.path.join(folder, "model.safetensors"))
    kind = cfg.get("model_type")
    if kind == "gpt_neox":
        return GptNeox(cfg, w)
    if kind == "gpt2":
        return Gpt2(cfg, w)
    raise SystemExit(f"torch-score.py: model_type {kind!r} is not implemented (gpt_neox, gpt2)")


def score_job(model, ids, start, want_next):
    """Token log-probabilities of ids[start:], and the last position's logits when asked."""
    n = len(ids)
    fed = ids if want_next else ids[:-1]
    if len(fed) == 0 or (not want_next and n <= start):
        return [], None, 0, 0
    h = model.hidden(fed)
    rows = list(range(start - 1, n - 1)) if not want_next else []
    logprobs = []
    if rows:
        logits = h[rows] @ model.head.T
        lp = torch.log_softmax(logits.float(), dim=-1)
        logprobs = lp[torch.arange(len(rows)), torch.tensor(ids[start:])].tolist()
    last = None
    if want_next:
        last = (h[-1:] @ model.head.T)[0].float().numpy()
    return logprobs, last, len(fed), len(rows) + (1 if want_next else 0)


def run(folder, jobs_file, out_file, logits_file):
    t0 = time.perf_counter()
    model = load_model(folder)
    load_s = time.perf_counter() - t0
    with open(jobs_file) as f:
        spec = json.load(f)
    out = {"loadSeconds": load_s, "tasks": []}
    rows_out = []
    for task in spec["tasks"]:
        t = time.perf_counter()
        c = time.process_time()
        tokens = 0
        head_rows = 0
        results = []
        for job in task["jobs"]:
            lp, last, fed, r = score_job(model, job["ids"], job["start"], job.get("next", False))
            tokens += fed
            head_rows += r
            results.append(lp)
            if last is not None:
                rows_out.append(last)
        out["tasks"].append({"name": task["name"], "seconds": time.perf_counter() - t, "cpuSeconds": time.process_time() - c, "forwardTokens": tokens, "outputRows": head_rows, "logprobs": results})
    out["peakRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["torch"] = torch.__version__
    out["threads"] = torch.get_num_threads()
    with open(out_file, "w") as f:
        json.dump(out, f)
    if logits_file:
        with open(logits_file, "wb") as f:
            for r in rows_out:
                f.write(r.astype(np.float32).tobytes())


def selftest(folder, refs):
    model = load_model(folder)
    worst = 0.0
    with open(refs) as f:
        for line in f:
            ref = json.loads(line)
            lp, _, _, _ = score_job(model, ref["ids"], 1, False)
            worst = max([worst] + [abs(a - b) for a, b in zip(lp, ref["logprobs_fp64"])])
    print(f"max |torch - reference| = {worst:.2e}")
    if worst > 1e-4:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "--selftest":
        selftest(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
