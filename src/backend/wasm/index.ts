/**
 * The wasm backend: tensor storage lives in one WebAssembly.Memory (shared between threads where
 * the platform allows), kernels are AssemblyScript compiled to SIMD wasm (assembly/kernels.ts).
 * The host walks nothing itself: it merges dims into rows (as the js kernels do), writes the
 * row description into an argument block in wasm memory, and calls the kernel.
 */

import { mergeDimsInto, moveDimLast } from "../layout.js";
import {
  ARGS_BYTES,
  DTYPE_CODE,
  F_BASE_BYTES,
  KERNEL_ERROR_CODE,
  MAX_DIMS,
  MAX_OPERANDS,
  Slot,
} from "../spec/abi.js";
import {
  type Backend,
  BYTES_PER_ELEMENT,
  type DType,
  type KernelArgs,
  type KernelName,
  type MemoryStats,
  type OptionalKernelArgs,
  type OptionalKernelName,
  type Storage,
  type TypedArray,
  type View,
} from "../types.js";
import * as attentionKernels from "./attention.js";
import * as batchnormKernels from "./batchnorm.js";
import * as elementwiseKernels from "./elementwise.js";
import { WASM_BINARIES } from "./generated/binaries.js";
import * as indexingKernels from "./indexing.js";
import * as matmulKernels from "./matmul.js";
import { WasmHeap } from "./memory.js";
import { nativeStatus } from "./native.js";
import { NativeKernels } from "./native-kernels.js";
import * as nnKernels from "./nn.js";
import * as optimKernels from "./optim.js";
import { type Job, type KernelExports, type PoolKernel, WorkerPool } from "./pool.js";
import * as reduceKernels from "./reduce.js";

export interface WasmStorage extends Storage {
  /** Byte address of element 0. */
  readonly ptr: number;
  /** Bytes of the block (its size class). */
  readonly capacity: number;
  freed: boolean;
}

/** Row-walk state and a 4×8 tile per thread. */
const SCRATCH_BYTES = 4096;
/** Elementwise ops below this many elements run on the calling thread alone (about 1 MFLOP). */
export const PARALLEL_ELEMENTS = 1 << 18;

/** 4 GiB, all a wasm32 memory can address (GPT-2 124M with AdamW state needs over 2). */
const MAX_PAGES = 65536;

export type WasmVariant = "relaxedShared" | "simdShared" | "relaxed" | "simd";

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const moduleCache = new Map<WasmVariant, WebAssembly.Module | null>();

/** The compiled module of a variant, or null when this runtime cannot validate it. */
export function wasmModule(variant: WasmVariant): WebAssembly.Module | null {
  if (!moduleCache.has(variant)) {
    const bytes = decodeBase64(WASM_BINARIES[variant]);
    moduleCache.set(variant, WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
  }
  return moduleCache.get(variant)!;
}

function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  // Browsers expose SharedArrayBuffer only when cross-origin isolated.
  const g = globalThis as { crossOriginIsolated?: boolean };
  return g.crossOriginIsolated !== false;
}

/** The best variant this runtime runs: relaxed SIMD before plain SIMD, shared memory when allowed. */
export function pickVariant(threads: boolean): WasmVariant | null {
  const order: WasmVariant[] =
    threads && sharedMemoryAvailable()
      ? ["relaxedShared", "simdShared", "relaxed", "simd"]
      : ["relaxed", "simd"];
  for (const v of order) if (wasmModule(v)) return v;
  return null;
}

/** True where WebAssembly SIMD runs: the wasm backend can be used (and is the default). */
export function wasmAvailable(): boolean {
  try {
    return typeof WebAssembly === "object" && pickVariant(false) !== null;
  } catch {
    return false;
  }
}

function defaultThreads(): number {
  const env = typeof process !== "undefined" ? process.env?.HERO_WASM_THREADS : undefined;
  if (env) return Math.max(1, Number.parseInt(env, 10) || 1);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  // Node 20 has no navigator: ask node:os (getBuiltinModule keeps this file free of Node imports).
  const p = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const os = p?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? 1);
}

