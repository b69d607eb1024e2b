// AVX-512 SGEMM: a 14×32 register tile (28 zmm accumulators, two B vectors, the A value
// broadcast from memory into each FMA). Only the functions between the target pragmas use AVX-512.
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
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")

namespace hero {
namespace {

inline __mmask16 lanes(int n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << std::max(n, 0)) - 1); }

struct Micro {
  static constexpr int MR = 14;
  static constexpr int NR = 32;
  static constexpr int KC = 256;
  static constexpr int MC = 14 * 12;
  static constexpr int FEW_ROWS = 4;

  // C[mr×nr] (+)= A[kc][MR] · B[kc][NR]; rows and columns past mr, nr are computed but not stored.
  static void kernel(int kc, const float* __restrict a, const float* __restrict b, float* c, std::ptrdiff_t ldc,
                     int mr, int nr, bool accumulate) {
    __m512 acc[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
      __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
      _mm_prefetch(reinterpret_cast<const char*>(a + 8 * MR), _MM_HINT_T0);
#pragma GCC unroll 14
      for (int i = 0; i < MR; i++) {
        __m512 ai = _mm512_set1_ps(a[i]);
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      }
      a += MR;
      b += NR;
    }
    const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      if (i >= mr) break;
      float* row = c + i * ldc;
      __m512 r0 = acc[i][0], r1 = acc[i][1];
      if (accumulate) {
        r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, row));
        r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, row + 16));
      }
      _mm512_mask_storeu_ps(row, m0, r0);
      _mm512_mask_storeu_ps(row + 16, m1, r1);
    }
  }

  // [K][NR] from columns j.. j+cols of B, zero-padded.
  static void pack_b_panel(const float* b, std::ptrdiff_t rs, std::ptrdiff_t cs, int K, int j, int cols,
                           float* out) {
    if (cs == 1) {
      const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
      const float* src = b + j;
      for (int k = 0; k < K; k++, src += rs, out += NR) {
        _mm512_store_ps(out, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(out + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
      return;
    }
    if (cols < NR) std::memset(out, 0, sizeof(float) * std::size_t(K) * NR);
    if (rs == 1) {
      // Columns of B are contiguous (B = Wᵀ of a row-major W): 16×16 blocks transposed in registers.
      int jj = 0;
      for (; jj + 16 <= cols; jj += 16) transpose_columns(b + std::ptrdiff_t(j + jj) * cs, cs, K, out + jj);
      for (; jj < cols; jj++) {
        const float* src = b + std::ptrdiff_t(j + jj) * cs;
        for (int k = 0; k < K; k++) out[std::ptrdiff_t(k) * NR + jj] = src[k];
      }
      return;
    }
    for (int jj = 0; jj < cols; jj++) {
      const float* src = b + std::ptrdiff_t(j + jj) * cs;
      for (int k = 0; k < K; k++) out[std::ptrdiff_t(k) * NR + jj] = src[std::ptrdiff_t(k) * rs];
    }
  }

  // out[k][0..16) = column k of the 16 rows src + r·ld (r < 16), for k < K; rows of NR floats.
  static void transpose_columns(const float* src, std::ptrdiff_t ld, int K, float* out) {
    int k = 0;
    for (; k + 16 <= K; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ld + k);
      transpose16(r);
      for (int i = 0; i < 16; i++) _mm512_storeu_ps(out + std::ptrdiff_t(k + i) * NR, r[i]);
    }
    for (; k < K; k++)
      for (int i = 0; i < 16; i++) out[std::ptrdiff_t(k) * NR + i] = src[i * ld + k];
  }

  static void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // r[4q + s] now holds, in each 128-bit lane L, row 4L'... of a 4×4 block: finish with lane shuffles.
    for (int i = 0; i < 4; i++) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
      r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
      r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
  }

  // [kc][MR] from rows.. rows+mr of A (src is A[i0, pc]), zero-padded.
  static void pack_a_panel(const float* a, std::ptrdiff_t rs, std::ptrdiff_t cs, int kc, int mr, float* out) {
    if (rs == 1) {
      const __mmask16 m = lanes(mr);
      for (int k = 0; k < kc; k++) {
        // MR = 14 of 16 lanes: the two extra lanes land in the next k's slots and are rewritten.
        __m512 v = _mm512_maskz_loadu_ps(m, a + std::ptrdiff_t(k) * cs);
        if (k + 1 < kc)
          _mm512_storeu_ps(out + k * MR, v);
        else
          _mm512_mask_storeu_ps(out + k * MR, __mmask16((1u << MR) - 1), v);
      }
      return;
    }
    int k0 = 0;
    if (cs == 1) {
      // Rows of A contiguous: 16 columns of each row a step, transposed in registers (rows past
      // mr are zero), the next step's lines prefetched.
      const __mmask16 rows = __mmask16((1u << MR) - 1);
      for (; k0 + 16 <= kc; k0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) {
          if (i < mr) {
            const float* src = a + i * rs + k0;
            _mm_prefetch(reinterpret_cast<const char*>(src + 32), _MM_HINT_T0);
            r[i] = _mm512_loadu_ps(src);
          } else {
            r[i] = _mm512_setzero_ps();
          }
        }
        transpose16(r);
        for (int c = 0; c < 16; c++) _mm512_mask_storeu_ps(out + (k0 + c) * MR, rows, r[c]);
      }
    }
    for (int i = 0; i < MR; i++) {
      if (i < mr) {
        const float* src = a + i * rs;
        for (int k = k0; k < kc; k++) out[k * MR + i] = src[std::ptrdiff_t(k) * cs];
      } else {
        for (int k = k0; k < kc; k++) out[k * MR + i] = 0.0f;
      }
    }
  }

  // Few rows (M ≤ FEW_ROWS), columns j0.. j1, without packing: B streams from memory once.
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
      // Rows of B contiguous: 64 columns at a time, four B vectors against each row's broadcast.
      for (int j = j0; j < j1; j += 64) {
        const int n = std::min(64, j1 - j);
        const __mmask16 m[4] = {lanes(n), lanes(n - 16), lanes(n - 32), lanes(n - 48)};
        __m512 acc[R][4];
        for (int r = 0; r < R; r++)
          for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
        const float* bk = g.b + j;
        for (int k = 0; k < g.K; k++, bk += g.b_rs) {
          __m512 bv[4];
          for (int v = 0; v < 4; v++) bv[v] = _mm512_maskz_loadu_ps(m[v], bk + 16 * v);
          for (int r = 0; r < R; r++) {
            __m512 ar = _mm512_set1_ps(g.a[r * g.a_rs + std::ptrdiff_t(k) * g.a_cs]);
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
          }
        }
        for (int r = 0; r < R; r++)
          for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(g.c + r * g.c_rs + j + 16 * v, m[v], acc[r][v]);
      }
      return;
    }
    // Columns of B contiguous (B = Wᵀ, the rows of W are dot products with the rows of A).
    const int K = g.K;
    int j = j0;
    for (; j + 4 <= j1; j += 4) dots<R, 4>(g, j, K);
    for (; j < j1; j++) dots<R, 1>(g, j, K);
  }

  template <int R, int J>
  static void dots(const Matmul& g, int j, int K) {
    __m512 acc[R][J];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < J; q++) acc[r][q] = _mm512_setzero_ps();
    const float* w[J];
    for (int q = 0; q < J; q++) w[q] = g.b + std::ptrdiff_t(j + q) * g.b_cs;
    for (int k = 0; k < K; k += 16) {
      const __mmask16 m = lanes(K - k);
      __m512 wv[J];
      for (int q = 0; q < J; q++) wv[q] = _mm512_maskz_loadu_ps(m, w[q] + k);
      for (int r = 0; r < R; r++) {
        __m512 av = _mm512_maskz_loadu_ps(m, g.a + r * g.a_rs + k);
        for (int q = 0; q < J; q++) acc[r][q] = _mm512_fmadd_ps(av, wv[q], acc[r][q]);
      }
    }
    for (int r = 0; r < R; r++)
      for (int q = 0; q < J; q++) g.c[r * g.c_rs + j + q] = _mm512_reduce_add_ps(acc[r][q]);
  }
};

#define VEC_WIDTH 16
#include "vec.h"
#include "attention_impl.h"
#include "activations_impl.h"

}  // namespace
}  // namespace hero

#pragma GCC pop_options

namespace hero {
const GemmIsa* gemm_avx512() {
  static const GemmIsa isa = {"avx512", Driver<Micro>::gemm, Driver<Micro>::gemm_serial};
  return &isa;
}
const VectorKernels* vector_kernels_avx512() {
  static const VectorKernels kernels = {attention_forward, attention_backward, linear_epilogue, gelu_backward_range};
  return &kernels;
}
}  // namespace hero
