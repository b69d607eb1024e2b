/**
 * Neural-network ops. Softmax, log-softmax, cross-entropy, layer norm and (where the backend has
 * it) attention and training-mode batch norm are fused kernels with hand-derived backward
 * (lecture 5); embedding and dropout are written with other ops.
 */
import { isFloatDType, type View } from "../../backend/index.js";
import { globalRandom, type Random } from "../../random/index.js";
import { noGrad, record } from "../autograd.js";
import { normalizeDim, normalizeDims, numel, type Shape, sameShape, shapeString } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { empty, emptyInLayoutOf, rawView, requireDType, requireFloat, viewOf } from "./core.js";
import { arange, ones, rand } from "./creation.js";
import { add, assign, cast, clone, div, eq, ge, maskedFill, mul, sqrt, sub } from "./elementwise.js";
import { indexSelect, tril } from "./indexing.js";
import { matmul } from "./linalg.js";
import { mean, sum, sumTo, variance } from "./reduce.js";
import { contiguous, isContiguous, reshape, transpose, unsqueeze } from "./views.js";

function softmaxOp(name: string, x: Tensor, dim: number, log: boolean): Tensor {
  requireFloat(name, x);
  const d = normalizeDim(name, dim, x.ndim);
  const y = empty(x.shape, x.dtype, x.backend);
  x.backend.run("softmax", { x: viewOf(x), dim: d, log, out: viewOf(y) });
  return record(y, name, [x], (g) => {
    const dx = empty(x.shape, x.dtype, x.backend);
    x.backend.run("softmaxBackward", { y: viewOf(y), g: viewOf(g), dim: d, log, out: viewOf(dx) });
    return [dx];
  });
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp("softmax", x, dim, false);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp("logSoftmax", x, dim, true);
}

export interface CrossEntropyOptions {
  reduction?: "mean" | "sum" | "none";
  /** Rows with this target add nothing and leave the mean's denominator (PyTorch default -100). */
  ignoreIndex?: number;
}

/** F.cross_entropy for logits [N, C] and int32 targets [N]: logsumexp(row) − row[target]. */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { reduction = "mean", ignoreIndex = -100 } = options;
  requireFloat("crossEntropy", logits, "logits");
  requireDType("crossEntropy", target, "int32", "target");
  if (logits.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logits.shape[0]) {
    throw new RangeError(
      `crossEntropy: expected logits [N, C] and target [N], got ${shapeString(logits.shape)} and ${shapeString(target.shape)} (flatten first: logits.view(-1, C), target.view(-1))`,
    );
  }
  const out = empty(reduction === "none" ? [logits.shape[0]!] : [], logits.dtype, logits.backend);
  logits.backend.run("crossEntropy", {
    logits: viewOf(logits),
    target: viewOf(target),
    ignoreIndex,
    reduction,
    out: viewOf(out),
  });
  return record(out, "crossEntropy", [logits], (g) => {
    const dx = empty(logits.shape, logits.dtype, logits.backend);
    logits.backend.run("crossEntropyBackward", {
      logits: viewOf(logits),
      target: viewOf(target),
      g: viewOf(g),
      ignoreIndex,
      reduction,
      out: viewOf(dx),
    });
    return [dx];
  });
}

