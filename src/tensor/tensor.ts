/**
 * Tensor: a strided view (shape, strides, offset) onto backend storage, plus autograd state.
 * Methods are thin: each calls the op of the same name in ops/, where forward and backward live.
 */
import type { Backend, DType, TypedArray } from "../backend/index.js";
import { type BackwardOptions, type Node, runBackward } from "./autograd.js";
import { formatTensor } from "./format.js";
import { memoryCheckpoint, type TensorStorage } from "./memory.js";
import type { Dims, IndexSpec, TensorLike, TopkOptions, ValuesIndices, VarOptions } from "./ops/index.js";
import * as ops from "./ops/index.js";
import { type Shape, shapeString } from "./shape.js";

export class Tensor {
  readonly storage: TensorStorage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** d(output)/d(this) after backward(): set on leaves, and on intermediates that retainGrad(). */
  grad: Tensor | null = null;
  /** The node that computed this tensor (null for leaves and tensors outside the tape). */
  gradFn: Node | null = null;
  /** Keep .grad on this intermediate during backward (lecture 5 compares every intermediate). */
  retainsGrad = false;
  /** Optional label for printing and graphs. */
  name = "";
  private requiresGradFlag = false;

  constructor(storage: TensorStorage, shape: readonly number[], strides: readonly number[], offset: number) {
    this.storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  numel(): number {
    let n = 1;
    for (const s of this.shape) n *= s;
    return n;
  }

  /** The shape, or the size of one dim (negative counts from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim)
      throw new RangeError(`size: dimension ${dim} is out of range for ${this.ndim} dims`);
    return this.shape[d]!;
  }

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }

  set requiresGrad(value: boolean) {
    if (value && this.dtype !== "float32" && this.dtype !== "float64") {
      throw new TypeError(`only floating point tensors can require gradients, this one is ${this.dtype}`);
    }
    if (!value && this.gradFn)
      throw new Error("requiresGrad can only be turned off on leaf tensors; use detach()");
    this.requiresGradFlag = value;
  }

  /** Set requiresGrad and return this (PyTorch's requires_grad_()). */
  setRequiresGrad(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** @internal used by autograd.record */
  markRequiresGrad(): void {
    this.requiresGradFlag = true;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  retainGrad(): this {
    if (!this.requiresGrad) throw new Error("retainGrad: this tensor does not require grad");
    if (this.gradFn) this.retainsGrad = true;
    return this;
  }

  backward(grad?: Tensor | null, options?: BackwardOptions): void {
    runBackward(this, grad, options);
  }

  /**
   * Zero .grad in place, keeping its buffer (memory stays flat across training steps); with
   * `{ setToNone: true }` drop it instead (garbage collection frees it later).
   */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    if (options.setToNone) this.grad = null;
    else this.grad?.assign(0);
  }

  /** The same storage, cut from the tape. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  isContiguous(): boolean {
    return ops.isContiguous(this);
  }

  // ---- reading values ----

  /** The elements in row-major order (a fresh typed array). Works on every backend. */
  async data(): Promise<TypedArray> {
    memoryCheckpoint();
    const t = ops.contiguous(this.detach());
    const all = await t.backend.read(t.storage.handle);
    return all.slice(t.offset, t.offset + t.numel());
  }

  /** Synchronous read: only on synchronous backends (js, wasm). */
  dataSync(): TypedArray {
    const read = this.backend.readSync;
    if (!read)
      throw new Error(`dataSync: the ${this.backend.name} backend is asynchronous; use await t.data()`);
    memoryCheckpoint();
    const t = ops.contiguous(this.detach());
    const all = read.call(t.backend, t.storage.handle);
    return all.slice(t.offset, t.offset + t.numel());
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new RangeError(
        `item: only one-element tensors can be converted to a number, this one has shape ${shapeString(this.shape)}`,
      );
    }
    return this.dataSync()[0]!;
  }

  /** Nested arrays of numbers (booleans for bool). */
  tolist(): unknown {
    const data = this.dataSync();
    const isBool = this.dtype === "bool";
    let i = 0;
    const build = (d: number): unknown => {
      if (d === this.ndim) {
        const v = data[i++]!;
        return isBool ? v !== 0 : v;
      }
      return Array.from({ length: this.shape[d]! }, () => build(d + 1));
    };
    return build(0);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Free the storage now (all views of it become unusable). Usually tidy() does this for you. */
  dispose(): void {
    this.storage.free();
  }

  get isDisposed(): boolean {
    return this.storage.freed;
  }

  /** Copy to another backend (or return this if already there). */
  to(backend: Backend | string): Tensor {
    const target = ops.resolveBackend(backend);
    if (target === this.backend) return this;
    const values = this.dataSync();
    return ops.fromValues(values, this.shape, { dtype: this.dtype, backend: target });
  }

  // ---- elementwise ----
  add(other: TensorLike): Tensor {
    return ops.add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return ops.sub(this, other);
  }
  /** other - this */
  rsub(other: TensorLike): Tensor {
    return ops.sub(other, this);
  }
  mul(other: TensorLike): Tensor {
    return ops.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ops.div(this, other);
  }
  /** other / this */
  rdiv(other: TensorLike): Tensor {
    return ops.div(other, this);
  }
  pow(exponent: TensorLike): Tensor {
    return ops.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return ops.gelu(this, approximate);
  }
  clamp(min: number | null = null, max: number | null = null): Tensor {
    return ops.clamp(this, min, max);
  }
  eq(other: TensorLike): Tensor {
    return ops.eq(this, other);
  }
  ne(other: TensorLike): Tensor {
    return ops.ne(this, other);
  }
  lt(other: TensorLike): Tensor {
    return ops.lt(this, other);
  }
  le(other: TensorLike): Tensor {
    return ops.le(this, other);
  }
  gt(other: TensorLike): Tensor {
    return ops.gt(this, other);
  }
  ge(other: TensorLike): Tensor {
    return ops.ge(this, other);
  }
  logicalNot(): Tensor {
    return ops.logicalNot(this);
  }
  logicalAnd(other: TensorLike): Tensor {
    return ops.logicalAnd(this, other);
  }
  logicalOr(other: TensorLike): Tensor {
    return ops.logicalOr(this, other);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return ops.maskedFill(this, mask, value);
  }
  /** Cast to a dtype (PyTorch's .to(dtype)). */
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, "float32");
  }
  double(): Tensor {
    return ops.cast(this, "float64");
  }
  int(): Tensor {
    return ops.cast(this, "int32");
  }
  bool(): Tensor {
    return ops.cast(this, "bool");
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  /** Write value into this tensor's storage in place (PyTorch's copy_). */
  assign(value: TensorLike): this {
    ops.assign(this, value);
    return this;
  }

  // ---- reductions ----
  sum(dim: Dims = null, keepdim = false): Tensor {
    return ops.sum(this, dim, keepdim);
  }
  mean(dim: Dims = null, keepdim = false): Tensor {
    return ops.mean(this, dim, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? ops.max(this) : ops.max(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    return dim === undefined ? ops.min(this) : ops.min(this, dim, keepdim);
  }
  amax(dim: Dims = null, keepdim = false): Tensor {
    return ops.amax(this, dim, keepdim);
  }
  amin(dim: Dims = null, keepdim = false): Tensor {
    return ops.amin(this, dim, keepdim);
  }
  argmax(dim: number | null = null, keepdim = false): Tensor {
    return ops.argmax(this, dim, keepdim);
  }
  argmin(dim: number | null = null, keepdim = false): Tensor {
    return ops.argmin(this, dim, keepdim);
  }
  var(dim: Dims = null, options: VarOptions = {}): Tensor {
    return ops.variance(this, dim, options);
  }
  std(dim: Dims = null, options: VarOptions = {}): Tensor {
    return ops.std(this, dim, options);
  }
  logsumexp(dim: Dims = null, keepdim = false): Tensor {
    return ops.logsumexp(this, dim, keepdim);
  }

  // ---- linear algebra and nn ----
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  softmax(dim = -1): Tensor {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return ops.logSoftmax(this, dim);
  }

  // ---- views and shape ----
  reshape(...shape: number[] | [Shape]): Tensor {
    return ops.reshape(this, flatShape(shape));
  }
  view(...shape: number[] | [Shape]): Tensor {
    return ops.view(this, flatShape(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten(this, startDim, endDim);
  }
  transpose(dim0 = 0, dim1 = 1): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** The transpose of a 2-D tensor (all dims reversed otherwise). */
  get T(): Tensor {
    return ops.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  /** The last two dims swapped (PyTorch's mT). */
  get mT(): Tensor {
    return ops.transpose(this, -2, -1);
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return ops.permute(this, flatShape(dims));
  }
  expand(...shape: number[] | [Shape]): Tensor {
    return ops.expand(this, flatShape(shape));
  }
  expandAs(other: Tensor): Tensor {
    return ops.expandAs(this, other);
  }
  squeeze(dim?: number | null): Tensor {
    return ops.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return ops.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return ops.select(this, dim, index);
  }
  /** x.index(0, ":", "1:3", null, "...", idx): PyTorch's x[0, :, 1:3, None, ..., idx]. */
  index(...specs: IndexSpec[]): Tensor {
    return ops.index(this, ...specs);
  }
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    return ops.split(this, sizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops.chunk(this, chunks, dim);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ops.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ops.scatterAdd(this, dim, index, src);
  }
  topk(k: number, options: TopkOptions = {}): ValuesIndices {
    return ops.topk(this, k, options);
  }
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ops.indexAdd(this, dim, index, src);
  }
  /** A copy with this[i0, i1, ...] = values (or += with accumulate). */
  indexPut(indices: readonly Tensor[], values: Tensor | number, options: ops.IndexPutOptions = {}): Tensor {
    return ops.indexPut(this, indices, values, options);
  }
  allclose(other: Tensor, options: { rtol?: number; atol?: number } = {}): boolean {
    return ops.allclose(this, other, options);
  }
  equal(other: Tensor): boolean {
    return ops.equal(this, other);
  }
  tril(diagonal = 0): Tensor {
    return ops.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return ops.triu(this, diagonal);
  }
}

/** Accept f(2, 3) and f([2, 3]). */
function flatShape(args: number[] | [Shape] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0])
    ? [...(args[0] as readonly number[])]
    : (args as number[]);
}
