/** A wasm backend worker: instantiate the kernels over the shared memory, then serve jobs forever. */
import {
  claimShares,
  DONE,
  GEN,
  IDLE,
  type KernelExports,
  POSTED,
  READY,
  RUNNING,
  SLOT,
  SPINS,
  STATE,
  type WorkerInit,
} from "./pool.js";

function serve({ module, memory, init, ctrl, table, index }: WorkerInit): void {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort: () => {
        throw new Error("wasm backend worker: kernel aborted");
      },
    },
  });
  const k = instance.exports as unknown as KernelExports;
  k.init(...init);
  const ctl = new Int32Array(memory.buffer, ctrl);
  const base = index * SLOT;
  let seen = Atomics.load(ctl, base + GEN);
  Atomics.store(ctl, base + READY, 1);
  for (;;) {
    let spins = 0;
    let now = Atomics.load(ctl, base + GEN);
    while (now === seen) {
      if (++spins > SPINS) Atomics.wait(ctl, base + GEN, seen);
      now = Atomics.load(ctl, base + GEN);
    }
    seen = now;
    // The caller may have taken the job back (it ran out of shares before this thread woke).
    if (Atomics.compareExchange(ctl, base + STATE, POSTED, RUNNING) !== POSTED) continue;
    // A job cannot be posted again until this one is done, so GEN is this job's generation.
    const gen = Atomics.load(ctl, base + GEN);
    seen = gen;
    claimShares(k, ctl, table);
    Atomics.store(ctl, base + STATE, IDLE);
    Atomics.store(ctl, base + DONE, gen);
    Atomics.notify(ctl, base + DONE);
  }
}

const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
if (node) {
  const { workerData } = await import("node:worker_threads");
  serve(workerData as WorkerInit);
} else {
  (globalThis as unknown as { onmessage: (e: MessageEvent<WorkerInit>) => void }).onmessage = (e) =>
    serve(e.data);
}
