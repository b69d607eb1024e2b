/** The wasm backend's attention (as ../js/attention.ts): native only. */
import { contiguousStrides, product } from "../layout.js";
import type { OptionalKernelArgs, View } from "../types.js";

import type { WasmBackend, WasmStorage } from "./index.js";

/** Attention (native only): inputs whose last dim is strided are copied contiguous first. */
export function attention(this: WasmBackend, args: OptionalKernelArgs["attention"]): void {
  this.withUnitLastDims([args.q, args.k, args.v], ([q, k, v]) => {
    if (!this.native!.attention({ ...args, q, k, v }))
      throw new Error("wasm backend: attention over more than 8 non-mergeable batch dims");
  });
}

export function attentionBackward(this: WasmBackend, args: OptionalKernelArgs["attentionBackward"]): void {
  this.withUnitLastDims([args.q, args.k, args.v, args.weights, args.g], ([q, k, v, weights, g]) => {
    if (!this.native!.attentionBackward({ ...args, q, k, v, weights, g }))
      throw new Error("wasm backend: attention over more than 8 non-mergeable batch dims");
  });
}

/** Run `fn` on the views, each with a contiguous last dim (a copy where it was strided). */
export function withUnitLastDims(this: WasmBackend, views: View[], fn: (views: View[]) => void): void {
  const temps: WasmStorage[] = [];
  try {
    const unit = views.map((v) => {
      if (v.strides.at(-1) === 1 || (v.shape.at(-1) ?? 1) <= 1) return v;
      const storage = this.alloc(v.storage.dtype, product(v.shape));
      temps.push(storage);
      const copy: View = { storage, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
      this.copy({ x: v, out: copy });
      return copy;
    });
    fn(unit);
  } finally {
    for (const t of temps) this.free(t);
  }
}
