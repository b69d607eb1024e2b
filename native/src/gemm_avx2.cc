// AVX2 + FMA SGEMM: a 6×16 register tile (12 ymm accumulators, two B vectors, one broadcast).
// Only the functions between the target pragmas use AVX2.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <atomic>
#include <cstdint>

#include "attention.h"
#include "gemm.h"
#include "gemm_driver.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hero {
namespace {

// Lane mask of the first n of 8 lanes (for maskload/maskstore).
inline __m256i lanes8(int n) {
  n = std::clamp(n, 0, 8);
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

struct Micro {
  static constexpr int MR = 6;
  static constexpr int NR = 16;
  static constexpr int KC = 256;
  static constexpr int MC = 6 * 24;
  static constexpr int FEW_ROWS = 4;

  static void kernel(int kc, const float* __restrict a, const float* __restrict b, float* c, std::ptrdiff_t ldc,
                     int mr, int nr, bool accumulate) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
      __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        __m256 ai = _mm256_broadcast_ss(a + i);
        acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
      }
      a += MR;
      b += NR;
    }
    const __m256i m0 = lanes8(nr), m1 = lanes8(nr - 8);
    for (int i = 0; i < MR; i++) {
      if (i >= mr) break;
      float* row = c + i * ldc;
      __m256 r0 = acc[i][0], r1 = acc[i][1];
      if (accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_maskload_ps(row, m0));
        r1 = _mm256_add_ps(r1, _mm256_maskload_ps(row + 8, m1));
      }
      _mm256_maskstore_ps(row, m0, r0);
      _mm256_maskstore_ps(row + 8, m1, r1);
    }
  }

  static void pack_b_panel(const float* b, std::ptrdiff_t rs, std::ptrdiff_t cs, int K, int j, int cols,
                           float* out) {
    if (cs == 1) {
      const __m256i m0 = lanes8(cols), m1 = lanes8(cols - 8);
      const float* src = b + j;
      for (int k = 0; k < K; k++, src += rs, out += NR) {
        _mm256_store_ps(out, _mm256_maskload_ps(src, m0));
        _mm256_store_ps(out + 8, _mm256_maskload_ps(src + 8, m1));
      }
      return;
    }
    if (cols < NR) std::memset(out, 0, sizeof(float) * std::size_t(K) * NR);
    for (int jj = 0; jj < cols; jj++) {
      const float* src = b + std::ptrdiff_t(j + jj) * cs;
      for (int k = 0; k < K; k++) out[std::ptrdiff_t(k) * NR + jj] = src[std::ptrdiff_t(k) * rs];
    }
  }

  static void pack_a_panel(const float* a, std::ptrdiff_t rs, std::ptrdiff_t cs, int kc, int mr, float* out) {
    for (int i = 0; i < MR; i++) {
      if (i < mr) {
        const float* src = a + i * rs;
        for (int k = 0; k < kc; k++) out[k * MR + i] = src[std::ptrdiff_t(k) * cs];
      } else {
        for (int k = 0; k < kc; k++) out[k * MR + i] = 0.0f;
      }
    }
  }

  static void few_rows(const Matmul& g, int j0, int j1) {
    switch (g.M) {
      case 1: return few_rows_m<1>(g, j0, j1);
      case 2: return few_rows_m<2>(g, j0, j1);
      case 3: return few_rows_m<3>(g, j0, j1);
      default: return few_rows_m<4>(g, j0, j1);
    }
  }

  template <int R>
  static void few_rows_m(const Matmul& g, int j0, int j1) {
    if (g.b_cs == 1) {
      for (int j = j0; j < j1; j += 24) {
        const int n = std::min(24, j1 - j);
        const __m256i m[3] = {lanes8(n), lanes8(n - 8), lanes8(n - 16)};
        __m256 acc[R][3];
        for (int r = 0; r < R; r++)
          for (int v = 0; v < 3; v++) acc[r][v] = _mm256_setzero_ps();
        const float* bk = g.b + j;
        for (int k = 0; k < g.K; k++, bk += g.b_rs) {
          __m256 bv[3];
          for (int v = 0; v < 3; v++) bv[v] = _mm256_maskload_ps(bk + 8 * v, m[v]);
          for (int r = 0; r < R; r++) {
            __m256 ar = _mm256_set1_ps(g.a[r * g.a_rs + std::ptrdiff_t(k) * g.a_cs]);
            for (int v = 0; v < 3; v++) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
          }
        }
        for (int r = 0; r < R; r++)
          for (int v = 0; v < 3; v++) _mm256_maskstore_ps(g.c + r * g.c_rs + j + 8 * v, m[v], acc[r][v]);
      }
      return;
    }
    int j = j0;
    for (; j + 3 <= j1; j += 3) dots<R, 3>(g, j);
    for (; j < j1; j++) dots<R, 1>(g, j);
  }

  template <int R, int J>
  static void dots(const Matmul& g, int j) {
    __m256 acc[R][J];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < J; q++) acc[r][q] = _mm256_setzero_ps();
    const float* w[J];
    for (int q = 0; q < J; q++) w[q] = g.b + std::ptrdiff_t(j + q) * g.b_cs;
    for (int k = 0; k < g.K; k += 8) {
      const __m256i m = lanes8(g.K - k);
      __m256 wv[J];
      for (int q = 0; q < J; q++) wv[q] = _mm256_maskload_ps(w[q] + k, m);
      for (int r = 0; r < R; r++) {
        __m256 av = _mm256_maskload_ps(g.a + r * g.a_rs + k, m);
        for (int q = 0; q < J; q++) acc[r][q] = _mm256_fmadd_ps(av, wv[q], acc[r][q]);
      }
    }
    for (int r = 0; r < R; r++)
      for (int q = 0; q < J; q++) g.c[r * g.c_rs + j + q] = hsum8(acc[r][q]);
  }
};

#define VEC_WIDTH 8
#include "vec.h"
#include "attention_impl.h"
#include "activations_impl.h"

}  // namespace
}  // namespace hero

#pragma GCC pop_options

namespace hero {
const GemmIsa* gemm_avx2() {
  static const GemmIsa isa = {"avx2", Driver<Micro>::gemm, Driver<Micro>::gemm_serial};
  return &isa;
}
const VectorKernels* vector_kernels_avx2() {
  static const VectorKernels kernels = {attention_forward, attention_backward, linear_epilogue, gelu_backward_range};
  return &kernels;
}
}  // namespace hero
