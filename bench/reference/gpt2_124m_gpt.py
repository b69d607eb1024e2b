"""PyTorch reference for bench/gpt2-124m: GPT-2 (124M) with random weights.

Reads a JSON spec on stdin: {"n_layer", "n_head", "n_embd", "vocab_size", "block_size", "seq",
"prompt", "decode_tokens", "seed"} and optionally "device" ("cpu" or "cuda") and "train_batch",
"train_seq", "train_steps". Times one forward of [1, seq] (after one warm-up), greedy decoding of
decode_tokens tokens with a KV cache after a prompt of `prompt` tokens, and, when train_steps > 0,
training steps (forward, cross-entropy, backward, AdamW) on [train_batch, train_seq] after one
warm-up step. Prints one JSON line: forward_s, decode_tokens_per_s, train_tokens_per_s,
parameters, torch version, threads and device.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["n_embd"]
        self.n_head = c["n_head"]
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x, cache):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        if cache is not None and cache[0] is not None:
            k = torch.cat([cache[0], k], 2)
            v = torch.cat([cache[1], v], 2)
        past = k.size(2) - T
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        if T > 1:
            mask = torch.tril(torch.ones(T, past + T, device=x.device), diagonal=past) == 0
            att = att.masked_fill(mask, float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, (k, v)


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"])
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx, caches=None, last_only=False):
        past = 0 if caches is None or caches[0] is None else caches[0][0].size(2)
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(past, past + T, device=idx.device))
        new = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if caches is None else caches[i])
            new.append(kv)
        x = self.ln_f(x)
        if last_only:
            x = x[:, -1:, :]
        return x @ self.wte.weight.T, new


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_tokens_per_s(model, c, device):
    """Tokens per second of full training steps (forward, loss, backward, AdamW)."""
    B, T, steps = c.get("train_batch", 1), c.get("train_seq", 64), c.get("train_steps", 0)
    if steps <= 0:
        return None
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    x = torch.randint(0, c["vocab_size"], (B, T), device=device)
    y = torch.randint(0, c["vocab_size"], (B, T), device=device)

    def step():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    step().item()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    sync(device)
    model.eval()
    return B * T * steps / (time.perf_counter() - t0)


def main():
    c = json.load(sys.stdin)
    torch.manual_seed(c.get("seed", 0))
    device = torch.device(c.get("device", "cpu"))
    model = GPT(c).to(device).eval()
    train = train_tokens_per_s(model, c, device)
    with torch.no_grad():
        result = inference(model, c, device)
    result.update({
        "train_tokens_per_s": train,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device),
    })
    if device.type == "cuda":
        result["device_name"] = torch.cuda.get_device_name(device)
    print(json.dumps(result))


def inference(model, c, device):
    idx = torch.randint(0, c["vocab_size"], (1, c["seq"]), device=device)
    model(idx[:, :16])
    sync(device)
    t0 = time.perf_counter()
    model(idx)
    sync(device)
    forward_s = time.perf_counter() - t0
    prompt = idx[:, : c["prompt"]]
    logits, caches = model(prompt, [None] * c["n_layer"], last_only=True)
    t0 = time.perf_counter()
    for _ in range(c["decode_tokens"]):
        nxt = logits[:, -1, :].argmax(-1, keepdim=True)
        logits, caches = model(nxt, caches, last_only=True)
    sync(device)
    decode_s = time.perf_counter() - t0
    return {"forward_s": forward_s, "decode_tokens_per_s": c["decode_tokens"] / decode_s}


main()
