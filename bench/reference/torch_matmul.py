"""PyTorch reference for bench/matmul on a GPU (or CPU): float32 matmul timings.

Reads {"sizes": [[M, K, N], ...], "budget": seconds, "device": "cuda" | "cpu"} on stdin. For each
size: 2 warm-up calls, then timed calls (at least 3, until the budget), each synchronised.
Prints one JSON line: {"torch", "device", "times": [[best_s, median_s], ...]}.
"""
import json
import sys
import time

import torch


def main():
    spec = json.load(sys.stdin)
    device = torch.device(spec.get("device", "cuda"))
    # The comparison is float32 against float32: no TF32 tensor cores.
    torch.backends.cuda.matmul.allow_tf32 = False
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for M, K, N in spec["sizes"]:
        a = torch.rand(M, K, device=device) - 0.5
        b = torch.rand(K, N, device=device) - 0.5
        for _ in range(2):
            a @ b
        sync()
        samples = []
        start = time.perf_counter()
        while len(samples) < 3 or (time.perf_counter() - start < spec["budget"] and len(samples) < 50):
            t0 = time.perf_counter()
            a @ b
            sync()
            samples.append(time.perf_counter() - t0)
        samples.sort()
        times.append([samples[0], samples[len(samples) // 2]])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({"torch": torch.__version__, "device": name, "times": times}))


main()
