// Scalar math of the wasm kernels: the helpers the op table's expressions use
// (src/backend/spec/ops.ts), matching the js kernels' (src/backend/js/math.ts) to the last bit
// where JavaScript and C differ.

export const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
export const INV_SQRT_2: f64 = 0.7071067811865476;
export const INV_SQRT_2PI: f64 = 0.3989422804014327;
const INV_SQRT_PI: f64 = 0.5641895835477563;

/** The error function, to about 1e-15 (the js kernels' series and continued fraction). */
export function erf(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / <f64>n;
      const add = term / <f64>(2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 2 * INV_SQRT_PI * sum;
  }
  if (x != x) return x;
  if (ax == Infinity) return x > 0 ? 1 : -1;
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + <f64>k / 2 / f;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** Round half to even, like torch.round (JavaScript's Math.round, then ties to even). */
export function roundHalfEven(v: f64): f64 {
  if (!(v - v == 0)) return v;
  let r = Math.floor(v);
  if (v - r >= 0.5) r += 1;
  if (r == 0 && v < 0) r = -0.0;
  return r - v == 0.5 && r % 2 != 0 ? r - 1 : r;
}

/** JavaScript's `**`: NaN exponents and (±1)^±Infinity are NaN, where C's pow gives 1. */
export function power(a: f64, b: f64): f64 {
  if (b != b) return NaN;
  if (Math.abs(a) == 1 && Math.abs(b) == Infinity) return NaN;
  return a ** b;
}

@inline export function isNan(v: f64): bool {
  return v != v;
}

/** Non-zero and not NaN, as JavaScript's truthiness of a number. */
@inline export function truthy(v: f64): bool {
  return v != 0 && v == v;
}
