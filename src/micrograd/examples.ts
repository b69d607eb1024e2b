/** micrograd's README example (also `test_more_ops` in its test suite): g 24.7041, a.grad 138.8338, b.grad 645.5773. */
export const README_EXAMPLE = {
  leaves: { a: -4.0, b: 2.0 },
  program: [
    "c = a + b",
    "d = a * b + b**3",
    "c += c + 1",
    "c += 1 + c + (-a)",
    "d += d * 2 + (b + a).relu()",
    "d += 3 * d + (b - a).relu()",
    "e = c - d",
    "f = e**2",
    "g = f / 2.0",
    "g += 10.0 / f",
  ],
  output: "g",
} as const;
