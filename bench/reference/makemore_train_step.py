"""PyTorch reference for bench/train-step: ms per training step of the makemore models.

Reads a JSON spec on stdin: {"model": "mlp-bn" | "wavenet", "names": path to names.txt,
"batch": 32, "steps": N, "warmup": N, "seed": 42}. Prints one JSON line with ms_per_step,
the final loss, torch's version and its thread count. With "serve": true (spec on the first
line) it warms up, prints its version line, then times the step count on each further line.

mlp-bn is lecture 4's model (Embedding 27x10, context 3, Linear 30->200 without bias,
BatchNorm1d, Tanh, Linear 200->27: 12,097 parameters). wavenet is lecture 6's (context 8,
n_embd 24, n_hidden 128, three FlattenConsecutive(2) levels: 76,579 parameters), with the
lecture's own BatchNorm1d that reduces 3-D input over dims (0, 1).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class FlattenConsecutive(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        return x.squeeze(1) if x.shape[1] == 1 else x


class BatchNorm1dLecture(nn.Module):
    """The lecture's BatchNorm1d: statistics over dim 0 (2-D) or dims (0, 1) (3-D)."""

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x):
        dims = 0 if x.ndim == 2 else (0, 1)
        mean = x.mean(dims, keepdim=True)
        var = x.var(dims, keepdim=True)
        out = self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.squeeze())
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * var.squeeze())
        return out


def build(model, vocab):
    if model == "mlp-bn":
        block = 3
        net = nn.Sequential(
            nn.Embedding(vocab, 10), nn.Flatten(), nn.Linear(30, 200, bias=False),
            nn.BatchNorm1d(200), nn.Tanh(), nn.Linear(200, vocab),
        )
    elif model == "wavenet":
        block, n_embd, n_hidden = 8, 24, 128
        net = nn.Sequential(
            nn.Embedding(vocab, n_embd),
            FlattenConsecutive(2), nn.Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1dLecture(n_hidden), nn.Tanh(),
            FlattenConsecutive(2), nn.Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1dLecture(n_hidden), nn.Tanh(),
            FlattenConsecutive(2), nn.Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1dLecture(n_hidden), nn.Tanh(),
            nn.Linear(n_hidden, vocab),
        )
    else:
        raise SystemExit(f"unknown model {model}")
    return net, block


def windows(words, stoi, block):
    X, Y = [], []
    for w in words:
        context = [0] * block
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def main():
    spec = json.loads(sys.stdin.readline())
    torch.manual_seed(spec.get("seed", 42))
    words = open(spec["names"]).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    net, block = build(spec["model"], len(stoi))
    X, Y = windows(words, stoi, block)
    params = list(net.parameters())
    g = torch.Generator().manual_seed(spec.get("seed", 42))

    def step():
        ix = torch.randint(0, X.shape[0], (spec["batch"],), generator=g)
        loss = F.cross_entropy(net(X[ix]), Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-0.1)
        return loss.item()

    for _ in range(spec["warmup"]):
        step()
    if spec.get("serve"):
        # Paired timing: the bench sends a step count per line and gets the milliseconds back, so
        # PyTorch and herograd take turns within the same seconds of this shared machine.
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            n = int(line)
            start = time.perf_counter()
            for _ in range(n):
                step()
            print(json.dumps({"ms": (time.perf_counter() - start) * 1000}), flush=True)
        return
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        loss = step()
    ms = (time.perf_counter() - start) * 1000 / spec["steps"]
    print(json.dumps({
        "ms_per_step": ms, "loss": loss, "parameters": sum(p.numel() for p in params),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))


main()
