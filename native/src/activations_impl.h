// GELU (exact and tanh forms) and its derivative on float vectors, the wasm kernels' approximations
// (src/backend/wasm/assembly/simd-math.ts: Eigen's erf and tanh-free GELU-tanh, Cephes' erfc tail),
// and the linear layer's epilogue and GELU's backward over rows. Included by gemm_<isa>.cc in its
// target region after vec.h.

// The activation codes of the ABI (abi::Activation), as the ints the kernels branch on.
constexpr int kNoActivation = int(abi::Activation::kNone);
constexpr int kGeluErf = int(abi::Activation::kGelu);
constexpr int kGeluTanh = int(abi::Activation::kGeluTanh);

inline vf vmin(vf a, vf b) { return a < b ? a : b; }
inline vf vmax(vf a, vf b) { return a > b ? a : b; }

// erf: Eigen's float rational approximation x·P(x²)/Q(x²) on x clamped to ±4.
inline vf erf_approx(vf a) {
  const vf x = vmin(vmax(a, splat(-4.0f)), splat(4.0f));
  const vf x2 = x * x;
  vf p = splat(-2.72614225801306e-10f);
  p = x2 * p + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  vf q = splat(-1.45660718464996e-05f);
  q = x2 * q + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return x * p / q;
}

// erfc(t) for t ≥ 1 (smaller t clamped to 1): Cephes' erfcf, exp(−t²)/t·P(1/t²).
inline vf erfc_tail(vf a) {
  const vf t = vmax(a, splat(1.0f));
  const vf q = 1.0f / t;
  const vf y = q * q;
  vf p = splat(2.326819970068386e-2f);
  p = p * y + -1.387039388740657e-1f;
  p = p * y + 3.687424674597105e-1f;
  p = p * y + -5.824733027278666e-1f;
  p = p * y + 6.210004621745983e-1f;
  p = p * y + -4.944515323274145e-1f;
  p = p * y + 3.404879937665872e-1f;
  p = p * y + -2.741127028184656e-1f;
  p = p * y + 5.638259427386472e-1f;
  vf r = splat(-1.047766399936249e1f);
  r = r * y + 1.297719955372516e1f;
  r = r * y + -7.495518717768503f;
  r = r * y + 2.921019019210786f;
  r = r * y + -1.015265279202700f;
  r = r * y + 4.218463358204948e-1f;
  r = r * y + -2.820767439740514e-1f;
  r = r * y + 5.641895067754075e-1f;
  const vf poly = t < 2.0f ? p : r;
  return exp_approx(-(t * t)) * q * poly;
}

// Φ(x) = 0.5·(1 + erf(x/√2)); below x = −√2 as 0.5·erfc(−x/√2), precise in the tail.
inline vf normal_cdf(vf x) {
  const vf z = x * 0.7071067811865476f;
  vf cdf = 1.0f + erf_approx(z);
  const vi tail = z < -1.0f;
  bool any = false;
  for (int i = 0; i < W; i++) any |= tail[i] != 0;
  if (any) cdf = tail ? erfc_tail(-z) : cdf;
  return 0.5f * cdf;
}

// GELU-tanh as x·σ(2u), u = √(2/π)(x + 0.044715x³), with e = exp(−2u) clamped so 1 + e is finite.
inline vf gelu_exp(vf x, vf x2) {
  const vf u = 0.7978845608028654f * (x + 0.044715f * (x2 * x));
  return exp_approx(vmin(u * -2.0f, splat(80.0f)));
}

inline vf gelu(vf x, int kind) {
  if (kind == kGeluTanh) return x / (gelu_exp(x, x * x) + 1.0f);
  return x * normal_cdf(x);
}

inline vf gelu_grad(vf x, int kind) {
  if (kind == kGeluTanh) {
    const vf x2 = x * x;
    const vf e = gelu_exp(x, x2);
    const vf r = 1.0f / (e + 1.0f);
    const vf du = 0.7978845608028654f * (1.0f + 0.134145f * x2);
    return r + (x + x) * (e * (r * r)) * du;
  }
  const vf pdf = 0.3989422804014327f * exp_approx(-0.5f * (x * x));
  return normal_cdf(x) + x * pdf;
}

// The linear layer's epilogue on rows [r0, r1) of c [R, N] (row stride c_row): c += bias; when
// pre is given it keeps that sum; then c = GELU(c) when asked.
inline void linear_epilogue(int r0, int r1, int N, float* c, int64_t c_row, const float* bias, int kind, float* pre,
                            int64_t pre_row) {
  for (int r = r0; r < r1; r++) {
    float* __restrict row = c + r * c_row;
    float* __restrict keep = pre ? pre + r * pre_row : nullptr;
    int j = 0;
    for (; j + W <= N; j += W) {
      vf v = load(row + j);
      if (bias) v += load(bias + j);
      if (keep) store(keep + j, v);
      store(row + j, kind == kNoActivation ? v : gelu(v, kind));
    }
    for (; j < N; j++) {
      vf v = splat(row[j] + (bias ? bias[j] : 0.0f));
      if (keep) keep[j] = v[0];
      row[j] = kind == kNoActivation ? v[0] : gelu(v, kind)[0];
    }
  }
}

// out = g · GELU'(x) over n contiguous elements.
inline void gelu_backward_range(int64_t i0, int64_t i1, const float* __restrict x, const float* __restrict g,
                                float* __restrict out, int kind) {
  int64_t i = i0;
  for (; i + W <= i1; i += W) store(out + i, gelu_grad(load(x + i), kind) * load(g + i));
  for (; i < i1; i++) out[i] = gelu_grad(splat(x[i]), kind)[0] * g[i];
}