/** Normalise over the trailing `normalizedShape` dims, then scale and shift (F.layer_norm). */
export function layerNorm(
  x: Tensor,
  normalizedShape: Shape,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  requireFloat("layerNorm", x);
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k > x.ndim || tail.some((s, i) => s !== normalizedShape[i])) {
    throw new RangeError(
      `layerNorm: input ${shapeString(x.shape)} does not end with normalized shape ${shapeString(normalizedShape)}`,
    );
  }
  for (const [name, p] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (p && numel(p.shape) !== numel(normalizedShape)) {
      throw new RangeError(
        `layerNorm: ${name} ${shapeString(p.shape)} does not match normalized shape ${shapeString(normalizedShape)}`,
      );
    }
  }
  const D = numel(normalizedShape);
  const R = D === 0 ? 0 : x.numel() / D;
  const flat = (t: Tensor, shape: Shape) => rawView(isContiguous(t) ? t : noGrad(() => clone(t)), shape);
  const x2 = flat(x, [R, D]);
  const w = weight ? flat(weight, [D]) : null;
  const b = bias ? flat(bias, [D]) : null;
  const out = empty([R, D], x.dtype, x.backend);
  const mu = empty([R], x.dtype, x.backend);
  const rstd = empty([R], x.dtype, x.backend);
  x.backend.run("layerNorm", {
    x: viewOf(x2),
    weight: w && viewOf(w),
    bias: b && viewOf(b),
    eps,
    out: viewOf(out),
    mean: viewOf(mu),
    rstd: viewOf(rstd),
  });
  const y = rawView(out, x.shape);
  return record(
    y,
    "layerNorm",
    [x, weight ?? null, bias ?? null],
    (g) => {
      const dx = empty([R, D], x.dtype, x.backend);
      const dw = weight ? empty([D], x.dtype, x.backend) : null;
      const db = bias ? empty([D], x.dtype, x.backend) : null;
      const g2 = flat(g, [R, D]);
      x.backend.run("layerNormBackward", {
        x: viewOf(x2),
        weight: w && viewOf(w),
        mean: viewOf(mu),
        rstd: viewOf(rstd),
        g: viewOf(g2),
        dx: viewOf(dx),
        dweight: dw && viewOf(dw),
        dbias: db && viewOf(db),
      });
      return [
        rawView(dx, x.shape),
        dw && weight ? rawView(dw, weight.shape) : null,
        db && bias ? rawView(db, bias.shape) : null,
      ];
    },
    [x2, mu, rstd],
  );
}

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Batch statistics (and update the running ones) when true; running statistics when false. */
  training?: boolean;
  momentum?: number;
  eps?: number;
  /** Dims to normalise over; default all but the last (channels last: [N, C] or [N, T, C]). */
  dims?: number | readonly number[];
}

/**
 * Batch norm with channels last. Training uses the biased batch variance to normalise and, as
 * PyTorch, updates running_var with the unbiased one: new = (1 − momentum)·old + momentum·stat.
 * The forward is the composition below; the backward is one node with the closed form (lecture
 * 5's), a dozen kernels instead of the two dozen of the composition's tape:
 * ĝ = g·w, dx = (N·ĝ − Σĝ − x̂·Σ(ĝ·x̂)) / (N·std) in training (ĝ / std with running statistics),
 * dw = Σ g·x̂, db = Σ g.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): Tensor {
  const { weight = null, bias = null, training = true } = options;
  requireFloat("batchNorm", x);
  const dims = normalizeDims("batchNorm", options.dims ?? x.shape.slice(0, -1).map((_, i) => i), x.ndim);
  const fused = fusedBatchNorm(x, dims, options);
  if (fused) return fused;
  const { y, xhat, std } = noGrad(() => batchNormForward(x, dims, options));
  const count = dims.reduce((p, d) => p * x.shape[d]!, 1);
  return record(
    y,
    "batchNorm",
    [x, weight, bias],
    (g) => {
      const gh = weight ? mul(g, weight) : g;
      let dx: Tensor | null = null;
      if (x.requiresGrad && training) {
        const centred = sub(
          sub(mul(gh, count), sum(gh, dims, true)),
          mul(xhat, sum(mul(gh, xhat), dims, true)),
        );
        dx = div(centred, mul(std, count));
      } else if (x.requiresGrad) {
        dx = div(gh, std);
      }
      return [
        dx,
        weight?.requiresGrad ? sumTo(mul(g, xhat), weight.shape) : null,
        bias?.requiresGrad ? sumTo(g, bias.shape) : null,
      ];
    },
    [xhat, std],
  );
}

/**
 * Training-mode batch norm over every dim but the last, on the backend's fused kernels (one
 * kernel forward, running statistics included, and one backward), or null where they do not
 * apply: other dims, not float32, or a backend without them.
 */
