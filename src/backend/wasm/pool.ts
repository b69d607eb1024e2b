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
  axpy(): void;
  batchNorm(): void;
  batchNormBackward(): void;
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
  gemv(b0: number, b1: number, n0: number, n1: number): void;
}

/**
 * The control block: one slot of Int32s per worker (generation, done, ready, state), then the
 * job table every thread claims shares from: kernel, share count, next unclaimed share, and each
 * share's argument block and 4 parameters.
 */
export const SLOT = 16;
export const GEN = 0;
export const DONE = 1;
export const READY = 2;
export const STATE = 3;
/** A worker's state: idle, a job posted to it, running it, or taken back before it started. */
export const IDLE = 0;
export const POSTED = 1;
export const RUNNING = 2;
export const REVOKED = 3;
export const JOB_KERNEL = 0;
export const JOB_COUNT = 1;
export const JOB_NEXT = 2;
export const JOB_SHARES = 4;
export const SHARE_INTS = 5;

/** Int32s of a control block for `workers` workers and up to `maxShares` shares per job. */
export function controlInts(workers: number, maxShares: number): number {
  return workers * SLOT + JOB_SHARES + maxShares * SHARE_INTS;
}

/** Kernels a worker runs: matmul and gemv take their 4 parameters, the others read only their argument block. */
export const POOL_KERNELS = [
  "matmul",
  "gemv",
  "fill",
  "copy",
  "unary",
  "binary",
  "binaryScalar",
  "where",
  "maskedFill",
  "geluBackward",
  "adamw",
  "axpy",
  "softmax",
  "softmaxBackward",
  "layerNorm",
] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];

/** One share of a job: its argument block and, for matmul, batches and rows (gemv: batches and columns). */
export interface Job {
  args: number;
  params: [number, number, number, number];
}

export function runJob(exports: KernelExports, kernel: PoolKernel, job: Job): void {
  exports.useArgs(job.args);
  if (kernel === "matmul") exports.matmul(...job.params);
  else if (kernel === "gemv") exports.gemv(...job.params);
  else exports[kernel]();
}

/** Claim and run shares of the posted job until none is left; returns how many this thread ran. */
export function claimShares(exports: KernelExports, ctl: Int32Array, table: number): number {
  const kernel = POOL_KERNELS[ctl[table + JOB_KERNEL]!]!;
  const count = ctl[table + JOB_COUNT]!;
  let ran = 0;
  for (;;) {
    const i = Atomics.add(ctl, table + JOB_NEXT, 1);
    if (i >= count) return ran;
    const at = table + JOB_SHARES + i * SHARE_INTS;
    runJob(exports, kernel, {
      args: ctl[at]!,
      params: [ctl[at + 1]!, ctl[at + 2]!, ctl[at + 3]!, ctl[at + 4]!],
    });
    ran++;
  }
}

/** The job table holds this many shares per thread. */
export const MAX_SHARES_PER_THREAD = 2;

/** Spins before sleeping (about 10-20 µs). */
export const SPINS = 2000;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  init: [number, number, number, number];
  /** Byte address of the control block, and the Int32 index of the job table in it. */
  ctrl: number;
  table: number;
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

/**
 * Shares are claimed, not assigned: every thread takes the next unclaimed share until none is
 * left, so a worker that other processes keep off its core leaves its part to the threads that
 * run. A worker that has not started when the caller runs out of shares is taken back (its state
 * moves from posted to revoked, atomically against its own claim), so the caller never waits
 * for a worker that is not running.
 */
export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly ctrlPtr: number;
  private readonly table: number;
  private readonly maxShares: number;
  private readonly gens: number[];
  private readonly workers: { terminate(): unknown }[] = [];
  /** Browser main threads may not Atomics.wait: they only spin. */
  private readonly canWait: boolean;
  /** Shares of kernels workers have run so far (tests check that work really left this thread). */
  workerJobs = 0;

  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    inits: [number, number, number, number][],
    heap: WasmHeap,
  ) {
    this.maxShares = (inits.length + 1) * MAX_SHARES_PER_THREAD;
    const ints = controlInts(inits.length, this.maxShares);
    this.ctrlPtr = heap.alloc(ints * 4, true, () => "").ptr;
    this.ctl = new Int32Array(memory.buffer, this.ctrlPtr, ints);
    this.table = inits.length * SLOT;
    this.gens = inits.map(() => 0);
    const g = globalThis as { window?: unknown };
    this.canWait = typeof g.window === "undefined";
    const url = new URL("./worker.js", import.meta.url);
    const threads = nodeWorkerThreads();
    inits.forEach((init, index) => {
      const data: WorkerInit = { module, memory, init, ctrl: this.ctrlPtr, table: this.table, index };
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

  /** Workers that have started and serve jobs. */
  readyCount(): number {
    let n = 0;
    for (let w = 0; w < this.gens.length; w++) n += Atomics.load(this.ctl, w * SLOT + READY) === 1 ? 1 : 0;
    return n;
  }

  get size(): number {
    return this.gens.length + 1;
  }

  /** Run every share (this thread and the ready workers claim them); returns when all are done. */
  run(kernel: PoolKernel, shares: Job[], exports: KernelExports, homeArgs: number): void {
    if (shares.length > this.maxShares)
      throw new Error(`wasm pool: ${shares.length} shares, at most ${this.maxShares}`);
    const ctl = this.ctl;
    const table = this.table;
    ctl[table + JOB_KERNEL] = POOL_KERNELS.indexOf(kernel);
    ctl[table + JOB_COUNT] = shares.length;
    shares.forEach((share, i) => {
      const at = table + JOB_SHARES + i * SHARE_INTS;
      ctl[at] = share.args;
      for (let p = 0; p < 4; p++) ctl[at + 1 + p] = share.params[p]!;
    });
    Atomics.store(ctl, table + JOB_NEXT, 0);
    const posted: number[] = [];
    for (let w = 0; w < this.gens.length && posted.length < shares.length - 1; w++) {
      const base = w * SLOT;
      if (Atomics.load(ctl, base + READY) !== 1) continue;
      Atomics.store(ctl, base + GEN, ++this.gens[w]!);
      Atomics.store(ctl, base + STATE, POSTED);
      Atomics.notify(ctl, base + GEN);
      posted.push(w);
    }
    const mine = claimShares(exports, ctl, table);
    exports.useArgs(homeArgs);
    this.workerJobs += shares.length - mine;
    for (const w of posted) {
      const base = w * SLOT;
      // Not started yet: take the job back rather than wait for the worker to be scheduled.
      if (Atomics.compareExchange(ctl, base + STATE, POSTED, REVOKED) === POSTED) continue;
      const gen = this.gens[w]!;
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctl, base + DONE);
        if (done === gen) break;
        if (++spins > SPINS && this.canWait) Atomics.wait(ctl, base + DONE, done, 100);
      }
    }
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
  }
}
