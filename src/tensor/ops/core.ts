/** Helpers every op uses: allocating outputs, kernel views, backend and dtype checks. */
import { type Backend, type DType, getBackend, isFloatDType, type View } from "../../backend/index.js";
import { TensorStorage } from "../memory.js";
import { contiguousStrides, numel, type Shape } from "../shape.js";
import { Tensor } from "../tensor.js";

/** What a kernel reads: the tensor's storage handle, shape, strides and offset. */
export function viewOf(t: Tensor): View {
  return { storage: t.storage.handle, shape: t.shape, strides: t.strides, offset: t.offset };
}

/** A view of `t` with the given shape and strides (e.g. broadcast with stride 0). */
export function stridedViewOf(t: Tensor, shape: Shape, strides: readonly number[]): View {
  return { storage: t.storage.handle, shape, strides, offset: t.offset };
}

/** A fresh contiguous tensor with unspecified contents (for kernels to fill). */
export function empty(shape: Shape, dtype: DType, backend: Backend): Tensor {
  const copy = [...shape];
  const storage = TensorStorage.alloc(backend, dtype, numel(shape), copy);
  return new Tensor(storage, copy, contiguousStrides(shape), 0);
}

/**
 * empty(shape), laid out in memory in the dim order of `like`'s strides (PyTorch's
 * preserve_format): an attention output for q [B, H, T, D] sliced from a [B, T, 3C] projection is
 * stored [B, T, H, D], so merging its heads back is a view, not a copy. The last dim stays
 * innermost (kernels write whole rows); otherwise, and for ties, the layout is contiguous.
 */
export function emptyInLayoutOf(like: Tensor, shape: Shape, dtype: DType, backend: Backend): Tensor {
  const nd = shape.length;
  const dims = Array.from({ length: nd }, (_, d) => d);
  const order = dims.sort((a, b) => like.strides[b]! - like.strides[a]! || a - b);
  if (like.ndim !== nd || order[nd - 1] !== nd - 1 || order.every((d, i) => d === i))
    return empty(shape, dtype, backend);
  const stored = order.map((d) => shape[d]!);
  const storedStrides = contiguousStrides(stored);
  const strides = new Array<number>(nd);
  order.forEach((d, i) => {
    strides[d] = storedStrides[i]!;
  });
  const storage = TensorStorage.alloc(backend, dtype, numel(shape));
  return new Tensor(storage, [...shape], strides, 0);
}

export function resolveBackend(backend: Backend | string | undefined): Backend {
  if (backend === undefined || typeof backend === "string") return getBackend(backend);
  return backend;
}

/** The one backend all inputs live on. */
export function backendOf(op: string, ...tensors: (Tensor | null | undefined)[]): Backend {
  let backend: Backend | undefined;
  for (const t of tensors) {
    if (!t) continue;
    if (backend && t.backend !== backend) {
      throw new Error(
        `${op}: tensors are on different backends (${backend.name} and ${t.backend.name}); move one with .to()`,
      );
    }
    backend = t.backend;
  }
  return backend ?? getBackend();
}

export function requireFloat(op: string, t: Tensor, what = "input"): void {
  if (!isFloatDType(t.dtype)) {
    throw new TypeError(`${op}: expected a floating point ${what} (float32 or float64), got ${t.dtype}`);
  }
}

export function requireDType(op: string, t: Tensor, dtype: DType, what = "input"): void {
  if (t.dtype !== dtype) throw new TypeError(`${op}: expected ${what} of dtype ${dtype}, got ${t.dtype}`);
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** The dtype two tensors compute in: the wider of the two (bool < int32 < float32 < float64). */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Strides of `t` broadcast to `shape` (leading new dims and stretched size-1 dims get 0). */
export function broadcastStrides(t: Tensor, shape: Shape): number[] {
  const lead = shape.length - t.ndim;
  return shape.map((s, d) => {
    if (d < lead) return 0;
    const own = t.shape[d - lead]!;
    return own === 1 && s !== 1 ? 0 : t.strides[d - lead]!;
  });
}

export function broadcastView(t: Tensor, shape: Shape): View {
  return stridedViewOf(t, shape, broadcastStrides(t, shape));
}

/** A view sharing t's storage, not recorded on the tape (strides default to contiguous). */
export function rawView(t: Tensor, shape: Shape, strides?: readonly number[], offset?: number): Tensor {
  return new Tensor(
    t.storage,
    [...shape],
    strides ? [...strides] : contiguousStrides(shape),
    offset ?? t.offset,
  );
}
