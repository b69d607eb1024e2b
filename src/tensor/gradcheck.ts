/**
 * Gradient checking: compare backward() with central finite differences in float64.
 * The scalar checked is Σ fn(inputs)·R with a fixed random R, so every output element counts.
 */
import { Random } from "../random/index.js";
import { noGrad } from "./autograd.js";
import { mul, randn, sum } from "./ops/index.js";
import type { Tensor } from "./tensor.js";

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the upstream gradient R. */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic − numeric| over all checked elements. */
  maxError: number;
  /** The first element outside tolerance, if any. */
  failure?: { input: number; index: number; analytic: number; numeric: number };
  message: string;
}

/** Storage offset of logical element i (row-major) of t. */
function storageOffset(t: Tensor, i: number): number {
  let offset = t.offset;
  for (let d = t.ndim - 1; d >= 0; d--) {
    const size = t.shape[d]!;
    offset += (i % size) * t.strides[d]!;
    i = Math.floor(i / size);
  }
  return offset;
}

/**
 * Check d(fn)/d(input) for every input with requiresGrad (which must be float64 on a synchronous
 * backend, and must not overlap itself, e.g. be an expanded view).
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 0 } = options;
  const checked = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad);
  for (const { t, i } of checked) {
    if (t.dtype !== "float64") throw new TypeError(`gradcheck: input ${i} must be float64, got ${t.dtype}`);
    if (!t.backend.readSync)
      throw new Error(`gradcheck: needs a synchronous backend, input ${i} is on ${t.backend.name}`);
    if (t.strides.some((s, d) => s === 0 && t.shape[d]! > 1)) {
      throw new Error(`gradcheck: input ${i} is an expanded view (stride 0); its elements overlap`);
    }
  }
  const out = fn(...inputs);
  const upstream = randn(out.shape, { dtype: "float64", backend: out.backend, generator: new Random(seed) });
  for (const { t } of checked) t.grad = null;
  out.backward(upstream);
  const objective = () => noGrad(() => sum(mul(fn(...inputs), upstream)).item());

  let maxError = 0;
  let failure: GradcheckResult["failure"];
  for (const { t, i } of checked) {
    const analytic = t.grad ? t.grad.dataSync() : new Float64Array(t.numel());
    const stored = t.backend.readSync!(t.storage.handle);
    // The handle is fetched for each write: a read in objective() may spill t (docs/MEMORY.md).
    const write = (value: number, at: number) => t.backend.write(t.storage.handle, [value], at);
    for (let k = 0; k < t.numel(); k++) {
      const at = storageOffset(t, k);
      const original = stored[at]!;
      write(original + eps, at);
      const plus = objective();
      write(original - eps, at);
      const minus = objective();
      write(original, at);
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[k]!;
      const error = Math.abs(a - numeric);
      maxError = Math.max(maxError, Number.isNaN(error) ? Infinity : error);
      if (!failure && !(error <= atol + rtol * Math.abs(numeric)))
        failure = { input: i, index: k, analytic: a, numeric };
    }
  }
  const message = failure
    ? `gradcheck failed: input ${failure.input}, element ${failure.index}: analytic ${failure.analytic} vs numeric ${failure.numeric} (max error ${maxError.toExponential(2)})`
    : `gradcheck passed (max error ${maxError.toExponential(2)})`;
  return { ok: !failure, maxError, ...(failure ? { failure } : {}), message };
}