function kernelsLine(variant: WasmVariant, threads: number, nativeIsa: string | null): string {
  const wasm = `wasm ${variant}, ${threads} thread${threads === 1 ? "" : "s"}`;
  if (!nativeIsa) return `${wasm} (native kernels: ${nativeStatus().reason || "off"})`;
  return `native ${nativeIsa} for matmul, linear, attention, AdamW, axpy, layer norm and GELU backward; ${wasm}`;
}

/** Where the default wasm backend's kernels would run here, in one line (`hero --version`, `hero bench`). */
export function describeCpuKernels(): string {
  const threads = defaultThreads();
  const variant = wasmAvailable() ? pickVariant(threads > 1) : null;
  if (!variant) return "js (this runtime has no WebAssembly SIMD)";
  return kernelsLine(variant, variant.endsWith("Shared") ? threads : 1, nativeStatus().isa);
}

export interface WasmBackendOptions {
  /** Threads including the calling one (default: HERO_WASM_THREADS or the number of cores). */
  threads?: number;
  /** Force a variant (tests, benchmarks). */
  variant?: WasmVariant;
  /** Run the hot kernels (matmul, linear, attention, AdamW, axpy, layer norm and GELU backward) in the native addon where it loaded (default true; HERO_NATIVE=0 turns it off). */
  native?: boolean;
  /** The name it is registered under (default "wasm"). */
  name?: string;
}

const SLAB_BYTES = 64 * 1024;

function typedArrayOn(dtype: DType, buffer: ArrayBuffer, offset: number, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, offset, size);
    case "float64":
      return new Float64Array(buffer, offset, size);
    case "int32":
      return new Int32Array(buffer, offset, size);
    case "bool":
      return new Uint8Array(buffer, offset, size);
  }
}

export class WasmBackend implements Backend {
  readonly name: string;
  readonly synchronous = true;
  readonly variant: WasmVariant;
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  readonly heap: WasmHeap;
  readonly argsPtr: number;
  private i32: Int32Array;
  private f64: Float64Array;
  pool: WorkerPool | null | undefined;
  readonly startPool: () => WorkerPool | null;
  private buffers = 0;
  private liveBytes = 0;
  private peak = 0;
  /** Where release() copies small tensors (see there). */
  private slab: ArrayBuffer | null = null;
  private slabUsed = 0;
  /** The native kernels (Node, addon built, AVX2 or AVX-512), or null: then every kernel is wasm. */
  readonly native: NativeKernels | null;

