/**
 * The device interface. A backend owns storage and runs named kernels; it knows nothing about
 * autograd, broadcasting rules or dtype promotion (the tensor front end settles those first).
 *
 * - Storage is an opaque handle (a typed array on `js`, an offset into a WebAssembly.Memory on
 *   `wasm`, a GPUBuffer on `webgpu`). The front end never reads it directly.
 * - Kernels read strided views (storage, shape, strides, offset), so views never copy.
 * - Kernels write into `out` views the front end allocated: fresh, contiguous, offset 0, with the
 *   dtype the kernel contract names, except `copy` and `fill`, which write into any strided view.
 * - `run` returns at once. A synchronous backend has finished the work; an asynchronous one has
 *   enqueued it. Reading back is `read` (a promise) everywhere and `readSync` where possible.
 * - In-place kernels (`fill`, `copy` into a view, `adamw`) are only called by front-end ops that
 *   bump the storage's version, so autograd notices values it saved were overwritten.
 *
 * Adding a backend: implement `Backend` (every kernel of `KernelArgs`; the js kernels are the
 * spec), `registerBackend(name, () => backend)` once its asynchronous setup is done, and import
 * that registration in test/tensor-backends.ts. The suites that loop over backends (ops.json
 * fixtures, gradcheck, parity with js, strided fuzz) then run on it; HERO_TEST_BACKENDS=name
 * selects it alone, and `hero selftest ops FILE --backend name` checks it from the command line.
 */

export type DType = "float32" | "float64" | "int32" | "bool";

/** Typed arrays per dtype. bool is stored as one byte per element (0 or 1). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

export function isFloatDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** A fresh zeroed typed array of the dtype's kind. */
export function typedArrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** A handle to backend memory holding `size` elements of `dtype`. Backends extend it. */
export interface Storage {
  readonly dtype: DType;
  readonly size: number;
}

/** A strided window onto storage: element [i0, i1, ...] lives at offset + Σ ik·strides[k]. */
export interface View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

import type { ArgReduceOp, BinaryOp, ReduceOp, UnaryOp } from "./spec/ops.js";

export { binarySpec, COMPARISON_OPS, reduceSpec, unarySpec } from "./spec/ops.js";
/** The elementwise ops and the reductions (the table: ./spec/ops.ts). */
export type { ArgReduceOp, BinaryOp, ReduceOp, UnaryOp };

/**
 * Every kernel and its arguments. Shapes: `out.shape` is authoritative; inputs of elementwise
 * kernels arrive already broadcast to it (stride 0 on stretched dims). Integer index tensors are
 * int32; masks and conditions are bool.
 */
