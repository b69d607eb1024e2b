/**
 * The wasm backend: tensor storage lives in one WebAssembly.Memory (shared between threads where
 * the platform allows), kernels are AssemblyScript compiled to SIMD wasm (assembly/kernels.ts).
 * The host walks nothing itself: it merges dims into rows (as the js kernels do), writes the
 * row description into an argument block in wasm memory, and calls the kernel.
 */

import { contiguousStrides, mergeDims, moveDimLast, product } from "../layout.js";
import {
  AdamwF,
  ARG_REDUCE_CODE,
  ARGS_BYTES,
  ArgReduceSlot,
  BatchNormSlot,
  BINARY_CODE,
  BinaryScalarSlot,
  CrossEntropySlot,
  DTYPE_CODE,
  F,
  F_BASE_BYTES,
  GATHER_MODE_CODE,
  GatherScatterSlot,
  GeluBackwardSlot,
  KERNEL_ERROR_CODE,
  LayerNormSlot,
  MAX_DIMS,
  MAX_OPERANDS,
  MatmulSlot,
  REDUCE_CODE,
  REDUCTION_CODE,
  ReduceSlot,
  Slot,
  SoftmaxSlot,
  TopkSlot,
  TriangleSlot,
  UNARY_CODE,
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
import { WASM_BINARIES } from "./generated/binaries.js";
import { WasmHeap } from "./memory.js";
import { nativeStatus } from "./native.js";
import { NativeKernels } from "./native-kernels.js";
import { type Job, type KernelExports, MAX_SHARES_PER_THREAD, type PoolKernel, WorkerPool } from "./pool.js";

export interface WasmStorage extends Storage {
  /** Byte address of element 0. */
  readonly ptr: number;
  /** Bytes of the block (its size class). */
  readonly capacity: number;
  freed: boolean;
}

/** Row-walk state and a 4×8 tile per thread. */
const SCRATCH_BYTES = 4096;
/** Matmuls below this many flops run on the calling thread alone. */
const PARALLEL_FLOPS = 1 << 20;
/**
 * Products of a few rows run unpacked (gemv), where packing B costs more than the product: up to 8
 * rows as dot products (x @ Wᵀ), up to 4 streaming B's rows (x @ W; each row streams B again).
 */
const GEMV_MAX_ROWS_DOT = 8;
const GEMV_MAX_ROWS = 4;
/** Elementwise ops below this many elements run on the calling thread alone (about 1 MFLOP). */
const PARALLEL_ELEMENTS = 1 << 18;
/** Softmax (an exp per element) and layer norm (three passes) split from a quarter of that. */
const PARALLEL_SOFTMAX_ELEMENTS = 1 << 16;

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
  private readonly exports: KernelExports;
  private readonly heap: WasmHeap;
  private readonly argsPtr: number;
  private i32: Int32Array;
  private f64: Float64Array;
  private pool: WorkerPool | null | undefined;
  private readonly startPool: () => WorkerPool | null;
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
    (this[kernel] as (a: KernelArgs[K]) => void)(args);
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

  private args(): Int32Array {
    if (this.argsGrowths !== this.heap.growths) {
      this.argsGrowths = this.heap.growths;
      this.i32 = new Int32Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 4);
      this.f64 = new Float64Array(this.memory.buffer, this.argsPtr, ARGS_BYTES / 8);
    }
    return this.i32;
  }

  private argsGrowths = 0;

  private setF(i: number, v: number): void {
    this.f64[F_BASE_BYTES / 8 + i] = v;
  }

  /** Operand q's dtype and storage address. */
  private operand(q: number, view: View): void {
    const a = this.args();
    const s = liveStorage(view);
    a[Slot.DT + q] = DTYPE_CODE[s.dtype];
    a[Slot.BASE + q] = s.ptr;
    a[Slot.OFF + q] = view.offset;
  }

  /**
   * Describe rows over `shape` for operands with `strides` (merged by layout.ts's mergeDims) and
   * set each operand's dtype, address and offset. keepLast: the last dim is the row (lanes).
   */
  private walk(
    shape: readonly number[],
    views: readonly View[],
    strides: readonly (readonly number[])[],
    keepLast = false,
  ): number {
    const a = this.args();
    const k = views.length;
    const nd = shape.length;
    const outerEnd = keepLast ? nd - 1 : nd;
    const outer = mergeDims(
      shape.slice(0, Math.max(outerEnd, 0)),
      strides.map((s) => s.slice(0, Math.max(outerEnd, 0))),
    );
    const empty = shape.includes(0);
    let dims = outer.shape.length;
    if (dims > MAX_DIMS) throw new Error(`wasm backend: more than ${MAX_DIMS} non-mergeable dims`);
    for (let d = 0; d < dims; d++) {
      a[Slot.SHAPE + d] = outer.shape[d]!;
      for (let q = 0; q < k; q++) a[Slot.STRIDES + d * MAX_OPERANDS + q] = outer.strides[q]![d]!;
    }
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
  private walkLanes(shape: readonly number[], dim: number, views: readonly View[]): number {
    return this.walk(
      moveDimLast(shape, dim),
      views,
      views.map((v) => moveDimLast(v.strides, dim)),
      true,
    );
  }

  private temp(bytes: number): { ptr: number; capacity: number } {
    return this.heap.alloc(Math.max(bytes, 1), false, () => this.describe());
  }

  private checkError(): void {
    const a = this.args();
    const code = a[Slot.ERR]!;
    if (code === KERNEL_ERROR_CODE.none) return;
    a[Slot.ERR] = 0;
    const value = a[Slot.ERR + 1]!;
    throw new RangeError(this.pendingError(code, value));
  }

  private pendingError: (code: number, value: number) => string = () => "wasm backend: kernel error";

  /** Run an elementwise kernel, split over the threads when it is big enough. */
  private launch(kernel: Exclude<PoolKernel, "matmul" | "gemv">, minElements = PARALLEL_ELEMENTS): void {
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

  fill = ({ out, value }: KernelArgs["fill"]): void => {
    this.walk(out.shape, [out], [out.strides]);
    this.setF(F.VALUE, value);
    this.launch("fill");
  };

  copy = ({ x, out }: KernelArgs["copy"]): void => {
    this.walk(out.shape, [x, out], [x.strides, out.strides]);
    this.launch("copy");
  };

  unary = ({ op, x, out }: KernelArgs["unary"]): void => {
    const a = this.args();
    this.walk(out.shape, [x, out], [x.strides, out.strides]);
    a[Slot.OP] = UNARY_CODE[op] ?? unknownOp("unary", op);
    this.launch("unary");
  };

  binary = ({ op, a: x, b: y, out }: KernelArgs["binary"]): void => {
    const a = this.args();
    this.walk(out.shape, [x, y, out], [x.strides, y.strides, out.strides]);
    a[Slot.OP] = BINARY_CODE[op] ?? unknownOp("binary", op);
    this.launch("binary");
  };

  binaryScalar = ({ op, x, scalar, scalarFirst, out }: KernelArgs["binaryScalar"]): void => {
    const a = this.args();
    this.walk(out.shape, [x, out], [x.strides, out.strides]);
    a[Slot.OP] = BINARY_CODE[op] ?? unknownOp("binary", op);
    a[BinaryScalarSlot.SCALAR_FIRST] = scalarFirst ? 1 : 0;
    this.setF(F.SCALAR, scalar);
    this.launch("binaryScalar");
  };

  where = ({ cond, a: x, b: y, out }: KernelArgs["where"]): void => {
    this.walk(out.shape, [cond, x, y, out], [cond.strides, x.strides, y.strides, out.strides]);
    this.launch("where");
  };

  maskedFill = ({ x, mask, value, out }: KernelArgs["maskedFill"]): void => {
    this.walk(out.shape, [x, mask, out], [x.strides, mask.strides, out.strides]);
    this.setF(F.VALUE, value);
    this.launch("maskedFill");
  };

  geluBackward = ({ approximate, x, g, out }: KernelArgs["geluBackward"]): void => {
    if (this.native?.geluBackward({ approximate, x, g, out })) return;
    const a = this.args();
    this.walk(out.shape, [x, g, out], [x.strides, g.strides, out.strides]);
    a[GeluBackwardSlot.APPROXIMATE] = approximate ? 1 : 0;
    this.launch("geluBackward");
  };

  triangle = ({ x, diagonal, upper, out }: KernelArgs["triangle"]): void => {
    const a = this.args();
    this.walk(out.shape, [x, out], [x.strides, out.strides], true);
    a[TriangleSlot.DIAGONAL] = diagonal;
    a[TriangleSlot.UPPER] = upper ? 1 : 0;
    a[TriangleSlot.ROWS_PER_MATRIX] = out.shape[out.shape.length - 2]!;
    this.exports.triangle();
  };

  adamw = (args: KernelArgs["adamw"]): void => {
    if (this.native?.adamw(args)) return;
    const { param, grad, m, v } = args;
    this.walk(param.shape, [param, grad, m, v], [param.strides, grad.strides, m.strides, v.strides]);
    this.setF(AdamwF.LR, args.lr);
    this.setF(AdamwF.BETA1, args.beta1);
    this.setF(AdamwF.BETA2, args.beta2);
    this.setF(AdamwF.EPS, args.eps);
    this.setF(AdamwF.WEIGHT_DECAY, args.weightDecay);
    this.setF(AdamwF.STEP, args.step);
    this.launch("adamw");
  };

  private axpy({ x, y, alpha }: OptionalKernelArgs["axpy"]): void {
    const a = this.args();
    const rows = this.walk(x.shape, [x, y], [x.strides, y.strides]);
    // Native: float32 rows contiguous within, at most one merged outer dim.
    if (
      this.native &&
      x.storage.dtype === "float32" &&
      a[Slot.STEP] === 1 &&
      a[Slot.STEP + 1] === 1 &&
      a[Slot.ND]! <= 1
    ) {
      const [xRow, yRow] = a[Slot.ND] === 1 ? [a[Slot.STRIDES]!, a[Slot.STRIDES + 1]!] : [0, 0];
      if (this.native.axpy(x, y, rows, a[Slot.LEN]!, xRow, yRow, alpha)) return;
    }
    this.setF(F.ALPHA, alpha);
    this.launch("axpy");
  }

  /** The fused linear (native only): float64 or odd strides compose it from the wasm kernels, as js does. */
  private linear(args: OptionalKernelArgs["linear"]): void {
    if (this.native!.linear(args)) return;
    const { x, weight, bias, gelu, out, preActivation } = args;
    const sum = preActivation ?? out;
    const [N, K] = weight.shape as [number, number];
    this.matmul({
      a: x,
      b: { ...weight, shape: [K, N], strides: [weight.strides[1]!, weight.strides[0]!] },
      out: sum,
    });
    if (bias)
      this.binary({
        op: "add",
        a: sum,
        b: { ...bias, shape: sum.shape, strides: [0, bias.strides[0]!] },
        out: sum,
      });
    if (gelu !== null) this.unary({ op: gelu === "tanh" ? "geluTanh" : "gelu", x: sum, out });
  }

  /** Attention (native only): inputs whose last dim is strided are copied contiguous first. */
  private attention(args: OptionalKernelArgs["attention"]): void {
    this.withUnitLastDims([args.q, args.k, args.v], ([q, k, v]) => {
      if (!this.native!.attention({ ...args, q, k, v }))
        throw new Error("wasm backend: attention over more than 8 non-mergeable batch dims");
    });
  }

  private attentionBackward(args: OptionalKernelArgs["attentionBackward"]): void {
    this.withUnitLastDims([args.q, args.k, args.v, args.weights, args.g], ([q, k, v, weights, g]) => {
      if (!this.native!.attentionBackward({ ...args, q, k, v, weights, g }))
        throw new Error("wasm backend: attention over more than 8 non-mergeable batch dims");
    });
  }

  /** Run `fn` on the views, each with a contiguous last dim (a copy where it was strided). */
  private withUnitLastDims(views: View[], fn: (views: View[]) => void): void {
    const temps: WasmStorage[] = [];
    try {
      const unit = views.map((v) => {
        if (v.strides.at(-1) === 1 || (v.shape.at(-1) ?? 1) <= 1) return v;
        const storage = this.alloc(v.storage.dtype, product(v.shape));
        temps.push(storage);
        const copy: View = { storage, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
        this.copy({ x: v, out: copy });
        return copy;
      });
      fn(unit);
    } finally {
      for (const t of temps) this.free(t);
    }
  }

  /** Byte address of a view's first element (0 for none). */
  private address(view: View | null): number {
    if (!view) return 0;
    const s = liveStorage(view);
    return s.ptr + view.offset * BYTES_PER_ELEMENT[s.dtype];
  }

  /** Runs a batch-norm kernel over x [R, C] with the operands at their slots (absent: 0) and 5·C float64 of temp. */
  private batchNormRun(
    kernel: "batchNorm" | "batchNormBackward",
    x: View,
    operands: Partial<Record<keyof typeof BatchNormSlot, View | null>>,
  ): void {
    const [R, C] = x.shape as [number, number];
    const tmp = this.temp(5 * 8 * C);
    try {
      const a = this.args();
      for (let slot = BatchNormSlot.OUT; slot <= BatchNormSlot.DBIAS; slot++) a[slot] = 0;
      for (const [name, view] of Object.entries(operands))
        a[BatchNormSlot[name as keyof typeof BatchNormSlot]] = this.address(view ?? null);
      a[BatchNormSlot.R] = R;
      a[BatchNormSlot.C] = C;
      a[BatchNormSlot.X] = this.address(x);
      a[BatchNormSlot.TEMP] = tmp.ptr;
      this.exports[kernel]();
    } finally {
      this.heap.free(tmp.ptr, tmp.capacity);
    }
  }

  private batchNorm(args: OptionalKernelArgs["batchNorm"]): void {
    const { x, weight, bias, runningMean, runningVar, out, mean, rstd } = args;
    this.setF(F.EPS, args.eps);
    this.setF(F.MOMENTUM, args.momentum);
    this.batchNormRun("batchNorm", x, {
      OUT: out,
      MEAN: mean,
      RSTD: rstd,
      WEIGHT: weight,
      BIAS: bias,
      RUNNING_MEAN: runningMean,
      RUNNING_VAR: runningVar,
    });
  }

  private batchNormBackward(args: OptionalKernelArgs["batchNormBackward"]): void {
    const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
    this.batchNormRun("batchNormBackward", x, {
      OUT: dx,
      MEAN: mean,
      RSTD: rstd,
      WEIGHT: weight,
      G: g,
      DWEIGHT: dweight,
      DBIAS: dbias,
    });
  }

  reduce = ({ op, x, axes, out }: KernelArgs["reduce"]): void => {
    let outSize = 1;
    for (const s of out.shape) outSize *= s;
    const accStrides = contiguousStrides(out.shape);
    for (const ax of axes) accStrides[ax] = 0;
    const acc = this.temp(outSize * 8);
    const accView: View = {
      storage: { dtype: "float64", size: outSize, ptr: acc.ptr } as WasmStorage,
      shape: out.shape,
      strides: accStrides,
      offset: 0,
    };
    try {
      const a = this.args();
      this.walk(x.shape, [x, accView, out], [x.strides, accStrides, accStrides.map(() => 0)]);
      let count = 1;
      for (const ax of axes) count *= x.shape[ax]!;
      a[Slot.OP] = REDUCE_CODE[op] ?? unknownOp("reduce", op);
      a[ReduceSlot.OUT_SIZE] = outSize;
      this.setF(F.SCALE, 1 / count);
      this.exports.reduce();
    } finally {
      this.heap.free(acc.ptr, acc.capacity);
    }
  };

  argReduce = ({ op, x, dim, values, indices }: KernelArgs["argReduce"]): void => {
    const a = this.args();
    this.walkLanes(x.shape, dim, [x]);
    this.operand(1, indices);
    if (values) this.operand(2, values);
    a[Slot.OP] = ARG_REDUCE_CODE[op];
    a[ArgReduceSlot.HAS_VALUES] = values ? 1 : 0;
    a[ArgReduceSlot.INDICES_OFFSET] = indices.offset;
    a[ArgReduceSlot.VALUES_OFFSET] = values ? values.offset : 0;
    this.exports.argReduce();
  };

  topk = ({ x, k, dim, largest, values, indices }: KernelArgs["topk"]): void => {
    const n = x.shape[dim]!;
    const tmp = this.temp(16 * n);
    try {
      const a = this.args();
      this.walkLanes(x.shape, dim, [x, values, indices]);
      a[TopkSlot.K] = k;
      a[TopkSlot.LARGEST] = largest ? 1 : 0;
      a[TopkSlot.TEMP] = tmp.ptr;
      this.exports.topk();
    } finally {
      this.heap.free(tmp.ptr, tmp.capacity);
    }
  };

  softmax = ({ x, dim, log, out }: KernelArgs["softmax"]): void => {
    const a = this.args();
    this.walkLanes(x.shape, dim, [x, out]);
    a[SoftmaxSlot.LOG] = log ? 1 : 0;
    this.launch("softmax", PARALLEL_SOFTMAX_ELEMENTS);
  };

  softmaxBackward = ({ y, g, dim, log, out }: KernelArgs["softmaxBackward"]): void => {
    const a = this.args();
    this.walkLanes(y.shape, dim, [y, g, out]);
    a[SoftmaxSlot.LOG] = log ? 1 : 0;
    this.launch("softmaxBackward", PARALLEL_SOFTMAX_ELEMENTS);
  };

  private crossEntropyArgs(
    logits: View,
    target: View,
    ignoreIndex: number,
    reduction: "mean" | "sum" | "none",
    out: View,
  ): number {
    const a = this.args();
    const [N, C] = logits.shape as [number, number];
    this.operand(0, logits);
    this.operand(1, target);
    this.operand(2, out);
    a[CrossEntropySlot.N] = N;
    a[CrossEntropySlot.C] = C;
    a[CrossEntropySlot.IGNORE_INDEX] = ignoreIndex;
    a[Slot.OP] = REDUCTION_CODE[reduction];
    a[CrossEntropySlot.LOGITS_ROW] = logits.strides[0]!;
    a[CrossEntropySlot.LOGITS_COL] = logits.strides[1]!;
    a[CrossEntropySlot.TARGET_STRIDE] = target.strides[0]!;
    this.pendingError = (_code, t) => `crossEntropy: target ${t} is out of range for ${C} classes`;
    return C;
  }

  crossEntropy = ({ logits, target, ignoreIndex, reduction, out }: KernelArgs["crossEntropy"]): void => {
    this.crossEntropyArgs(logits, target, ignoreIndex, reduction, out);
    this.exports.crossEntropy();
    this.checkError();
  };

  crossEntropyBackward = (args: KernelArgs["crossEntropyBackward"]): void => {
    const { logits, target, g, ignoreIndex, reduction, out } = args;
    this.crossEntropyArgs(logits, target, ignoreIndex, reduction, out);
    this.operand(3, g);
    this.args()[CrossEntropySlot.G_STRIDE] = g.strides[0] ?? 0;
    this.exports.crossEntropyBackward();
    this.checkError();
  };

  layerNorm = ({ x, weight, bias, eps, out, mean, rstd }: KernelArgs["layerNorm"]): void => {
    const a = this.args();
    const [R, D] = x.shape as [number, number];
    this.operand(0, x);
    this.operand(1, out);
    this.operand(2, mean);
    this.operand(3, rstd);
    a[LayerNormSlot.R] = R;
    a[LayerNormSlot.D] = D;
    a[LayerNormSlot.X_ROW] = x.strides[0]!;
    a[LayerNormSlot.X_COL] = x.strides[1]!;
    a[LayerNormSlot.WEIGHT] = weight ? (weight.storage as WasmStorage).ptr : 0;
    a[LayerNormSlot.BIAS] = bias ? (bias.storage as WasmStorage).ptr : 0;
    a[LayerNormSlot.WEIGHT_OFFSET] = weight?.offset ?? 0;
    a[LayerNormSlot.BIAS_OFFSET] = bias?.offset ?? 0;
    a[LayerNormSlot.WEIGHT_STRIDE] = weight?.strides[0] ?? 0;
    a[LayerNormSlot.BIAS_STRIDE] = bias?.strides[0] ?? 0;
    this.setF(F.EPS, eps);
    // Rows for the thread split (the kernel runs rows R0 .. R0 + ROWS).
    a[Slot.R0] = 0;
    a[Slot.ROWS] = R;
    a[Slot.LEN] = D;
    this.launch("layerNorm", PARALLEL_SOFTMAX_ELEMENTS);
  };

  layerNormBackward = (args: KernelArgs["layerNormBackward"]): void => {
    if (this.native?.layerNormBackward(args)) return;
    const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
    const [R, D] = x.shape as [number, number];
    const tmp = this.temp(32 * D);
    try {
      const a = this.args();
      this.operand(0, x);
      this.operand(1, g);
      this.operand(2, mean);
      this.operand(3, rstd);
      a[LayerNormSlot.R] = R;
      a[LayerNormSlot.D] = D;
      a[LayerNormSlot.X_ROW] = x.strides[0]!;
      a[LayerNormSlot.X_COL] = x.strides[1]!;
      a[LayerNormSlot.G_ROW] = g.strides[0]!;
      a[LayerNormSlot.G_COL] = g.strides[1]!;
      a[LayerNormSlot.WEIGHT] = weight ? (weight.storage as WasmStorage).ptr : 0;
      a[LayerNormSlot.WEIGHT_OFFSET] = weight?.offset ?? 0;
      a[LayerNormSlot.WEIGHT_STRIDE] = weight?.strides[0] ?? 0;
      a[LayerNormSlot.DX] = (dx.storage as WasmStorage).ptr;
      a[LayerNormSlot.DX_OFFSET] = dx.offset;
      a[LayerNormSlot.DWEIGHT] = dweight ? (dweight.storage as WasmStorage).ptr : 0;
      a[LayerNormSlot.DWEIGHT_OFFSET] = dweight?.offset ?? 0;
      a[LayerNormSlot.DBIAS] = dbias ? (dbias.storage as WasmStorage).ptr : 0;
      a[LayerNormSlot.DBIAS_OFFSET] = dbias?.offset ?? 0;
      a[LayerNormSlot.TEMP] = tmp.ptr;
      this.exports.layerNormBackward();
    } finally {
      this.heap.free(tmp.ptr, tmp.capacity);
    }
  };

  private gatherScatter(
    name: string,
    scatter: boolean,
    shape: readonly number[],
    views: [View, View, View],
    strides: number[][],
    dim: number,
    size: number,
    dimStride: number,
  ): void {
    const a = this.args();
    this.walk(shape, views, strides);
    a[Slot.OP] = GATHER_MODE_CODE[scatter ? "scatter" : "gather"];
    a[GatherScatterSlot.DIM_SIZE] = size;
    a[GatherScatterSlot.DIM_STRIDE] = dimStride;
    this.pendingError = (_code, i) =>
      `${name}: index ${i} is out of range for dimension ${dim} with size ${size}`;
    this.exports.gatherScatter();
    this.checkError();
  }

  indexSelect = ({ x, dim, index, out }: KernelArgs["indexSelect"]): void => {
    this.gatherScatter(
      "indexSelect",
      false,
      out.shape,
      [x, index, out],
      [withoutDim(x.strides, dim), indexAlong(index, out.shape, dim), [...out.strides]],
      dim,
      x.shape[dim]!,
      x.strides[dim]!,
    );
  };

  indexAdd = ({ src, dim, index, out }: KernelArgs["indexAdd"]): void => {
    this.fill({ out, value: 0 });
    this.gatherScatter(
      "indexAdd",
      true,
      src.shape,
      [src, index, out],
      [[...src.strides], indexAlong(index, src.shape, dim), withoutDim(out.strides, dim)],
      dim,
      out.shape[dim]!,
      out.strides[dim]!,
    );
  };

  gather = ({ x, dim, index, out }: KernelArgs["gather"]): void => {
    this.gatherScatter(
      "gather",
      false,
      out.shape,
      [x, index, out],
      [withoutDim(x.strides, dim), [...index.strides], [...out.strides]],
      dim,
      x.shape[dim]!,
      x.strides[dim]!,
    );
  };

  scatterAdd = ({ src, dim, index, out }: KernelArgs["scatterAdd"]): void => {
    this.fill({ out, value: 0 });
    this.gatherScatter(
      "scatterAdd",
      true,
      index.shape,
      [src, index, out],
      [[...src.strides], [...index.strides], withoutDim(out.strides, dim)],
      dim,
      out.shape[dim]!,
      out.strides[dim]!,
    );
  };

  matmul = ({ a: x, b: y, out }: KernelArgs["matmul"]): void => {
    const a = this.args();
    const nd = out.shape.length;
    const M = out.shape[nd - 2]!;
    const N = out.shape[nd - 1]!;
    const K = x.shape[nd - 1]!;
    // x @ W with W shared by every batch (a linear layer on [B, T, C]): one [B·T, K] @ [K, N]
    // product, so W is packed once instead of once per batch.
    if (
      nd > 2 &&
      M > 1 &&
      y.strides.slice(0, nd - 2).every((s) => s === 0) &&
      foldsIntoRows(x) &&
      foldsIntoRows(out)
    ) {
      const rows = out.storage.size === 0 ? 0 : out.shape.slice(0, nd - 1).reduce((p, q) => p * q, 1);
      const row = (v: View, cols: number): View => ({
        storage: v.storage,
        shape: [rows, cols],
        strides: [v.strides[nd - 2]!, v.strides[nd - 1]!],
        offset: v.offset,
      });
      const w: View = {
        storage: y.storage,
        shape: [K, N],
        strides: [y.strides[nd - 2]!, y.strides[nd - 1]!],
        offset: y.offset,
      };
      this.matmul({ a: row(x, K), b: w, out: row(out, N) });
      return;
    }
    const batchShape = [...out.shape.slice(0, nd - 2), 1];
    const batches = this.walk(
      batchShape,
      [x, y, out],
      [x, y, out].map((v) => [...v.strides.slice(0, nd - 2), 0]),
      true,
    );
    const sak = x.strides[nd - 1]!;
    const sbk = y.strides[nd - 2]!;
    const sbn = y.strides[nd - 1]!;
    a[MatmulSlot.M] = M;
    a[MatmulSlot.N] = N;
    a[MatmulSlot.K] = K;
    a[MatmulSlot.A_ROW] = x.strides[nd - 2]!;
    a[MatmulSlot.A_COL] = sak;
    a[MatmulSlot.B_ROW] = sbk;
    a[MatmulSlot.B_COL] = sbn;
    a[MatmulSlot.OUT_ROW] = out.strides[nd - 2]!;
    a[MatmulSlot.OUT_COL] = out.strides[nd - 1]!;
    if (batches === 0 || M === 0 || N === 0) return;
    if (
      this.native &&
      x.storage.dtype === "float32" &&
      y.storage.dtype === "float32" &&
      out.storage.dtype === "float32"
    ) {
      // The batch dims as walk() merged them (the dummy last dim is not among them).
      const dims = a[Slot.ND]!;
      const sizes = Array.from({ length: dims }, (_, d) => a[Slot.SHAPE + d]!);
      if (this.native.matmul(x, y, out, sizes, (q, d) => a[Slot.STRIDES + d * MAX_OPERANDS + q]!)) return;
    }
    const flops = 2 * batches * M * N * K;
    if (this.threads > 1 && flops >= PARALLEL_FLOPS && this.pool === undefined) this.pool = this.startPool();
    if (
      x.storage.dtype === "float32" &&
      y.storage.dtype === "float32" &&
      out.storage.dtype === "float32" &&
      out.strides[nd - 1] === 1 &&
      ((sak === 1 && sbk === 1 && M <= GEMV_MAX_ROWS_DOT) || (sbn === 1 && M <= GEMV_MAX_ROWS))
    ) {
      this.gemv(batches, N, flops);
      return;
    }
    if (!this.pool || flops < PARALLEL_FLOPS) {
      this.exports.matmul(0, batches, 0, M);
      return;
    }
    // Split batches when there are enough of them, else rows (in multiples of the 4-row tile).
    // Up to MAX_SHARES_PER_THREAD shares a thread, so a thread slowed by other processes leaves
    // shares to the others (each share packs its own copy of B, so shares keep ≥ 256 rows).
    const t = this.threads;
    const jobs: [number, number, number, number][] = [];
    if (batches >= t) {
      const n = Math.min(batches, t * MAX_SHARES_PER_THREAD);
      for (let w = 0; w < n; w++) {
        const b0 = Math.floor((batches * w) / n);
        const b1 = Math.floor((batches * (w + 1)) / n);
        jobs.push([b0, b1, 0, M]);
      }
    } else {
      const tiles = Math.ceil(M / 4);
      const n = Math.max(t, Math.min(t * MAX_SHARES_PER_THREAD, Math.floor(tiles / 64)));
      for (const [m0, m1] of sharesOfFours(M, n)) jobs.push([0, batches, m0, m1]);
    }
    this.pool.run(
      "matmul",
      jobs.map((params) => ({ args: this.argsPtr, params })),
      this.exports,
      this.argsPtr,
    );
  };

  /** A product of few rows (the arguments are written): unpacked, threads split the columns in fours. */
  private gemv(batches: number, N: number, flops: number): void {
    if (!this.pool || flops < PARALLEL_FLOPS) {
      this.exports.gemv(0, batches, 0, N);
      return;
    }
    const n = Math.min(Math.ceil(N / 4), this.threads * MAX_SHARES_PER_THREAD);
    const jobs: Job[] = sharesOfFours(N, n).map(([n0, n1]) => ({
      args: this.argsPtr,
      params: [0, batches, n0, n1],
    }));
    this.pool.run("gemv", jobs, this.exports, this.argsPtr);
  }
}

/** 0..size cut into n ranges whose bounds are multiples of 4 (the matmul tile; the last ends at size). */
function sharesOfFours(size: number, n: number): [number, number][] {
  const fours = Math.ceil(size / 4);
  return Array.from({ length: n }, (_, w) => [
    Math.floor((fours * w) / n) * 4,
    Math.min(size, Math.floor((fours * (w + 1)) / n) * 4),
  ]);
}

function unknownOp(kind: string, op: string): never {
  throw new Error(`wasm backend: unknown ${kind} op ${JSON.stringify(op)}`);
}

function liveStorage(view: View): WasmStorage {
  const s = view.storage as WasmStorage;
  if (s.freed) throw new Error("wasm backend: kernel input was freed");
  return s;
}

/** True when the batch dims continue the row dim's stride, so batches of rows are one taller matrix. */
function foldsIntoRows(v: View): boolean {
  const nd = v.shape.length;
  let expected = v.strides[nd - 2]! * v.shape[nd - 2]!;
  for (let d = nd - 3; d >= 0; d--) {
    if (v.shape[d] !== 1 && v.strides[d] !== expected) return false;
    expected *= v.shape[d]!;
  }
  return true;
}

function withoutDim(strides: readonly number[], dim: number): number[] {
  const out = strides.slice();
  out[dim] = 0;
  return out;
}

function indexAlong(index: View, shape: readonly number[], dim: number): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  strides[dim] = index.strides[0]!;
  return strides;
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
