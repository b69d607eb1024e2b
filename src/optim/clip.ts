import type { Tensor } from "../tensor/index.js";
import { assign, noGrad } from "../tensor/index.js";

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
    if (coef < 1) for (const g of grads) assign(g, g.mul(coef));
    return norm;
  });
}
