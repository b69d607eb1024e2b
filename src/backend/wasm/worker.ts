/** A wasm backend worker: instantiate the kernels over the shared memory, then serve jobs forever. */
import {
  ARGS,
  DONE,
  GEN,
  KERNEL,
  type KernelExports,
  PARAMS,
  POOL_KERNELS,
  READY,
  runJob,
  SLOT,
  SPINS,
  type WorkerInit,
} from "./pool.js";

function serve({ module, memory, init, ctrl, index }: WorkerInit): void {
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
  const ctl = new Int32Array(memory.buffer, ctrl + index * SLOT * 4, SLOT);
  let gen = Atomics.load(ctl, GEN);
  Atomics.store(ctl, READY, 1);
  for (;;) {
    let spins = 0;
    let now = Atomics.load(ctl, GEN);
    while (now === gen) {
      if (++spins > SPINS) Atomics.wait(ctl, GEN, gen);
      now = Atomics.load(ctl, GEN);
    }
    gen = now;
    runJob(k, POOL_KERNELS[ctl[KERNEL]!]!, {
      args: ctl[ARGS]!,
      params: [ctl[PARAMS]!, ctl[PARAMS + 1]!, ctl[PARAMS + 2]!, ctl[PARAMS + 3]!],
    });
    Atomics.store(ctl, DONE, gen);
    Atomics.notify(ctl, DONE);
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
