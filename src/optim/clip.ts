import type { Tensor } from "../tensor/index.js";
import { assign, clamp, mulInPlace, noGrad, stack, tidy } from "../tensor/index.js";

/** The gradients' global L2 norm as a 0-d tensor, computed where they live (nothing read back). */
function globalNorm(grads: readonly Tensor[]): Tensor {
  return stack(grads.map((g) => g.square().sum()))
    .sum()
    .sqrt();
}

function gradsOf(params: Iterable<Tensor>): Tensor[] {
  return [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scale all gradients together so that their global L2 norm is at most maxNorm (torch's
 * clip_grad_norm_: coefficient maxNorm/(norm + 1e-6), clamped to 1), where they live. Returns the
 * norm before clipping as a 0-d tensor, as torch does (null without gradients): read it with
 * item(), or with await data() together with the loss. A synchronous backend (js, wasm) reads the
 * coefficient at once and scales only when it clips, in place (most steps do not clip); an
 * asynchronous one (webgpu) scales on the device without waiting, by exactly 1 when it does not.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor | null {
  const grads = gradsOf(params);
  if (grads.length === 0) return null;
  // tidy: the temporaries go back to the pool now, not whenever the garbage collector runs.
  return tidy(() =>
    noGrad(() => {
      const norm = globalNorm(grads);
      const coef = clamp(norm.add(1e-6).rdiv(maxNorm), null, 1);
      if (!coef.backend.synchronous) for (const g of grads) assign(g, g.mul(coef));
      else {
        const scale = coef.item();
        if (scale < 1) for (const g of grads) mulInPlace(g, scale);
      }
      return norm;
    }),
  );
}
