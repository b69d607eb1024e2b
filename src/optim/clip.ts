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
 * Scale all gradients together so their global L2 norm is at most maxNorm (torch's
 * clip_grad_norm_: coefficient maxNorm/(norm + 1e-6), clamped to 1). Returns the norm before
 * clipping, read back at once (js, wasm); clipGradNormTensor is the same clip for any backend.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const grads = gradsOf(params);
  if (grads.length === 0) return 0;
  return noGrad(() => {
    const normTensor = tidy(() => globalNorm(grads));
    const norm = normTensor.item();
    normTensor.dispose();
    const coef = maxNorm / (norm + 1e-6);
    // In place, and only when it clips: most steps leave the gradients untouched.
    if (coef < 1) for (const g of grads) mulInPlace(g, coef);
    return norm;
  });
}

/**
 * clipGradNorm without reading back: the norm and the coefficient stay on the device, so an
 * asynchronous backend (webgpu) records the whole step without waiting. Returns the norm before
 * clipping as a 0-d tensor (read it with await, together with the loss).
 */
export function clipGradNormTensor(params: Iterable<Tensor>, maxNorm: number): Tensor | null {
  const grads = gradsOf(params);
  if (grads.length === 0) return null;
  // tidy: the temporaries go back to the pool now, not whenever the garbage collector runs.
  return tidy(() =>
    noGrad(() => {
      const norm = globalNorm(grads);
      // min(1, maxNorm / (norm + 1e-6)): multiplying by exactly 1 leaves a gradient unchanged.
      const coef = clamp(norm.add(1e-6).rdiv(maxNorm), null, 1);
      for (const g of grads) assign(g, g.mul(coef));
      return norm;
    }),
  );
}
