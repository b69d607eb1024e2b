// Float vectors for the kernels written once for every instruction set: included by gemm_<isa>.cc
// inside its target region (and inside an anonymous namespace) after it defines VEC_WIDTH, the
// floats of one vector. GCC's vector extensions then compile the same code to zmm or ymm registers.

constexpr int W = VEC_WIDTH;
typedef float vf __attribute__((vector_size(W * 4)));
typedef int32_t vi __attribute__((vector_size(W * 4)));

inline vf load(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
inline vf splat(float x) { return vf{} + x; }
// Horizontal sum and max by halving shuffles (a scalar loop over the lanes is a 16-deep chain).
#if VEC_WIDTH == 16
inline float hsum(vf v) { return _mm512_reduce_add_ps((__m512)v); }
inline float hmax(vf v) { return _mm512_reduce_max_ps((__m512)v); }
#else
inline float hsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
inline float hmax(vf v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
#endif

// exp for float32 vectors (Cephes' expf: range reduction by ln 2 in two parts, degree-5
// polynomial); below −87.3 it gives 0, as softmax's masked and far-below-max entries need.
inline vf exp_approx(vf x) {
  const vf hi = splat(88.3762626647949f), lo = splat(-87.3365447505531f);
  const vi tiny = x < lo;
  x = x < hi ? x : hi;
  x = x > lo ? x : lo;
  // n = round(x / ln 2) by the 1.5·2²³ trick: n lands in the low mantissa bits of `shifted`.
  const vf shifted = x * 1.44269504088896341f + 12582912.0f;
  const vf n = shifted - 12582912.0f;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vf y = p * r * r + r + 1.0f;
  const vi e = ((vi)shifted - 0x4B400000 + 127) << 23;
  return tiny ? vf{} : y * (vf)e;
}

