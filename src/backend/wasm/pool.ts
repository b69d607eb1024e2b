/**
 * Worker threads over the shared wasm memory. Each worker instantiates the kernel module over the
 * same memory once; jobs are handed over through a control block in that memory: the caller
 * writes a job and bumps the worker's generation, the worker spins briefly, then sleeps in
 * Atomics.wait (pure spinning stalls when other processes hold the cores). No message per op.
 */
import type { WasmHeap } from "./memory.js";

export interface KernelExports {
  init(args: number, scratch: number, packA: number, packB: number): void;
  useArgs(args: number): void;
  heapBase(): number;
  PACK_A_BYTES: WebAssembly.Global;
  PACK_B_BYTES: WebAssembly.Global;
  fill(): void;
  copy(): void;
  unary(): void;
  binary(): void;
  binaryScalar(): void;
  where(): void;
  maskedFill(): void;
  geluBackward(): void;
  triangle(): void;
  adamw(): void;
  reduce(): void;
  argReduce(): void;
  topk(): void;
  softmax(): void;
  softmaxBackward(): void;
  crossEntropy(): void;
  crossEntropyBackward(): void;
  layerNorm(): void;
  layerNormBackward(): void;
  gatherScatter(): void;
  matmul(b0: number, b1: number, m0: number, m1: number): void;
}

/** Int32 slots per worker in the control block: generation, done, 4 job parameters, ready. */
export const SLOT = 16;
export const GEN = 0;
export const DONE = 1;
export const PARAMS = 2;
export const READY = 6;
export const KERNEL = 7;
export const ARGS = 8;

/** Kernels a worker runs: matmul takes its 4 parameters, the others read only their argument block. */
export const POOL_KERNELS = [
  "matmul",
  "fill",
  "copy",
  "unary",
  "binary",
  "binaryScalar",
  "where",
  "maskedFill",
  "geluBackward",
  "adamw",
] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];

/** One thread's share: its argument block and, for matmul, batches and rows. */
export interface Job {
  args: number;
  params: [number, number, number, number];
}

export function runJob(exports: KernelExports, kernel: PoolKernel, job: Job): void {
  exports.useArgs(job.args);
  if (kernel === "matmul") exports.matmul(...job.params);
  else exports[kernel]();
}
/** Spins before sleeping (about 10-20 µs). */
export const SPINS = 2000;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  init: [number, number, number, number];
  ctrl: number;
  index: number;
}

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, fn: (e: unknown) => void): void;
}

type WorkerThreads = { Worker: new (url: URL, options: { workerData: unknown }) => NodeWorker };

function nodeWorkerThreads(): WorkerThreads | null {
  const p = (
    globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (n: string) => unknown } }
  ).process;
  if (!p?.versions?.node || !p.getBuiltinModule) return null;
  return p.getBuiltinModule("node:worker_threads") as WorkerThreads;
}

export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly ctrlPtr: number;
  private readonly gens: number[];
  private readonly workers: { terminate(): unknown }[] = [];
  /** Browser main threads may not Atomics.wait: they only spin. */
  private readonly canWait: boolean;

  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    inits: [number, number, number, number][],
    heap: WasmHeap,
  ) {
    this.ctrlPtr = heap.alloc(inits.length * SLOT * 4, true, () => "").ptr;
    this.ctl = new Int32Array(memory.buffer, this.ctrlPtr, inits.length * SLOT);
    this.gens = inits.map(() => 0);
    const g = globalThis as { window?: unknown };
    this.canWait = typeof g.window === "undefined";
    const url = new URL("./worker.js", import.meta.url);
    const threads = nodeWorkerThreads();
    inits.forEach((init, index) => {
      const data: WorkerInit = { module, memory, init, ctrl: this.ctrlPtr, index };
      if (threads) {
        const w = new threads.Worker(url, { workerData: data });
        w.on("error", (e) => {
          console.error("wasm backend worker failed:", e);
        });
        w.unref();
        this.workers.push(w);
      } else {
        const w = new Worker(url, { type: "module" });
        w.postMessage(data);
        this.workers.push(w);
      }
    });
  }

  /** Shares of kernels handed to workers so far (tests check that work really left this thread). */
  workerJobs = 0;

  /** Workers that have started and serve jobs. */
  readyCount(): number {
    let n = 0;
    for (let w = 0; w < this.gens.length; w++) n += Atomics.load(this.ctl, w * SLOT + READY) === 1 ? 1 : 0;
    return n;
  }

  get size(): number {
    return this.gens.length + 1;
  }

  /** jobs[0] runs here, jobs[1..] on the workers; returns when all are done. */
  run(kernel: PoolKernel, jobs: Job[], exports: KernelExports, homeArgs: number): void {
    const ctl = this.ctl;
    const posted: number[] = [];
    const mine: Job[] = [jobs[0]!];
    const kernelIndex = POOL_KERNELS.indexOf(kernel);
    for (let w = 0; w < jobs.length - 1; w++) {
      const job = jobs[w + 1]!;
      const base = w * SLOT;
      // A worker still starting up (or one that failed to) leaves its share to this thread.
      if (w >= this.gens.length || Atomics.load(ctl, base + READY) !== 1) {
        mine.push(job);
        continue;
      }
      for (let i = 0; i < 4; i++) ctl[base + PARAMS + i] = job.params[i]!;
      ctl[base + KERNEL] = kernelIndex;
      ctl[base + ARGS] = job.args;
      const gen = ++this.gens[w]!;
      Atomics.store(ctl, base + GEN, gen);
      Atomics.notify(ctl, base + GEN);
      posted.push(w);
      this.workerJobs++;
    }
    for (const job of mine) runJob(exports, kernel, job);
    exports.useArgs(homeArgs);
    for (const w of posted) {
      const idx = w * SLOT + DONE;
      const gen = this.gens[w]!;
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctl, idx);
        if (done === gen) break;
        if (++spins > SPINS && this.canWait) Atomics.wait(ctl, idx, done, 100);
      }
    }
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
  }
}
