/**
 * herograd tensors: PyTorch-shaped, on pluggable backends.
 *
 * Create:   tensor([[1, 2], [3, 4]]), tensor(ids, { dtype: "int32" }), zeros([2, 3]), ones, full,
 *           arange(5) (int32) / arange(0, 1, 0.1), linspace, eye, rand/randn/randint(..., { generator }),
 *           zerosLike, onesLike, fullLike, randLike, randnLike, scalar(3). Default dtype float32;
 *           dtypes: float32, float64 (gradcheck), int32 (indices), bool (masks, stored as 0/1 bytes).
 * Ops:      every op is a free function and a method: add(x, 1) === x.add(1). Binary ops broadcast
 *           and take numbers on either side (sub(1, x)). Names are PyTorch's in camelCase:
 *           matmul, linear, sum/mean(dim, keepdim), max(dim) → { values, indices }, amax, argmax,
 *           variance / x.var(dim, { unbiased, keepdim }), std, logsumexp, softmax, logSoftmax,
 *           crossEntropy(logits, target, { reduction, ignoreIndex }), layerNorm, batchNorm,
 *           embedding, oneHot, gelu(x, "tanh"), dropout(x, p, { training, generator }), where,
 *           maskedFill, clamp, topk, tril/triu, gather, indexSelect, scatterAdd, indexAdd,
 *           indexPut(x, [i, j], v) (x[i, j] = v, or += with { accumulate }), multinomial (seeded,
 *           awaited: it reads the weights), causalAttentionWeights / causalAttention (KV cache
 *           aware), comparisons (eq, lt, ...) → bool, allclose, equal, randperm, adamwStep (fused).
 * Views:    reshape/view (no copy whenever the strides allow, as PyTorch), transpose, permute, T, mT,
 *           slice(dim, start, end, step), narrow, select, expand, squeeze/unsqueeze, flatten,
 *           contiguous, split, chunk, cat, stack, and
 *           x.index(0, ":", "1:3", null, "...", idsTensor) for x[0, :, 1:3, None, ..., ids].
 * Autograd: x.requiresGrad = true (or { requiresGrad: true }); y.backward(grad?, { retainGraph });
 *           x.grad (accumulates); retainGrad() on intermediates; detach(); noGrad(fn);
 *           zeroGrad() (in place; { setToNone: true } drops it); gradcheck(fn, inputs). Changing a
 *           tensor in place between forward and backward is an error, not a wrong gradient.
 * Read:     await t.data() everywhere; t.dataSync(), t.item(), t.tolist() on synchronous backends.
 * Memory:   automatic (docs/MEMORY.md): backward() frees its own temporaries; on js and wasm other
 *           unused tensors are spilled to JS memory past a threshold (the garbage collector then
 *           frees them, even inside a synchronous loop); elsewhere a FinalizationRegistry frees
 *           them. tidy(fn) frees fn's temporaries at once (keeps what fn returns, grads of outside
 *           tensors, and parameters); keep(t); t.dispose(); assign(target, value) updates in place;
 *           memoryStats() → { wasm: { buffers, bytes, peakBytes } }; resetPeakMemoryStats().
 * Backends: setBackend("js"); registerBackend(name, factory); t.to("wasm"). This package imports no
 *           backend: the package's entries ("herograd", "herograd/tensor", the CLI) register js and
 *           wasm and pick the default (src/backend/select.ts); webgpu registers from its own module.
 */

export {
  type Backend,
  backendNames,
  currentBackendName,
  type DType,
  getBackend,
  type MemoryStats,
  registerBackend,
  setBackend,
} from "../backend/index.js";
export { globalRandom, manualSeed, Random } from "../random/index.js";
export {
  type BackwardOptions,
  enableGrad,
  graphPrivate,
  isGradEnabled,
  Node,
  noGrad,
  outsideGraphPrivate,
} from "./autograd.js";
export { type GradcheckOptions, type GradcheckResult, gradcheck } from "./gradcheck.js";
export { memoryCheckpoint, setSpillThreshold, spillTemporaries } from "./memory.js";
export * from "./ops/index.js";
export { keep, memoryStats, resetPeakMemoryStats, spillMemoryStats, tidy } from "./scope.js";
export { broadcastShapes, type Shape, shapeString } from "./shape.js";
export { Tensor } from "./tensor.js";