function fusedBatchNorm(x: Tensor, dims: readonly number[], options: BatchNormOptions): Tensor | null {
  const { weight = null, bias = null, runningMean = null, runningVar = null, training = true } = options;
  const backend = x.backend;
  const C = x.shape.at(-1) ?? 0;
  const R = C === 0 ? 0 : x.numel() / C;
  const perChannel = [weight, bias, runningMean, runningVar];
  if (
    !training ||
    x.dtype !== "float32" ||
    R === 0 ||
    dims.length !== x.ndim - 1 ||
    dims.some((d, i) => d !== i) ||
    !backend.supports?.("batchNorm") ||
    !backend.supports("batchNormBackward") ||
    perChannel.some(
      (t) =>
        t &&
        (t.dtype !== "float32" ||
          t.ndim !== 1 ||
          t.shape[0] !== C ||
          !isContiguous(t) ||
          t.backend !== backend),
    )
  ) {
    return null;
  }
  const rows = (t: Tensor): View => ({
    storage: t.storage.handle,
    shape: [R, C],
    strides: [C, 1],
    offset: t.offset,
  });
  const optional = (t: Tensor | null) => (t ? viewOf(t) : null);
  const xc = noGrad(() => contiguous(x));
  const y = empty(x.shape, "float32", backend);
  const mean = empty([C], "float32", backend);
  const rstd = empty([C], "float32", backend);
  for (const t of [runningMean, runningVar]) if (t) t.storage.version++;
  backend.runOptional!("batchNorm", {
    x: rows(xc),
    weight: optional(weight),
    bias: optional(bias),
    eps: options.eps ?? 1e-5,
    momentum: options.momentum ?? 0.1,
    runningMean: optional(runningMean),
    runningVar: optional(runningVar),
    out: rows(y),
    mean: viewOf(mean),
    rstd: viewOf(rstd),
  });
  return record(
    y,
    "batchNorm",
    [x, weight, bias],
    (g) => {
      const gc = contiguous(g);
      const dx = empty(x.shape, "float32", backend);
      const dweight = weight?.requiresGrad ? empty([C], "float32", backend) : null;
      const dbias = bias?.requiresGrad ? empty([C], "float32", backend) : null;
      backend.runOptional!("batchNormBackward", {
        x: rows(xc),
        weight: optional(weight),
        mean: viewOf(mean),
        rstd: viewOf(rstd),
        g: rows(gc),
        dx: rows(dx),
        dweight: optional(dweight),
        dbias: optional(dbias),
      });
      return [x.requiresGrad ? dx : null, dweight, dbias];
    },
    [xc, mean, rstd],
  );
}

/** The forward of batchNorm, unrecorded: y, the normalised x̂ and the std it divided by. */
function batchNormForward(
  x: Tensor,
  dims: readonly number[],
  options: BatchNormOptions,
): { y: Tensor; xhat: Tensor; std: Tensor } {
  const { runningMean = null, runningVar = null, weight = null, bias = null, training = true } = options;
  const { momentum = 0.1, eps = 1e-5 } = options;
  let m: Tensor;
  let v: Tensor;
  if (training) {
    m = mean(x, dims, true);
    v = variance(x, dims, { unbiased: false, keepdim: true });
    const n = dims.reduce((p, d) => p * x.shape[d]!, 1);
    noGrad(() => {
      if (runningMean)
        assign(
          runningMean,
          add(mul(runningMean, 1 - momentum), mul(reshape(m, runningMean.shape), momentum)),
        );
      if (runningVar) {
        const unbiased = mul(reshape(v, runningVar.shape), n / Math.max(n - 1, 1));
        assign(runningVar, add(mul(runningVar, 1 - momentum), mul(unbiased, momentum)));
      }
    });
  } else {
    if (!runningMean || !runningVar)
      throw new Error("batchNorm: evaluation mode needs runningMean and runningVar");
    m = runningMean;
    v = runningVar;
  }
  const std = sqrt(add(v, eps));
  const xhat = div(sub(x, m), std);
  let y = xhat;
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return { y, xhat, std };
}

