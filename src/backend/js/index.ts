/**
 * The reference backend: storage is a typed array (bool as Uint8Array, 0/1), kernels are plain
 * TypeScript loops. It is the spec the wasm and webgpu kernels are tested against.
 */
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
  typedArrayFor,
} from "../types.js";
import { attention, attentionBackward } from "./attention.js";
import { batchNorm, batchNormBackward } from "./batchnorm.js";
import {
  binary,
  binaryScalar,
  copy,
  fill,
  geluBackward,
  maskedFill,
  triangle,
  unary,
  where,
} from "./elementwise.js";
import { gather, indexAdd, indexSelect, scatterAdd } from "./indexing.js";
import { linear, matmul } from "./matmul.js";
import {
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  softmax,
  softmaxBackward,
} from "./nn.js";
import { adamw, axpy } from "./optim.js";
import { argReduce, reduce, topk } from "./reduce.js";
import type { JsStorage } from "./strided.js";

export { erf } from "./math.js";
export type { JsStorage } from "./strided.js";

type KernelTable = { [K in KernelName]: (args: KernelArgs[K]) => void };
type OptionalKernelTable = { [K in OptionalKernelName]: (args: OptionalKernelArgs[K]) => void };

export const jsOptionalKernels: OptionalKernelTable = {
  attention,
  attentionBackward,
  axpy,
  batchNorm,
  batchNormBackward,
  linear,
};

export const jsKernels: KernelTable = {
  fill,
  copy,
  unary,
  binary,
  binaryScalar,
  where,
  maskedFill,
  geluBackward,
  reduce,
  argReduce,
  matmul,
  softmax,
  softmaxBackward,
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  indexSelect,
  indexAdd,
  gather,
  scatterAdd,
  topk,
  triangle,
  adamw,
};

export class JsBackend implements Backend {
  readonly name = "js";
  readonly synchronous = true;
  private buffers = 0;
  private bytes = 0;
  private peak = 0;

  alloc(dtype: DType, size: number): JsStorage {
    return this.adopt(dtype, typedArrayFor(dtype, size));
  }

  adopt(dtype: DType, data: TypedArray): JsStorage {
    this.buffers++;
    this.bytes += data.length * BYTES_PER_ELEMENT[dtype];
    if (this.bytes > this.peak) this.peak = this.bytes;
    return { dtype, size: data.length, data, freed: false };
  }

  release(storage: Storage): TypedArray {
    this.free(storage);
    return (storage as JsStorage).data;
  }

  free(storage: Storage): void {
    const s = storage as JsStorage;
    if (s.freed) return;
    s.freed = true;
    this.buffers--;
    this.bytes -= s.size * BYTES_PER_ELEMENT[s.dtype];
  }

  write(storage: Storage, values: ArrayLike<number>, offset = 0): void {
    const s = storage as JsStorage;
    if (s.dtype === "bool") for (let i = 0; i < values.length; i++) s.data[offset + i] = values[i] ? 1 : 0;
    else s.data.set(values, offset);
  }

  read(storage: Storage): Promise<TypedArray> {
    return Promise.resolve(this.readSync(storage));
  }

  readSync(storage: Storage): TypedArray {
    return (storage as JsStorage).data.slice();
  }

  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void {
    (jsKernels[kernel] as (a: KernelArgs[K]) => void)(args);
  }

  supports(kernel: OptionalKernelName): boolean {
    return kernel in jsOptionalKernels;
  }

  runOptional<K extends OptionalKernelName>(kernel: K, args: OptionalKernelArgs[K]): void {
    (jsOptionalKernels[kernel] as (a: OptionalKernelArgs[K]) => void)(args);
  }

  memoryStats(): MemoryStats {
    return { buffers: this.buffers, bytes: this.bytes };
  }

  peakBytes(): number {
    return this.peak;
  }

  resetPeak(): void {
    this.peak = this.bytes;
  }
}
