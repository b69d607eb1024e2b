/**
 * The scalar helpers the op table's expressions use (src/backend/spec/ops.ts), as the js kernels
 * compute them; src/backend/wasm/assembly/math.ts defines the same names for the wasm kernels.
 */

export const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
export const INV_SQRT_2 = 1 / Math.SQRT2;
export const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** The error function, to about 1e-15: Taylor series below 3, a continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 2 * INV_SQRT_PI * sum;
  }
  if (!Number.isFinite(ax)) return Number.isNaN(x) ? x : Math.sign(x);
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** Round half to even, like torch.round. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** JavaScript's `**` (the wasm kernels match it where C's pow differs). */
export function power(a: number, b: number): number {
  return a ** b;
}

export const isNan = Number.isNaN;

/** Non-zero and not NaN, as JavaScript's truthiness of a number. */
export function truthy(v: number): boolean {
  return v !== 0 && !Number.isNaN(v);
}
