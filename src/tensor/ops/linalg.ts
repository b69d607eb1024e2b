/** matmul (batched, broadcast, 1-D operands) and linear. */
import { isFloatDType } from "../../backend/index.js";
import { isGradEnabled, record } from "../autograd.js";
import { broadcastShapes, shapeString } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { backendOf, broadcastView, empty, promote, rawView, requireFloat, viewOf } from "./core.js";
import { add, cast, gelu as geluOp } from "./elementwise.js";
import { sumTo } from "./reduce.js";
import { reshape, transpose } from "./views.js";

/**
 * torch.matmul: [..., M, K] @ [..., K, N] → [..., M, N] with the leading dims broadcast;
 * a 1-D left operand is a row [1, K] and a 1-D right operand a column [K, 1], removed afterwards.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: both operands need at least 1 dim, got shapes ${shapeString(a.shape)} and ${shapeString(b.shape)}`,
    );
  }
  requireFloat("matmul", a, "left operand");
  requireFloat("matmul", b, "right operand");
  const backend = backendOf("matmul", a, b);
  const dtype = promote(a.dtype, b.dtype);
  const ac = cast(a, dtype);
  const bc = cast(b, dtype);
  // Un-recorded 2-D-or-more views; the node below covers the whole op.
  const a2 = a.ndim === 1 ? rawView(ac, [1, a.shape[0]!], [0, ac.strides[0]!]) : ac;
  const b2 = b.ndim === 1 ? rawView(bc, [b.shape[0]!, 1], [bc.strides[0]!, 0]) : bc;
  const [M, K] = a2.shape.slice(-2) as [number, number];
  const [K2, N] = b2.shape.slice(-2) as [number, number];
  if (K !== K2) {
    throw new RangeError(
      `matmul: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} cannot be multiplied (${K} vs ${K2})`,
    );
  }
  const batch = broadcastShapes("matmul", a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const out = empty([...batch, M, N], dtype, backend);
  backend.run("matmul", {
    a: broadcastView(a2, [...batch, M, K]),
    b: broadcastView(b2, [...batch, K, N]),
    out: viewOf(out),
  });
  let shape = [...batch, M, N];
  if (a.ndim === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (b.ndim === 1) shape = shape.slice(0, -1);
  const result = rawView(out, shape);
  // b is a transposed [N, K] matrix (x @ Wᵀ in linear): its gradient is computed as (gᵀ·a)ᵀ, so
  // it lands in W's layout and reaches W.grad without a transposing copy.
  const bTransposed = batch.length === 0 && b2.strides[0] === 1 && b2.strides[1] === K && K > 1;
  return record(result, "matmul", [ac, bc], (g) => {
    const g2 = reshape(g, [...batch, M, N]);
    let gb: Tensor | null = null;
    if (bc.requiresGrad) {
      gb = bTransposed
        ? transpose(matmul(transpose(g2, -1, -2), a2), -1, -2)
        : sumTo(matmul(transpose(a2, -1, -2), g2), b2.shape);
    }
    return [
      ac.requiresGrad ? reshape(sumTo(matmul(g2, transpose(b2, -1, -2)), a2.shape), a.shape) : null,
      gb ? reshape(gb, b.shape) : null,
    ];
  });
}

/** x @ weightᵀ + bias, with weight [out, in] as nn.Linear stores it. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearAct(x, weight, bias ?? null, null);
}

/**
 * gelu(x @ weightᵀ + bias): the first half of a transformer's MLP. One kernel where the backend
 * has a fused `linear` (the bias and the GELU applied as the product is written), else linear
 * then gelu; the same values either way.
 */
export function linearGelu(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  approximate: "none" | "tanh" = "none",
): Tensor {
  return linearAct(x, weight, bias, approximate);
}

function linearAct(x: Tensor, weight: Tensor, bias: Tensor | null, gelu: "none" | "tanh" | null): Tensor {
  if (weight.ndim !== 2)
    throw new RangeError(`linear: weight must be [out, in], got ${shapeString(weight.shape)}`);
  if (x.shape.at(-1) !== weight.shape[1]) {
    throw new RangeError(
      `linear: input ${shapeString(x.shape)} has ${x.shape.at(-1)} features, weight ${shapeString(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (x.ndim > 2) {
    // Rows of any batch shape are one [rows, in] matrix: a single 2-D product forward, and in
    // backward the weight's gradient is one matmul instead of a batch of them summed afterwards.
    const rows = linearAct(reshape(x, [-1, x.shape.at(-1)!]), weight, bias, gelu);
    return reshape(rows, [...x.shape.slice(0, -1), weight.shape[0]!]);
  }
  const backend = x.backend;
  const fusable =
    x.ndim === 2 &&
    x.numel() > 0 &&
    weight.numel() > 0 &&
    backend.supports?.("linear") === true &&
    weight.backend === backend &&
    (bias === null || (bias.backend === backend && bias.ndim === 1 && bias.dtype === x.dtype)) &&
    isFloatDType(x.dtype) &&
    weight.dtype === x.dtype;
  if (!fusable) {
    const y = matmul(x, transpose(weight, 0, 1));
    const biased = bias ? add(y, bias) : y;
    return gelu === null ? biased : geluOp(biased, gelu);
  }
  const [R] = x.shape as [number];
  const N = weight.shape[0]!;
  const out = empty([R, N], x.dtype, backend);
  const needsGrad =
    gelu !== null &&
    isGradEnabled() &&
    (x.requiresGrad || weight.requiresGrad || bias?.requiresGrad === true);
  const pre = needsGrad ? empty([R, N], x.dtype, backend) : null;
  backend.runOptional!("linear", {
    x: viewOf(x),
    weight: viewOf(weight),
    bias: bias ? viewOf(bias) : null,
    gelu,
    out: viewOf(out),
    preActivation: pre ? viewOf(pre) : null,
  });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(
    out,
    gelu === null ? "linear" : "linearGelu",
    inputs,
    (g) => {
      let gh = g;
      if (pre) {
        gh = empty(pre.shape, pre.dtype, backend);
        backend.run("geluBackward", {
          approximate: gelu === "tanh",
          x: viewOf(pre),
          g: viewOf(g),
          out: viewOf(gh),
        });
      }
      return [
        x.requiresGrad ? matmul(gh, weight) : null,
        // (ghᵀ·x) lands in the weight's [out, in] layout.
        weight.requiresGrad ? matmul(transpose(gh, 0, 1), x) : null,
        ...(bias ? [bias.requiresGrad ? sumTo(gh, bias.shape) : null] : []),
      ];
    },
    pre ? [pre] : [],
  );
}