/** Rows of weight [V, D] picked by int32 ids of any shape: output ids.shape + [D]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  requireDType("embedding", ids, "int32", "indices");
  if (weight.ndim !== 2)
    throw new RangeError(`embedding: weight must be [num_embeddings, dim], got ${shapeString(weight.shape)}`);
  const rows = indexSelect(weight, 0, reshape(ids, [-1]));
  return reshape(rows, [...ids.shape, weight.shape[1]!]);
}

/** int32 one-hot rows of length numClasses (default: max id + 1, read back synchronously). */
export function oneHot(ids: Tensor, numClasses = -1): Tensor {
  requireDType("oneHot", ids, "int32", "indices");
  if (numClasses < 0) numClasses = Math.max(-1, ...ids.dataSync()) + 1;
  else if (ids.backend.readSync) {
    for (const id of ids.dataSync()) {
      if (id < 0 || id >= numClasses)
        throw new RangeError(`oneHot: class ${id} is out of range for ${numClasses} classes`);
    }
  }
  return cast(eq(unsqueeze(ids, -1), arange(0, numClasses, 1, { backend: ids.backend })), "int32");
}

export interface DropoutOptions {
  training?: boolean;
  generator?: Random;
}

/** Zero each element with probability p and scale the rest by 1/(1-p); identity when not training. */
export function dropout(x: Tensor, p = 0.5, options: DropoutOptions = {}): Tensor {
  const { training = true, generator = globalRandom } = options;
  if (p < 0 || p > 1) throw new RangeError(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const keep = ge(rand(x.shape, { generator, backend: x.backend, dtype: x.dtype }), p);
  return mul(x, mul(cast(keep, x.dtype), 1 / (1 - p)));
}

/**
 * softmax(q·kᵀ·scale with future positions masked) for q [..., T, hs] and k [..., Tk, hs]: query i
 * attends to key j <= i. With Tk > T (a KV cache) the queries are the last T positions, so query i
 * sees keys up to Tk − T + i.
 */
export function causalAttentionWeights(
  q: Tensor,
  k: Tensor,
  scale = 1 / Math.sqrt(q.shape.at(-1) ?? 1),
): Tensor {
  const T = q.shape.at(-2)!;
  const Tk = k.shape.at(-2)!;
  const att = mul(matmul(q, transpose(k, -2, -1)), scale);
  const future = eq(tril(ones([T, Tk], { backend: q.backend, dtype: "int32" }), Tk - T), 0);
  return softmax(maskedFill(att, future, Number.NEGATIVE_INFINITY), -1);
}

/** causalAttentionWeights(q, k) @ v, fused where the backend has the attention kernel. */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, scale?: number): Tensor {
  return scaledDotProductAttention(q, k, v, { isCausal: true, ...(scale === undefined ? {} : { scale }) });
}

