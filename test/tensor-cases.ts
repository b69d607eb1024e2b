/**
 * A table of op invocations shared by the gradcheck suite (float64, finite differences) and the
 * backend parity suite (each backend against js). Inputs cover broadcasting, scalars on both
 * sides, odd sizes and non-contiguous leaves.
 */
import type { DType } from "../src/tensor/index.js";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";

export type Case = { name: string; inputs: (r: Maker) => Tensor[]; fn: (...xs: Tensor[]) => Tensor };

export interface Maker {
  /** Standard normal leaf requiring grad. */
  n(shape: number[]): Tensor;
  /** Uniform in [lo, hi) leaf requiring grad. */
  u(shape: number[], lo: number, hi: number): Tensor;
  /** sign · U[0.3, 1.5): away from the kinks of abs, relu and clamp, and from 0 for division. */
  away(shape: number[]): Tensor;
  /** A non-contiguous leaf: the transpose of a normal [b, a] tensor, shape [a, b]. */
  nT(a: number, b: number): Tensor;
  /** Constant int32 tensor. */
  ints(values: number[], shape?: number[]): Tensor;
  /** Constant bool tensor. */
  bools(values: number[], shape: number[]): Tensor;
}

/** Inputs on `backend` in `dtype`, drawn from a generator seeded with `seed`. */
export function maker(backend: string, seed: number, dtype: DType = "float64"): Maker {
  const g = new Random(seed);
  const leaf = (t: Tensor) => t.detach().setRequiresGrad();
  const uniform = (shape: number[], lo: number, hi: number) =>
    T.add(T.mul(T.rand(shape, { dtype, generator: g, backend }), hi - lo), lo);
  return {
    n: (shape) => leaf(T.randn(shape, { dtype, generator: g, backend })),
    u: (shape, lo, hi) => leaf(uniform(shape, lo, hi)),
    away: (shape) => {
      const sign = T.sub(
        T.mul(T.cast(T.gt(T.randn(shape, { dtype, generator: g, backend }), 0), dtype), 2),
        1,
      );
      return leaf(T.mul(uniform(shape, 0.3, 1.5), sign));
    },
    nT: (a, b) => leaf(T.randn([b, a], { dtype, generator: g, backend }).transpose(0, 1)),
    ints: (values, shape) => T.tensor(values, { dtype: "int32", backend, ...(shape ? { shape } : {}) }),
    bools: (values, shape) => T.tensor(values, { dtype: "bool", backend, shape }),
  };
}

