"""float32 matmul timings for bench/matmul: reads {"sizes": [[M, K, N], ...], "budget": seconds}
on stdin, prints {"blas", "numpy", "times": [[best, median], ...]} (seconds per call). Threads come
from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS, set by the caller."""
import json
import sys
import time

import numpy as np

cfg = json.load(sys.stdin)
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    name = f"{blas.get('name')} {blas.get('version', '')}".strip()
except Exception:
    name = "unknown BLAS"
out = []
for M, K, N in cfg["sizes"]:
    a = np.random.rand(M, K).astype(np.float32)
    b = np.random.rand(K, N).astype(np.float32)
    for _ in range(2):
        a @ b
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < cfg["budget"] and len(times) < 50):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    times.sort()
    out.append([times[0], times[len(times) // 2]])
print(json.dumps({"blas": name, "numpy": np.__version__, "times": out}))
