import type { Tensor } from "../tensor/index.js";
import { assign, clamp, mulInPlace, noGrad, stack, tidy } from "../tensor/index.js";

/**
 * Scale all gradients together so their global L2 norm is at most maxNorm (torch's
 * clip_grad_norm_: coefficient maxNorm/(norm + 1e-6), clamped to 1). Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  return noGrad(() => {
    let sumSquares = 0;
    for (const g of grads) sumSquares += g.square().sum().item();
    const norm = Math.sqrt(sumSquares);
    const coef = maxNorm / (norm + 1e-6);
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
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return null;
  // tidy: the temporaries go back to the pool now, not whenever the garbage collector runs.
  return tidy(() =>
    noGrad(() => {
      const norm = stack(grads.map((g) => g.square().sum()))
        .sum()
        .sqrt();
      // min(1, maxNorm / (norm + 1e-6)): multiplying by exactly 1 leaves a gradient unchanged.
      const coef = clamp(norm.add(1e-6).rdiv(maxNorm), null, 1);
      for (const g of grads) assign(g, g.mul(coef));
      return norm;
    }),
  );
}