export interface AttentionOptions {
  /** Mask future keys (see causalAttentionWeights). */
  isCausal?: boolean;
  /** Default 1/sqrt(head size). */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale)·v (PyTorch's F.scaled_dot_product_attention) for q [..., T, D],
 * k [..., Tk, D], v [..., Tk, Dv]. One fused kernel with a hand-derived backward where the
 * backend offers it and the batch dims agree; otherwise matmul, maskedFill and softmax.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): Tensor {
  const { isCausal = false, scale = 1 / Math.sqrt(q.shape.at(-1) ?? 1) } = options;
  const backend = q.backend;
  const nd = q.ndim;
  const fusable =
    backend.supports?.("attention", q.dtype) === true &&
    backend.runOptional !== undefined &&
    nd >= 2 &&
    k.ndim === nd &&
    v.ndim === nd &&
    k.backend === backend &&
    v.backend === backend &&
    isFloatDType(q.dtype) &&
    k.dtype === q.dtype &&
    v.dtype === q.dtype &&
    sameShape(q.shape.slice(0, -2), k.shape.slice(0, -2)) &&
    sameShape(q.shape.slice(0, -2), v.shape.slice(0, -2)) &&
    q.shape[nd - 1] === k.shape[nd - 1] &&
    k.shape[nd - 2] === v.shape[nd - 2];
  if (!fusable) {
    const weights = isCausal
      ? causalAttentionWeights(q, k, scale)
      : softmax(mul(matmul(q, transpose(k, -2, -1)), scale), -1);
    return matmul(weights, v);
  }
  const batch = q.shape.slice(0, -2);
  const T = q.shape[nd - 2]!;
  const Tk = k.shape[nd - 2]!;
  // Outputs keep their inputs' memory order (heads split from one projection stay interleaved).
  const out = emptyInLayoutOf(q, [...batch, T, v.shape[nd - 1]!], q.dtype, backend);
  const weights = empty([...batch, T, Tk], q.dtype, backend);
  backend.runOptional!("attention", {
    q: viewOf(q),
    k: viewOf(k),
    v: viewOf(v),
    scale,
    causal: isCausal,
    out: viewOf(out),
    weights: viewOf(weights),
  });
  return record(
    out,
    "attention",
    [q, k, v],
    (g) => {
      const dq = emptyInLayoutOf(q, q.shape, q.dtype, backend);
      const dk = emptyInLayoutOf(k, k.shape, k.dtype, backend);
      const dv = emptyInLayoutOf(v, v.shape, v.dtype, backend);
      backend.runOptional!("attentionBackward", {
        q: viewOf(q),
        k: viewOf(k),
        v: viewOf(v),
        weights: viewOf(weights),
        g: viewOf(g),
        scale,
        causal: isCausal,
        dq: viewOf(dq),
        dk: viewOf(dk),
        dv: viewOf(dv),
      });
      return [dq, dk, dv];
    },
    [weights],
  );
}

export interface MultinomialOptions {
  replacement?: boolean;
  generator?: Random;
}

/**
 * Draw indices from rows of non-negative weights ([C] or [N, C]) with the seeded generator;
 * int32 [numSamples] or [N, numSamples]. The weights are read back with await, so it runs on
 * every backend: on js and wasm the promise resolves at once, on webgpu it waits for the device.
 */
export async function multinomial(
  probs: Tensor,
  numSamples = 1,
  options: MultinomialOptions = {},
): Promise<Tensor> {
  checkMultinomial(probs, numSamples, options);
  return drawMultinomial(probs, await probs.data(), numSamples, options);
}

function checkMultinomial(probs: Tensor, numSamples: number, options: MultinomialOptions): void {
  if (probs.ndim !== 1 && probs.ndim !== 2)
    throw new RangeError(`multinomial: expected 1-D or 2-D weights, got ${shapeString(probs.shape)}`);
  const C = probs.shape.at(-1)!;
  if (!options.replacement && numSamples > C) {
    throw new RangeError(
      `multinomial: cannot draw ${numSamples} samples without replacement from ${C} categories`,
    );
  }
}

function drawMultinomial(
  probs: Tensor,
  data: ArrayLike<number>,
  numSamples: number,
  options: MultinomialOptions,
): Tensor {
  const { replacement = false, generator = globalRandom } = options;
  const C = probs.shape.at(-1)!;
  const N = probs.ndim === 2 ? probs.shape[0]! : 1;
  const out = new Int32Array(N * numSamples);
  const row = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) row[c] = data[n * C + c]!;
    for (let s = 0; s < numSamples; s++) {
      const i = generator.categorical(row);
      out[n * numSamples + s] = i;
      if (!replacement) row[i] = 0;
    }
  }
  const shape = probs.ndim === 2 ? [N, numSamples] : [numSamples];
  const t = empty(shape, "int32", probs.backend);
  t.backend.write(t.storage.handle, out);
  return t;
}