  constructor(options: WasmBackendOptions = {}) {
    this.name = options.name ?? "wasm";
    const wantThreads = options.threads ?? defaultThreads();
    const variant = options.variant ?? pickVariant(wantThreads > 1);
    if (!variant) throw new Error("wasm backend: this runtime has no WebAssembly SIMD");
    this.variant = variant;
    const shared = variant.endsWith("Shared");
    this.threads = shared ? wantThreads : 1;
    const module = wasmModule(variant);
    if (!module) throw new Error(`wasm backend: the ${variant} build does not validate on this runtime`);
    this.memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared });
    const abort = (message: number) => wasmAbort(this.memory, message);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort } });
    this.exports = instance.exports as unknown as KernelExports;
    this.heap = new WasmHeap(this.memory, this.exports.heapBase(), MAX_PAGES);
    const none = () => "";
    this.argsPtr = this.heap.alloc(ARGS_BYTES, true, none).ptr;
    const perThread = () => {
      const scratch = this.heap.alloc(SCRATCH_BYTES, true, none).ptr;
      const packA = this.heap.alloc(this.exports.PACK_A_BYTES.value, true, none).ptr;
      const packB = this.heap.alloc(this.exports.PACK_B_BYTES.value, true, none).ptr;
      return [this.argsPtr, scratch, packA, packB] as [number, number, number, number];
    };
    this.exports.init(...perThread());
    this.i32 = new Int32Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 4);
    this.f64 = new Float64Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 8);
    const { addon, isa } = nativeStatus();
    // Native threads need no shared memory: they get the thread count even on a one-thread variant.
    this.native =
      addon && isa && options.native !== false
        ? new NativeKernels(addon, isa, wantThreads, this.heap, (v) => this.address(v))
        : null;
    if (this.native) {
      this.optionalKernels.attention = (args) => this.attention(args);
      this.optionalKernels.attentionBackward = (args) => this.attentionBackward(args);
      this.optionalKernels.linear = (args) => this.linear(args);
    }
    // Workers start on the first matmul big enough to split.
    this.startPool = () => {
      const inits = Array.from({ length: this.threads - 1 }, perThread);
      return inits.length > 0 ? new WorkerPool(module, this.memory, inits, this.heap) : null;
    };
    this.warmUp();
  }

  /** Start the worker threads now and resolve once all serve jobs (else they start on the first big matmul). */
  async startThreads(timeoutMs = 10000): Promise<number> {
    if (this.pool === undefined) this.pool = this.startPool();
    const pool = this.pool;
    if (!pool) return 1;
    const until = Date.now() + timeoutMs;
    while (pool.readyCount() < this.threads - 1 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return pool.readyCount() + 1;
  }

  /** Threads: configured, workers serving jobs now, and kernel shares they have run. */
  threadStats(): { threads: number; workersReady: number; workerJobs: number } {
    return {
      threads: this.threads,
      workersReady: this.pool?.readyCount() ?? 0,
      workerJobs: this.pool?.workerJobs ?? 0,
    };
  }

  /** V8 runs fresh wasm in its baseline tier and optimizes between calls: call the matmul a few times. */
  private warmUp(): void {
    const a = this.alloc("float32", 64 * 64);
    const c = this.alloc("float32", 64 * 64);
    const view = (s: Storage): View => ({ storage: s, shape: [64, 64], strides: [64, 1], offset: 0 });
    for (let i = 0; i < 3; i++) this.matmul({ a: view(a), b: view(a), out: view(c) });
    this.free(a);
    this.free(c);
  }

  /** Where this backend's kernels run, in one line. */
  describeKernels(): string {
    return kernelsLine(this.variant, this.threads, this.native?.isa ?? null);
  }

  private describe(): string {
    return `${this.liveBytes} bytes live in ${this.buffers} tensors, ${this.heap.cachedBytes} bytes cached for reuse`;
  }

  alloc(dtype: DType, size: number): WasmStorage {
    const bytes = size * BYTES_PER_ELEMENT[dtype];
    // Contents are unspecified by the interface: a reused block is not cleared.
    const { ptr, capacity } = this.heap.alloc(bytes, false, () => this.describe());
    this.buffers++;
    this.liveBytes += bytes;
    if (this.liveBytes > this.peak) this.peak = this.liveBytes;
    return { dtype, size, ptr, capacity, freed: false };
  }

  /**
   * The values in JS memory, and the block freed. Tensors under 4 KiB share 64 KiB slabs (an
   * ArrayBuffer each costs more than the copy); a slab is reclaimed once no tensor in it is left.
   * Slabs stay under malloc's mmap threshold, so freed ones are reused without page faults.
   */
  release(storage: Storage): TypedArray {
    const s = storage as WasmStorage;
    const bytes = s.size * BYTES_PER_ELEMENT[s.dtype];
    const aligned = Math.ceil(bytes / 8) * 8;
    let buffer: ArrayBuffer;
    let offset = 0;
    if (aligned > SLAB_BYTES / 16) buffer = new ArrayBuffer(aligned);
    else {
      if (!this.slab || this.slabUsed + aligned > SLAB_BYTES) {
        this.slab = new ArrayBuffer(SLAB_BYTES);
        this.slabUsed = 0;
      }
      buffer = this.slab;
      offset = this.slabUsed;
      this.slabUsed += aligned;
    }
    new Uint8Array(buffer, offset, bytes).set(this.heap.bytes().subarray(s.ptr, s.ptr + bytes));
    this.free(s);
    return typedArrayOn(s.dtype, buffer, offset, s.size);
  }

  adopt(dtype: DType, values: TypedArray): WasmStorage {
    const storage = this.alloc(dtype, values.length);
    this.heap.bytes().set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), storage.ptr);
    return storage;
  }

  free(storage: Storage): void {
    const s = storage as WasmStorage;
    if (s.freed) return;
    s.freed = true;
    this.buffers--;
    this.liveBytes -= s.size * BYTES_PER_ELEMENT[s.dtype];
    this.heap.free(s.ptr, s.capacity);
  }

  private typed(s: WasmStorage): TypedArray {
    const buf = this.memory.buffer;
    switch (s.dtype) {
      case "float32":
        return new Float32Array(buf, s.ptr, s.size);
      case "float64":
        return new Float64Array(buf, s.ptr, s.size);
      case "int32":
        return new Int32Array(buf, s.ptr, s.size);
      case "bool":
        return new Uint8Array(buf, s.ptr, s.size);
    }
  }

  write(storage: Storage, values: ArrayLike<number>, offset = 0): void {
    const s = storage as WasmStorage;
    const t = this.typed(s);
    if (s.dtype === "bool") for (let i = 0; i < values.length; i++) t[offset + i] = values[i] ? 1 : 0;
    else t.set(values, offset);
  }

  read(storage: Storage): Promise<TypedArray> {
    return Promise.resolve(this.readSync(storage));
  }

  readSync(storage: Storage): TypedArray {
    return this.typed(storage as WasmStorage).slice();
  }

  memoryStats(): MemoryStats {
    return { buffers: this.buffers, bytes: this.liveBytes };
  }

  peakBytes(): number {
    return this.peak;
  }

  resetPeak(): void {
    this.peak = this.liveBytes;
  }

  /** Heap detail beyond memoryStats: bytes cached in free lists and the wasm memory size. */
  heapStats(): { cachedBytes: number; heapTop: number; memoryBytes: number } {
    return {
      cachedBytes: this.heap.cachedBytes,
      heapTop: this.heap.reservedBytes,
      memoryBytes: this.heap.memoryBytes,
    };
  }

  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void {
    // The kernels are functions of ./elementwise.ts, ./nn.ts, ... run as this backend's methods.
    (this[kernel] as (this: WasmBackend, a: KernelArgs[K]) => void).call(this, args);
  }

  private readonly optionalKernels: { [K in OptionalKernelName]?: (args: OptionalKernelArgs[K]) => void } = {
    axpy: (args) => this.axpy(args),
    batchNorm: (args) => this.batchNorm(args),
    batchNormBackward: (args) => this.batchNormBackward(args),
  };

  supports(kernel: OptionalKernelName, dtype?: DType): boolean {
    // The native attention is float32 only.
    if (
      (kernel === "attention" || kernel === "attentionBackward") &&
      dtype !== undefined &&
      dtype !== "float32"
    )
      return false;
    return this.optionalKernels[kernel] !== undefined;
  }

  runOptional<K extends OptionalKernelName>(kernel: K, args: OptionalKernelArgs[K]): void {
    const run = this.optionalKernels[kernel] as ((a: OptionalKernelArgs[K]) => void) | undefined;
    if (!run) throw new Error(`wasm backend: no fused ${kernel} kernel (check supports() first)`);
    run(args);
  }

  // ---- argument block ----

  args(): Int32Array {
    if (this.argsGrowths !== this.heap.growths) {
      this.argsGrowths = this.heap.growths;
      this.i32 = new Int32Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 4);
      this.f64 = new Float64Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 8);
    }
    return this.i32;
  }

  private argsGrowths = 0;

  setF(i: number, v: number): void {
    this.f64[F_BASE_BYTES / 8 + i] = v;
  }

  /** Operand q's dtype and storage address. */
  operand(q: number, view: View): void {
    const a = this.args();
    const s = liveStorage(view);
    a[Slot.DT + q] = DTYPE_CODE[s.dtype];
    a[Slot.BASE + q] = s.ptr;
    a[Slot.OFF + q] = view.offset;
  }

  /**
   * Describe rows over `shape` for operands with `strides` (merged by layout.ts's mergeDimsInto,
   * straight into the block) and set each operand's dtype, address and offset. keepLast: the last
   * dim is the row (lanes).
   */
  walk(
    shape: readonly number[],
    views: readonly View[],
    strides: readonly (readonly number[])[],
    keepLast = false,
  ): number {
    const a = this.args();
    const k = views.length;
    const nd = shape.length;
    const outerEnd = keepLast ? nd - 1 : nd;
    let dims = mergeDimsInto(
      a,
      { shapeAt: Slot.SHAPE, stridesAt: Slot.STRIDES, operandStride: MAX_OPERANDS, maxDims: MAX_DIMS },
      shape,
      Math.max(outerEnd, 0),
      strides,
    );
    if (dims > MAX_DIMS) throw new Error(`wasm backend: more than ${MAX_DIMS} non-mergeable dims`);
    const empty = shape.includes(0);
    let len = 1;
    if (keepLast && nd > 0) {
      len = shape[nd - 1]!;
      for (let q = 0; q < k; q++) a[Slot.STEP + q] = strides[q]![nd - 1]!;
    } else if (dims > 0) {
      dims--;
      len = a[Slot.SHAPE + dims]!;
      for (let q = 0; q < k; q++) a[Slot.STEP + q] = a[Slot.STRIDES + dims * MAX_OPERANDS + q]!;
    } else {
      for (let q = 0; q < k; q++) a[Slot.STEP + q] = 0;
    }
    let rows = 1;
    for (let d = 0; d < dims; d++) rows *= a[Slot.SHAPE + d]!;
    if (empty) rows = 0;
    a[Slot.K] = k;
    a[Slot.R0] = 0;
    a[Slot.ND] = dims;
    a[Slot.LEN] = len;
    a[Slot.ROWS] = rows;
    for (let q = 0; q < k; q++) this.operand(q, views[q]!);
    return rows;
  }

  /** Lanes along `dim`: that dim moved last and kept as the row. */
  walkLanes(shape: readonly number[], dim: number, views: readonly View[]): number {
    return this.walk(
      moveDimLast(shape, dim),
      views,
      views.map((v) => moveDimLast(v.strides, dim)),
      true,
    );
  }

  temp(bytes: number): { ptr: number; capacity: number } {
    return this.heap.alloc(Math.max(bytes, 1), false, () => this.describe());
  }

  checkError(): void {
    const a = this.args();
    const code = a[Slot.ERR]!;
    if (code === KERNEL_ERROR_CODE.none) return;
    a[Slot.ERR] = 0;
    const value = a[Slot.ERR + 1]!;
    throw new RangeError(this.pendingError(code, value));
  }

  pendingError: (code: number, value: number) => string = () => "wasm backend: kernel error";

  /** Run an elementwise kernel, split over the threads when it is big enough. */
  launch(kernel: Exclude<PoolKernel, "matmul" | "gemv">, minElements = PARALLEL_ELEMENTS): void {
    const a = this.args();
    const rows = a[Slot.ROWS]!;
    const len = a[Slot.LEN]!;
    // Softmax lanes and layer norm rows are whole rows: they split only by rows.
    const byRowsOnly = kernel === "softmax" || kernel === "softmaxBackward" || kernel === "layerNorm";
    if (this.threads > 1 && rows * len >= minElements && (!byRowsOnly || rows >= this.threads)) {
      if (this.pool === undefined) this.pool = this.startPool();
      if (this.pool && this.pool.readyCount() > 0) {
        this.pool.run(kernel, this.shares(rows, len), this.exports, this.argsPtr);
        return;
      }
    }
    this.exports[kernel]();
  }

  private shareArgs: number[] = [];

  /** One argument block per thread: whole rows each when there are enough, else a slice of every row. */
  private shares(rows: number, len: number): Job[] {
    const t = this.threads;
    while (this.shareArgs.length < t - 1)
      this.shareArgs.push(this.heap.alloc(ARGS_BYTES, true, () => "").ptr);
    const buf = this.memory.buffer;
    const home = this.argsPtr;
    const jobs: Job[] = [];
    const u8 = this.heap.bytes();
    // The caller's own block changes last: the others are copies of it.
    for (let w = t - 1; w >= 0; w--) {
      const ptr = w === 0 ? home : this.shareArgs[w - 1]!;
      if (w > 0) u8.copyWithin(ptr, home, home + ARGS_BYTES);
      const v = new Int32Array(buf, ptr, ARGS_BYTES / 4);
      if (rows >= t) {
        const r0 = Math.floor((rows * w) / t);
        v[Slot.R0] = r0;
        v[Slot.ROWS] = Math.floor((rows * (w + 1)) / t) - r0;
      } else {
        // Slices of a multiple of 4 elements keep SIMD bodies aligned to the row start.
        const j0 = Math.floor((len * w) / t / 4) * 4;
        const j1 = w === t - 1 ? len : Math.floor((len * (w + 1)) / t / 4) * 4;
        v[Slot.LEN] = j1 - j0;
        for (let q = 0; q < v[Slot.K]!; q++) v[Slot.OFF + q]! += j0 * v[Slot.STEP + q]!;
      }
      jobs[w] = { args: ptr, params: [0, 0, 0, 0] };
    }
    return jobs;
  }

  // ---- kernels ----

  fill = elementwiseKernels.fill;
  copy = elementwiseKernels.copy;
  unary = elementwiseKernels.unary;
  binary = elementwiseKernels.binary;
  binaryScalar = elementwiseKernels.binaryScalar;
  where = elementwiseKernels.where;
  maskedFill = elementwiseKernels.maskedFill;
  geluBackward = elementwiseKernels.geluBackward;
  triangle = elementwiseKernels.triangle;
  adamw = optimKernels.adamw;
  axpy = optimKernels.axpy;
  linear = matmulKernels.linear;
  attention = attentionKernels.attention;
  attentionBackward = attentionKernels.attentionBackward;
  withUnitLastDims = attentionKernels.withUnitLastDims;

  /** Byte address of a view's first element (0 for none). */
  address(view: View | null): number {
    if (!view) return 0;
    const s = liveStorage(view);
    return s.ptr + view.offset * BYTES_PER_ELEMENT[s.dtype];
  }

  batchNormRun = batchnormKernels.batchNormRun;
  batchNorm = batchnormKernels.batchNorm;
  batchNormBackward = batchnormKernels.batchNormBackward;
  reduce = reduceKernels.reduce;
  argReduce = reduceKernels.argReduce;
  topk = reduceKernels.topk;
  softmax = nnKernels.softmax;
  softmaxBackward = nnKernels.softmaxBackward;
  crossEntropyArgs = nnKernels.crossEntropyArgs;
  crossEntropy = nnKernels.crossEntropy;
  crossEntropyBackward = nnKernels.crossEntropyBackward;
  layerNorm = nnKernels.layerNorm;
  layerNormBackward = nnKernels.layerNormBackward;
  gatherScatter = indexingKernels.gatherScatter;
  indexSelect = indexingKernels.indexSelect;
  indexAdd = indexingKernels.indexAdd;
  gather = indexingKernels.gather;
  scatterAdd = indexingKernels.scatterAdd;
  matmul = matmulKernels.matmul;
  gemv = matmulKernels.gemv;
}

export function unknownOp(kind: string, op: string): never {
  throw new Error(`wasm backend: unknown ${kind} op ${JSON.stringify(op)}`);
}

export function liveStorage(view: View): WasmStorage {
  const s = view.storage as WasmStorage;
  if (s.freed) throw new Error("wasm backend: kernel input was freed");
  return s;
}

/** A kernel's abort("...") (an unknown op code, say): its message, read from the wasm memory. */
export function wasmAbort(memory: WebAssembly.Memory, message: number): never {
  let text = "";
  // AssemblyScript strings: UTF-16, their byte length in the 4 bytes before them.
  if (message > 4 && message + 4 <= memory.buffer.byteLength) {
    const bytes = new DataView(memory.buffer).getUint32(message - 4, true);
    if (message + bytes <= memory.buffer.byteLength && bytes < 1024)
      text = String.fromCharCode(...new Uint16Array(memory.buffer.slice(message, message + bytes)));
  }
  throw new Error(`wasm backend: kernel aborted${text ? `: ${text}` : ""}`);
}