export const opCases: Case[] = [
  // elementwise binary with broadcasting and scalars on both sides
  {
    name: "add broadcast [3,1,4]+[2,4]",
    inputs: (r) => [r.n([3, 1, 4]), r.n([2, 4])],
    fn: (a, b) => T.add(a!, b!),
  },
  { name: "sub broadcast col-row", inputs: (r) => [r.n([3, 1]), r.n([1, 4])], fn: (a, b) => T.sub(a!, b!) },
  { name: "mul broadcast 0-d", inputs: (r) => [r.n([]), r.n([2, 3])], fn: (a, b) => T.mul(a!, b!) },
  { name: "div broadcast", inputs: (r) => [r.n([2, 3]), r.away([3])], fn: (a, b) => T.div(a!, b!) },
  { name: "mul non-contiguous", inputs: (r) => [r.nT(3, 4), r.n([3, 4])], fn: (a, b) => T.mul(a!, b!) },
  {
    name: "add/sub/mul/div scalars both sides",
    inputs: (r) => [r.away([2, 3])],
    fn: (x) => T.div(T.sub(2, T.mul(3, T.add(x!, 1))), T.div(x!, 0.5)).add(T.div(1, x!)),
  },
  {
    name: "pow tensor^scalar",
    inputs: (r) => [r.u([2, 3], 0.5, 2)],
    fn: (x) => T.add(T.pow(x!, 2.5), T.pow(x!, -0.5)),
  },
  { name: "pow scalar^tensor", inputs: (r) => [r.n([2, 3])], fn: (x) => T.pow(3, x!) },
  {
    name: "pow tensor^tensor broadcast",
    inputs: (r) => [r.u([2, 3], 0.5, 2), r.n([3])],
    fn: (a, b) => T.pow(a!, b!),
  },
  {
    name: "maximum/minimum",
    inputs: (r) => [r.n([3, 4]), r.n([4])],
    fn: (a, b) => T.add(T.maximum(a!, b!), T.minimum(a!, 0.1)),
  },
  { name: "x*x same tensor twice", inputs: (r) => [r.n([2, 3])], fn: (x) => T.mul(x!, x!) },
  // unary
  {
    name: "neg exp tanh sigmoid",
    inputs: (r) => [r.n([2, 3])],
    fn: (x) => T.neg(T.add(T.exp(x!), T.mul(T.tanh(x!), T.sigmoid(x!)))),
  },
  {
    name: "log sqrt rsqrt reciprocal",
    inputs: (r) => [r.u([3, 2], 0.5, 3)],
    fn: (x) => T.add(T.add(T.log(x!), T.sqrt(x!)), T.add(T.rsqrt(x!), T.reciprocal(x!))),
  },
  { name: "erf", inputs: (r) => [r.n([3, 5])], fn: (x) => T.erf(T.mul(x!, 1.5)) },
  {
    name: "square sin cos",
    inputs: (r) => [r.n([4])],
    fn: (x) => T.add(T.square(x!), T.mul(T.sin(x!), T.cos(x!))),
  },
  {
    name: "relu abs (away from 0)",
    inputs: (r) => [r.away([3, 4])],
    fn: (x) => T.add(T.relu(x!), T.abs(x!)),
  },
  {
    name: "gelu exact and tanh",
    inputs: (r) => [r.n([3, 5])],
    fn: (x) => T.add(T.gelu(x!), T.mul(T.gelu(x!, "tanh"), 2)),
  },
  {
    name: "clamp",
    inputs: (r) => [r.away([3, 4])],
    fn: (x) => T.add(T.clamp(x!, -0.9, 0.95), T.clamp(x!, 0.1)),
  },
  {
    name: "clone and cast float64→float64",
    inputs: (r) => [r.nT(2, 3)],
    fn: (x) => T.mul(T.clone(x!), T.cast(x!, "float64")),
  },
  // matmul
  { name: "matmul 2-D", inputs: (r) => [r.n([3, 4]), r.n([4, 5])], fn: (a, b) => T.matmul(a!, b!) },
  {
    name: "matmul batched broadcast [2,1,3,4]@[3,4,2]",
    inputs: (r) => [r.n([2, 1, 3, 4]), r.n([3, 4, 2])],
    fn: (a, b) => T.matmul(a!, b!),
  },
  {
    name: "matmul [2,3,4]@[4,2]",
    inputs: (r) => [r.n([2, 3, 4]), r.n([4, 2])],
    fn: (a, b) => T.matmul(a!, b!),
  },
  {
    name: "matmul 1-D operands",
    inputs: (r) => [r.n([4]), r.n([4, 3]), r.n([2, 4])],
    fn: (v, m, w) => T.add(T.matmul(v!, m!).sum(), T.matmul(w!, v!).sum()),
  },
  {
    name: "matmul non-contiguous both",
    inputs: (r) => [r.nT(3, 4), r.nT(4, 2)],
    fn: (a, b) => T.matmul(a!, b!),
  },
  {
    name: "linear with bias, 3-D input",
    inputs: (r) => [r.n([2, 3, 4]), r.n([5, 4]), r.n([5])],
    fn: (x, w, b) => T.linear(x!, w!, b),
  },
  // reductions
  {
    name: "sum dims keepdim",
    inputs: (r) => [r.n([3, 4, 2])],
    fn: (x) => T.add(T.sum(x!, [0, 2], true), T.sum(x!, -1).sum(0, true).unsqueeze(-1)),
  },
  { name: "mean all and dim", inputs: (r) => [r.nT(3, 4)], fn: (x) => T.add(T.mean(x!), T.mean(x!, 1)) },
  {
    name: "max/min along dim",
    inputs: (r) => [r.n([3, 5])],
    fn: (x) => T.add(T.max(x!, 1).values, T.min(x!, 0, true).values.sum()),
  },
  {
    name: "max all, amax dims",
    inputs: (r) => [r.n([2, 3, 4])],
    fn: (x) => T.add(T.max(x!), T.amax(x!, [0, 2])),
  },
  {
    name: "var/std unbiased and biased",
    inputs: (r) => [r.n([4, 5])],
    fn: (x) => T.add(T.variance(x!, 0), T.std(x!, -1, { unbiased: false, keepdim: true }).sum()),
  },
  {
    name: "logsumexp",
    inputs: (r) => [r.n([3, 4])],
    fn: (x) => T.add(T.logsumexp(x!, 1), T.logsumexp(x!, 0, true).sum()),
  },
  // fused nn ops
  {
    name: "softmax dim -1 and 0",
    inputs: (r) => [r.n([3, 4])],
    fn: (x) => T.add(T.softmax(x!, -1), T.softmax(x!, 0)),
  },
  {
    name: "logSoftmax non-contiguous 3-D",
    inputs: (r) => [r.n([2, 4, 3])],
    fn: (x) => T.logSoftmax(x!.transpose(1, 2), 1),
  },
  {
    name: "crossEntropy mean",
    inputs: (r) => [r.n([5, 4]), r.ints([0, 3, 1, 1, 2])],
    fn: (x, y) => T.crossEntropy(x!, y!),
  },
  {
    name: "crossEntropy none/sum with ignoreIndex",
    inputs: (r) => [r.nT(5, 4), r.ints([0, -1, 1, 3, -1])],
    fn: (x, y) =>
      T.add(
        T.crossEntropy(x!, y!, { reduction: "none", ignoreIndex: -1 }),
        T.crossEntropy(x!, y!, { reduction: "sum", ignoreIndex: -1 }),
      ),
  },
  {
    name: "layerNorm affine",
    inputs: (r) => [r.n([2, 3, 6]), r.n([6]), r.n([6])],
    fn: (x, w, b) => T.layerNorm(x!, [6], w, b),
  },
  {
    name: "layerNorm no affine, non-contiguous, 2 normalized dims",
    inputs: (r) => [r.n([4, 3, 2])],
    fn: (x) => T.layerNorm(x!.transpose(0, 2), [3, 4]),
  },
  {
    name: "batchNorm training [N,C] and [N,T,C]",
    inputs: (r) => [r.n([6, 3]), r.n([3]), r.n([3]), r.n([4, 2, 3])],
    fn: (x, w, b, z) =>
      T.add(
        T.batchNorm(x!, { weight: w, bias: b }).sum(0),
        T.batchNorm(z!, { weight: w, bias: b }).sum([0, 1]),
      ),
  },
  {
    // A random weighting, so dx is not the zero that a plain sum over the batch gives.
    name: "batchNorm training, weighted [N,T,C] over dims 0 and 1",
    inputs: (r) => [r.n([5, 2, 3]), r.n([3]), r.n([3]), r.n([5, 2, 3])],
    fn: (x, w, b, k) => T.mul(T.batchNorm(x!, { weight: w, bias: b }), k!).sum(),
  },
  {
    name: "batchNorm with running statistics (eval), weighted, no bias",
    inputs: (r) => [r.n([6, 3]), r.n([3]), r.n([6, 3])],
    fn: (x, w, k) => {
      const constant = (values: number[]) => T.tensor(values, { dtype: x!.dtype, backend: x!.backend });
      const stats = { runningMean: constant([0.1, -0.2, 0.3]), runningVar: constant([0.5, 1.5, 2]) };
      return T.mul(T.batchNorm(x!, { weight: w, training: false, ...stats }), k!).sum();
    },
  },
  {
    name: "causal attention 3-D",
    inputs: (r) => [r.n([2, 4, 3]), r.n([2, 4, 3]), r.n([2, 4, 3])],
    fn: (q, k, v) => T.causalAttention(q!, k!, v!),
  },
  {
    name: "causal attention weights 4-D",
    inputs: (r) => [r.n([1, 2, 3, 2]), r.n([1, 2, 3, 2])],
    fn: (q, k) => T.causalAttentionWeights(q!, k!, 0.7),
  },
  {
    name: "causal attention with a KV cache (2 queries, 4 keys)",
    inputs: (r) => [r.n([1, 2, 3]), r.n([1, 4, 3]), r.n([1, 4, 2])],
    fn: (q, k, v) => T.causalAttention(q!, k!, v!),
  },
  {
    name: "scaledDotProductAttention, not causal, heads from a transposed view",
    inputs: (r) => [r.n([2, 3, 2, 2]), r.n([2, 2, 4, 2]), r.n([2, 2, 4, 3])],
    fn: (q, k, v) => T.scaledDotProductAttention(q!.transpose(1, 2), k!, v!, { scale: 0.8 }),
  },
  {
    name: "causal attention 4-D, heads split from one [B, T, C] tensor",
    inputs: (r) => [r.n([2, 4, 6])],
    fn: (x) => {
      const [q, k, v] = x!.split(2, -1).map((t) => t.view(2, 4, 1, 2).transpose(1, 2));
      return T.causalAttention(q!, k!, v!);
    },
  },
  {
    name: "dropout with a fixed generator",
    inputs: (r) => [r.n([4, 5])],
    fn: (x) => T.dropout(x!, 0.3, { generator: new Random(9) }),
  },
  // indexing
  {
    name: "embedding (repeated ids)",
    inputs: (r) => [r.n([5, 3]), r.ints([1, 4, 1, 0, 4, 4], [2, 3])],
    fn: (w, ids) => T.embedding(w!, ids!),
  },
  {
    name: "indexSelect dim 1",
    inputs: (r) => [r.n([3, 4]), r.ints([3, 0, 3])],
    fn: (x, i) => T.indexSelect(x!, 1, i!),
  },
  {
    name: "gather dim 1",
    inputs: (r) => [r.n([3, 4]), r.ints([0, 3, 2, 2, 1, 1], [3, 2])],
    fn: (x, i) => T.gather(x!, 1, i!),
  },
  {
    name: "scatterAdd",
    inputs: (r) => [r.n([3, 4]), r.ints([0, 3, 0, 2, 1, 1], [3, 2]), r.n([3, 2])],
    fn: (x, i, s) => T.scatterAdd(x!, 1, i!, s!),
  },
  {
    name: "indexAdd dim 0 (repeated rows)",
    inputs: (r) => [r.n([4, 3]), r.ints([1, 3, 1]), r.n([3, 3])],
    fn: (x, i, s) => T.indexAdd(x!, 0, i!, s!),
  },
  {
    name: "indexPut write and accumulate",
    inputs: (r) => [r.n([4, 5]), r.ints([0, 3, 2]), r.ints([4, 0, 0]), r.n([3])],
    fn: (x, i, j, v) =>
      T.add(T.indexPut(x!, [i!, j!], v!), T.indexPut(x!, [i!], v!.sum(), { accumulate: true })),
  },
  {
    name: "index by tensors x[rows, cols]",
    inputs: (r) => [r.n([4, 5]), r.ints([0, 3, 3, 1]), r.ints([4, 0, 0, 2])],
    fn: (x, i, j) => x!.index(i!, j!),
  },
  {
    name: "index mixed: x[1:, idx, 0]",
    inputs: (r) => [r.n([3, 4, 2]), r.ints([3, 1])],
    fn: (x, i) => x!.index("1:", i!, 0),
  },
  {
    name: "topk largest and smallest",
    inputs: (r) => [r.n([3, 6])],
    fn: (x) => T.add(T.topk(x!, 2).values, T.topk(x!, 2, { largest: false }).values),
  },
  { name: "tril/triu", inputs: (r) => [r.n([2, 3, 4])], fn: (x) => T.add(T.tril(x!, -1), T.triu(x!, 2)) },
  {
    name: "maskedFill",
    inputs: (r) => [r.n([2, 3, 3]), r.bools([1, 0, 0, 1, 1, 0, 0, 0, 1], [3, 3])],
    fn: (x, m) => T.maskedFill(x!, m!, -2),
  },
  {
    name: "where broadcast",
    inputs: (r) => [r.bools([1, 0, 1], [3, 1]), r.n([3, 4]), r.n([4])],
    fn: (c, a, b) => T.where(c!, a!, b!),
  },
  // views
  {
    name: "reshape/view/flatten",
    inputs: (r) => [r.n([2, 3, 4])],
    fn: (x) => T.add(x!.reshape(4, 6), x!.view([4, -1])).flatten(),
  },
  { name: "reshape of non-contiguous (copies)", inputs: (r) => [r.nT(3, 4)], fn: (x) => x!.reshape([-1]) },
  {
    name: "transpose/permute/T",
    inputs: (r) => [r.n([2, 3, 4])],
    fn: (x) => T.add(x!.permute(2, 0, 1), x!.transpose(0, 2).transpose(1, 2)),
  },
  {
    name: "slice with step, negative start; narrow; select",
    inputs: (r) => [r.n([4, 6])],
    fn: (x) => T.add(x!.slice(1, -5, null, 2), x!.narrow(1, 0, 3)).add(x!.select(1, 2).unsqueeze(1)),
  },
  {
    name: "index basic: x[..., ::2], x[None, 1]",
    inputs: (r) => [r.n([3, 4])],
    fn: (x) => T.add(x!.index("...", "::2").sum(), x!.index(null, 1).sum()),
  },
  {
    name: "expand / squeeze / unsqueeze",
    inputs: (r) => [r.n([3, 1])],
    fn: (x) => x!.expand(2, 3, 4).add(x!.squeeze(1).unsqueeze(0).unsqueeze(2)),
  },
  {
    name: "cat along dims (incl. non-contiguous)",
    inputs: (r) => [r.n([2, 3]), r.nT(2, 3), r.n([2, 1])],
    fn: (a, b, c) => T.cat([a!, b!, c!], 1),
  },
  { name: "stack dim 1", inputs: (r) => [r.n([3, 2]), r.n([3, 2])], fn: (a, b) => T.stack([a!, b!], 1) },
  {
    name: "split / chunk",
    inputs: (r) => [r.n([5, 2])],
    fn: (x) => {
      const [p, q] = x!.split([2, 3]);
      const [s] = x!.chunk(2, 0);
      return T.add(T.add(p!.sum(), q!.sum(0)), s!.mul(2).sum());
    },
  },
  {
    name: "view of a split slice into heads (nanoGPT's k.view(B, T, nh, hs))",
    inputs: (r) => [r.n([2, 3, 12])],
    fn: (x) => x!.split(4, 2)[1]!.view(2, 3, 2, 2).transpose(1, 2),
  },
  {
    name: "contiguous of a permuted view",
    inputs: (r) => [r.n([2, 3, 2])],
    fn: (x) => x!.permute(2, 1, 0).contiguous().view(12),
  },
];