export interface KernelArgs {
  /** out[...] = value (out may be any strided view). */
  fill: { out: View; value: number };
  /** out[...] = x[...], converting dtype (float→int truncates, anything→bool is x ≠ 0). */
  copy: { x: View; out: View };
  unary: { op: UnaryOp; x: View; out: View };
  /** a and b have one dtype; out is that dtype, or bool for comparison/logical ops. */
  binary: { op: BinaryOp; a: View; b: View; out: View };
  /** x OP scalar, or scalar OP x when `scalarFirst`. */
  binaryScalar: { op: BinaryOp; x: View; scalar: number; scalarFirst: boolean; out: View };
  /** out = cond ? a : b (cond bool; all three broadcast to out). */
  where: { cond: View; a: View; b: View; out: View };
  /** out = value where mask else x (mask bool, broadcast to x). */
  maskedFill: { x: View; mask: View; value: number; out: View };
  /** d gelu(x) / dx · g. `approximate` selects the tanh form. */
  geluBackward: { approximate: boolean; x: View; g: View; out: View };
  /** Reduce over `axes` of x; out has x's shape with those axes set to 1 (keepdim). */
  reduce: { op: ReduceOp; x: View; axes: readonly number[]; out: View };
  /** Arg-max/min along one dim; values (x's dtype) optional, indices int32; keepdim shapes. */
  argReduce: { op: ArgReduceOp; x: View; dim: number; values: View | null; indices: View };
  /** out[..., m, n] = Σk a[..., m, k]·b[..., k, n]; batch dims of a, b and out are equal (broadcast). */
  matmul: { a: View; b: View; out: View };
  /** (log-)softmax along `dim`. */
  softmax: { x: View; dim: number; log: boolean; out: View };
  /** Vector-Jacobian product of (log-)softmax given its output y and upstream g. */
  softmaxBackward: { y: View; g: View; dim: number; log: boolean; out: View };
  /** Cross-entropy of logits [N, C] against int32 target [N]; out is [] (mean, sum) or [N] (none). */
  crossEntropy: {
    logits: View;
    target: View;
    ignoreIndex: number;
    reduction: "mean" | "sum" | "none";
    out: View;
  };
  /** d loss / d logits [N, C]; g has out's shape ([] or [N]). */
  crossEntropyBackward: {
    logits: View;
    target: View;
    g: View;
    ignoreIndex: number;
    reduction: "mean" | "sum" | "none";
    out: View;
  };
  /** Layer norm over the last dim of x [R, D]; writes out [R, D], mean [R], rstd [R] = 1/sqrt(var+eps). */
  layerNorm: {
    x: View;
    weight: View | null;
    bias: View | null;
    eps: number;
    out: View;
    mean: View;
    rstd: View;
  };
  layerNormBackward: {
    x: View;
    weight: View | null;
    mean: View;
    rstd: View;
    g: View;
    dx: View;
    dweight: View | null;
    dbias: View | null;
  };
  /** out = x.index_select(dim, index) with index int32 [K]. */
  indexSelect: { x: View; dim: number; index: View; out: View };
  /** out = zeros; out.index_add_(dim, index, src). The backward of indexSelect (embedding). */
  indexAdd: { src: View; dim: number; index: View; out: View };
  /** out = x.gather(dim, index); index has out's shape. */
  gather: { x: View; dim: number; index: View; out: View };
  /** out = zeros; out.scatter_add_(dim, index, src). The backward of gather, max and topk. */
  scatterAdd: { src: View; dim: number; index: View; out: View };
  /** The k largest (or smallest) along dim, sorted; values and int32 indices. */
  topk: { x: View; k: number; dim: number; largest: boolean; values: View; indices: View };
  /** Keep x[..., i, j] where j - i <= diagonal (lower) or >= diagonal (upper); else 0. */
  triangle: { x: View; diagonal: number; upper: boolean; out: View };
  /**
   * One AdamW step in place on param, m and v (same shape and float dtype as grad), as
   * torch.optim.AdamW: p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
   * p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε), with t = step (from 1).
   */
  adamw: {
    param: View;
    grad: View;
    m: View;
    v: View;
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    step: number;
  };
}

export type KernelName = keyof KernelArgs;

/**
 * Fused kernels a backend may offer (`supports` says which). Where one is missing the front end
 * builds the op from the required kernels above, so a new backend can start without them.
 */
