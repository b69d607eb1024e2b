// herograd wasm kernels (AssemblyScript). Built by scripts/build-wasm.mjs into four variants:
// relaxed-SIMD or plain SIMD, shared (threads) or unshared memory. The host (../index.ts) owns
// allocation; kernels read an argument block it writes (its slots and the op codes are named in
// ./spec.ts, generated from src/backend/spec/abi.ts) and walk strided views row by row, as the js
// reference does.
//
// This file is the module's entry: the kernels it exports, by the file of each (named as the js
// backend's files).

export { init, useArgs, heapBase } from "./rows";
export { fill, copy, unary, binary, binaryScalar, where, maskedFill, geluBackward, triangle } from "./elementwise";
export { adamw, axpy } from "./optim";
export { reduce, argReduce, topk } from "./reduce";
export { softmax, softmaxBackward, crossEntropy, crossEntropyBackward, layerNorm, layerNormBackward } from "./nn";
export { batchNorm, batchNormBackward } from "./batchnorm";
export { gatherScatter } from "./indexing";
export { matmul, gemv, PACK_A_BYTES, PACK_B_BYTES } from "./matmul";
