/**
 * The webgpu backend's kernels, by the file of each (named as the js backend's files): each
 * merges dims, lays out the meta block, picks (generates) the shader and records the dispatch.
 * The js kernels (../js) are the spec; each function mirrors one.
 */
import type { KernelArgs, KernelName, OptionalKernelArgs, OptionalKernelName } from "../types.js";
import { attention, attentionBackward } from "./attention.js";
import type { KernelContext } from "./dispatch.js";
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

export type { KernelContext, WebGpuStorage } from "./dispatch.js";
export { matmulPlanOf } from "./matmul.js";

type KernelTable = { [K in KernelName]: (ctx: KernelContext, args: KernelArgs[K]) => void };
/** The fused kernels this backend has (the front end composes the others from required ones). */
type OptionalKernelTable = {
  [K in OptionalKernelName]?: (ctx: KernelContext, args: OptionalKernelArgs[K]) => void;
};

export const webgpuKernels: KernelTable = {
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

export const webgpuOptionalKernels: OptionalKernelTable = { attention, attentionBackward, axpy, linear };