export interface OptionalKernelArgs {
  /**
   * out = softmax(q·kᵀ·scale, masked when causal)·v for q [..., T, D], k [..., Tk, D],
   * v [..., Tk, Dv] with equal batch dims; also writes the weights [..., T, Tk] for the backward.
   * Causal: query i sees keys j <= i + Tk − T (the queries are the last T positions). The outputs
   * (out, and dq, dk, dv of the backward) may have any strides with a contiguous last dim.
   */
  attention: { q: View; k: View; v: View; scale: number; causal: boolean; out: View; weights: View };
  /**
   * With P = weights and g = d out: dv = Pᵀg; dS = P ⊙ (g·vᵀ − rowsum(P ⊙ g·vᵀ));
   * dq = scale·dS·k; dk = scale·dSᵀ·q.
   */
  attentionBackward: {
    q: View;
    k: View;
    v: View;
    weights: View;
    g: View;
    scale: number;
    /** The forward was causal: the masked keys (weights 0) may be skipped. */
    causal?: boolean;
    dq: View;
    dk: View;
    dv: View;
  };
  /**
   * out = act(x·weightᵀ + bias) for x [R, K], weight [N, K] (nn.Linear's layout), bias [N] or
   * none, one float dtype; act is GELU (`gelu`: its erf form "none" or its "tanh" form) or, when
   * `gelu` is null, nothing. With `preActivation` (training with GELU, same shape and strides as
   * out) x·weightᵀ + bias is written there too, for the backward. The sum, then the bias, then the
   * GELU, as the separate matmul, add and gelu kernels compute them.
   */
  linear: {
    x: View;
    weight: View;
    bias: View | null;
    gelu: "none" | "tanh" | null;
    out: View;
    preActivation: View | null;
  };
  /**
   * x ← x + alpha·y in place (PyTorch's x.add_(y, alpha=alpha)), computed in float64 and rounded
   * once; x and y have one float dtype and shape (y any strides). Gradient accumulation and SGD.
   */
  axpy: { x: View; y: View; alpha: number };
  /**
   * Training-mode batch norm of x [R, C] over its R rows (float32 throughout, every view
   * contiguous; channels last):
   * per channel mean and biased variance (float64 sums), rstd = 1/√(var + eps),
   * out = (x − mean)·rstd·weight + bias. Where given, the running statistics [C] are updated in
   * place: running ← (1 − momentum)·running + momentum·stat, with the unbiased variance.
   */
  batchNorm: {
    x: View;
    weight: View | null;
    bias: View | null;
    eps: number;
    momentum: number;
    runningMean: View | null;
    runningVar: View | null;
    out: View;
    mean: View;
    rstd: View;
  };
  /**
   * Its backward from g [R, C] (contiguous): with x̂ = (x − mean)·rstd, dbias = Σ g,
   * dweight = Σ g·x̂, dx = weight·rstd/R · (R·g − dbias − x̂·dweight).
   */
  batchNormBackward: {
    x: View;
    weight: View | null;
    mean: View;
    rstd: View;
    g: View;
    dx: View;
    dweight: View | null;
    dbias: View | null;
  };
}

export type OptionalKernelName = keyof OptionalKernelArgs;

export interface MemoryStats {
  /** Live storages (a tensor and its views share one). */
  buffers: number;
  bytes: number;
  /** The most bytes live at once since the backend started or resetPeakMemoryStats() (front end). */
  peakBytes?: number;
}

export interface Backend {
  readonly name: string;
  /** False for backends (WebGPU) whose data can only be read asynchronously. */
  readonly synchronous: boolean;
  /** The dtypes it stores, where not all four (webgpu: no float64). */
  readonly dtypes?: readonly DType[];
  /**
   * Storage for `size` elements. Contents are unspecified (a pooled buffer may hold old values):
   * every kernel writes all of its output, and `zeros` fills explicitly.
   */
  alloc(dtype: DType, size: number): Storage;
  /**
   * The front end will not use this storage again. Work already enqueued may still read it: an
   * asynchronous backend recycles the buffer only after that work completes.
   */
  free(storage: Storage): void;
  /** Copy host values into storage starting at element `offset`. */
  write(storage: Storage, values: ArrayLike<number>, offset?: number): void;
  /** The whole storage as a fresh typed array. */
  read(storage: Storage): Promise<TypedArray>;
  /** Synchronous read; only on synchronous backends. */
  readSync?(storage: Storage): TypedArray;
  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void;
  /** Whether runOptional implements this fused kernel (for inputs of `dtype`, where given). */
  supports?(kernel: OptionalKernelName, dtype?: DType): boolean;
  runOptional?<K extends OptionalKernelName>(kernel: K, args: OptionalKernelArgs[K]): void;
  /** Live buffers and bytes held for tensors. */
  memoryStats(): MemoryStats;
  /** The most bytes live at once since the backend started or resetPeak(). */
  peakBytes?(): number;
  /** Start peakBytes again from the bytes live now. */
  resetPeak?(): void;
  /**
   * Synchronous backends: free the storage and return its values in a typed array the caller
   * owns (js hands over its own array). The front end spills unused tensors to JS memory so.
   */
  release?(storage: Storage): TypedArray;
  /** The inverse of release: storage holding these values (js adopts the array, no copy). */
  adopt?(dtype: DType, values: TypedArray): Storage;
}
