"""PyTorch reference for bench/shakespeare-char-cpu: nanoGPT's model and training loop.

Reads a JSON spec on stdin: {"data_dir": dir with train.bin/val.bin (uint16), "vocab_size",
"block_size", "batch_size", "n_layer", "n_head", "n_embd", "dropout", "bias", "learning_rate",
"min_lr", "warmup_iters", "lr_decay_iters", "max_iters", "weight_decay", "beta1", "beta2",
"grad_clip", "eval_interval", "eval_iters", "seed"}. Trains as nanoGPT's train.py does (AdamW with
weight decay on >= 2-D parameters, cosine schedule with warmup, gradient clipping, estimate_loss
every eval_interval iterations), prints eval lines on stderr and one JSON line on stdout with
ms_per_iter, wall_s, the final train/val loss, the parameter count, torch's version and threads.
The model is nanoGPT's model.py (pre-LN blocks, exact GELU, tied lm_head), written out here.
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.drop = nn.Dropout(c["dropout"])
        self.n_head = c["n_head"]
        T = c["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.drop(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])
        self.drop = nn.Dropout(c["dropout"])

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.drop(self.c_proj(F.gelu(self.c_fc(self.ln_2(x)))))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.drop = nn.Dropout(c["dropout"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = LayerNorm(c["n_embd"], c["bias"])
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.wte.weight = self.lm_head.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))
            elif p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.size(1)
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T)))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    c = json.load(sys.stdin)
    torch.manual_seed(c.get("seed", 1337))
    data = {s: np.fromfile(f"{c['data_dir']}/{s}.bin", dtype=np.uint16).astype(np.int64) for s in ("train", "val")}
    data = {s: torch.from_numpy(a) for s, a in data.items()}
    bs, T = c["batch_size"], c["block_size"]

    def get_batch(split):
        d = data[split]
        ix = torch.randint(len(d) - T, (bs,))
        return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix])

    model = GPT(c)
    params = [p for p in model.parameters()]
    decay = [p for p in params if p.dim() >= 2]
    nodecay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": c["weight_decay"]}, {"params": nodecay, "weight_decay": 0.0}],
        lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]),
    )

    def get_lr(it):
        if it < c["warmup_iters"]:
            return c["learning_rate"] * (it + 1) / (c["warmup_iters"] + 1)
        if it > c["lr_decay_iters"]:
            return c["min_lr"]
        ratio = (it - c["warmup_iters"]) / (c["lr_decay_iters"] - c["warmup_iters"])
        return c["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (c["learning_rate"] - c["min_lr"])

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {}
        for split in ("train", "val"):
            out[split] = float(np.mean([model(*get_batch(split)).item() for _ in range(c["eval_iters"])]))
        model.train()
        return out

    step_time = 0.0
    steps = 0
    losses = None
    start = time.perf_counter()
    for it in range(c["max_iters"] + 1):
        if it % c["eval_interval"] == 0 or it == c["max_iters"]:
            losses = estimate_loss()
            print(f"torch step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}", file=sys.stderr, flush=True)
        if it == c["max_iters"]:
            break
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = get_lr(it)
        x, y = get_batch("train")
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if c["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        step_time += time.perf_counter() - t0
        steps += 1
    print(json.dumps({
        "ms_per_iter": step_time * 1000 / max(steps, 1), "wall_s": time.perf_counter() - start,
        "train": losses["train"], "val": losses["val"], "parameters": sum(p.numel() for p in params),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))


main()
