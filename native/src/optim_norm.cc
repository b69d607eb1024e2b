// The AdamW step and layer norm's backward for contiguous float32 rows. AdamW computes the js
// backend's float64 expressions in the same order (this file is compiled with -ffp-contract=off:
// no fused multiply-adds), so it agrees with js bit for bit. Layer norm's statistics are float64
// sums in eight lanes. target_clones builds AVX-512, AVX2 and baseline versions, picked at load.
#include "optim_norm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace hero {
namespace {

typedef double v8d __attribute__((vector_size(64)));

#define CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))

CLONES void adamw_range(const AdamW& a, int64_t i0, int64_t i1) {
  float* __restrict p = a.param;
  const float* __restrict g = a.grad;
  float* __restrict m = a.m;
  float* __restrict v = a.v;
  const double b1 = a.beta1, b2 = a.beta2, c1 = 1 - a.beta1, c2 = 1 - a.beta2;
  for (int64_t i = i0; i < i1; i++) {
    const double gi = g[i];
    // Rounded to float32 where the js kernel stores into float32 arrays (decay is 1 without
    // weight decay, and p·1 is exact).
    const float decayed = float(double(p[i]) * a.decay);
    const float mi = float(b1 * double(m[i]) + c1 * gi);
    const float vi = float(b2 * double(v[i]) + c2 * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = float(double(decayed) - (double(mi) / (std::sqrt(double(vi)) / a.bias2 + a.eps)) * a.step_size);
  }
}

CLONES void axpy_rows(const Axpy& a, int64_t r0, int64_t r1, int64_t j0, int64_t j1) {
  for (int64_t r = r0; r < r1; r++) {
    float* __restrict x = a.x + r * a.x_row;
    const float* __restrict y = a.y + r * a.y_row;
    for (int64_t j = j0; j < j1; j++) x[j] = float(double(x[j]) + a.alpha * double(y[j]));
  }
}

inline double lanes_sum(v8d v) {
  double s = 0;
  for (int i = 0; i < 8; i++) s += v[i];
  return s;
}

// Rows r0.. r1; dweight and dbias sums of these rows go to dw, db (float64, D each).
CLONES void layer_norm_backward_rows(const LayerNormBackward& a, int r0, int r1, double* __restrict dw,
                                     double* __restrict db, double* __restrict xhat, double* __restrict ghat) {
  const int D = a.D;
  for (int r = r0; r < r1; r++) {
    const float* __restrict x = a.x + int64_t(r) * a.x_row;
    const float* __restrict g = a.g + int64_t(r) * a.g_row;
    float* __restrict dx = a.dx + int64_t(r) * a.dx_row;
    const double m = a.mean[r], rs = a.rstd[r];
    v8d sg = {}, sgx = {};
    int d = 0;
    for (; d + 8 <= D; d += 8) {
      v8d gv, xv, wv;
      for (int i = 0; i < 8; i++) {
        gv[i] = g[d + i];
        xv[i] = (double(x[d + i]) - m) * rs;
        wv[i] = a.weight ? double(a.weight[d + i]) : 1.0;
      }
      const v8d gh = gv * wv;
      __builtin_memcpy(xhat + d, &xv, sizeof xv);
      __builtin_memcpy(ghat + d, &gh, sizeof gh);
      sg += gh;
      sgx += gh * xv;
      v8d w8, b8;
      __builtin_memcpy(&w8, dw + d, sizeof w8);
      __builtin_memcpy(&b8, db + d, sizeof b8);
      w8 += gv * xv;
      b8 += gv;
      __builtin_memcpy(dw + d, &w8, sizeof w8);
      __builtin_memcpy(db + d, &b8, sizeof b8);
    }
    double mean_g = lanes_sum(sg), mean_gx = lanes_sum(sgx);
    for (; d < D; d++) {
      const double gv = g[d], xh = (double(x[d]) - m) * rs;
      const double gh = a.weight ? gv * double(a.weight[d]) : gv;
      xhat[d] = xh;
      ghat[d] = gh;
      mean_g += gh;
      mean_gx += gh * xh;
      dw[d] += gv * xh;
      db[d] += gv;
    }
    mean_g /= D;
    mean_gx /= D;
    for (d = 0; d < D; d++) dx[d] = float(rs * (ghat[d] - mean_g - xhat[d] * mean_gx));
  }
}

}  // namespace

void adamw(const AdamW& a, Team& team) {
  // Fixed chunks (whatever thread runs one), so every run rounds the same way.
  constexpr int64_t kChunk = 1 << 15;
  run_tasks(team, (a.n + kChunk - 1) / kChunk, false,
            [&](int64_t t, int) { adamw_range(a, t * kChunk, std::min(a.n, (t + 1) * kChunk)); });
}

void axpy(const Axpy& a, Team& team) {
  // Memory-bound: both threads only for long rows of work, by rows or by slices of one row.
  constexpr int64_t kChunk = 1 << 15;
  const int64_t rows_per = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, a.len));
  const bool by_rows = a.rows >= 2 * team.size();
  const int64_t tasks = by_rows ? (a.rows + rows_per - 1) / rows_per : (a.len + kChunk - 1) / kChunk;
  run_tasks(team, tasks, a.rows * a.len < 2 * kChunk, [&](int64_t t, int) {
    if (by_rows)
      axpy_rows(a, t * rows_per, std::min(a.rows, (t + 1) * rows_per), 0, a.len);
    else
      axpy_rows(a, 0, a.rows, t * kChunk, std::min(a.len, (t + 1) * kChunk));
  });
}

bool layer_norm_backward(const LayerNormBackward& a, Team& team) {
  const int D = a.D;
  // Chunks of rows with their own float64 sums of dweight/dbias, added in chunk order at the end:
  // the same result whichever threads ran them.
  const int rows_per_chunk = std::max(1, (1 << 14) / std::max(1, D));
  const int chunks = std::max(1, (a.R + rows_per_chunk - 1) / rows_per_chunk);
  std::vector<double> partial;
  try {
    partial.assign(std::size_t(chunks) * 2 * D, 0.0);
  } catch (...) {
    return false;
  }
  auto run_chunk = [&](int c, std::vector<double>& scratch) {
    double* dw = partial.data() + std::size_t(c) * 2 * D;
    layer_norm_backward_rows(a, c * rows_per_chunk, std::min(a.R, (c + 1) * rows_per_chunk), dw, dw + D,
                             scratch.data(), scratch.data() + D);
  };
  // One scratch (x̂ and ĝ of a row) per thread.
  std::vector<std::vector<double>> scratch(team.size(), std::vector<double>(2 * std::size_t(D)));
  run_tasks(team, chunks, false, [&](int64_t c, int thread) { run_chunk(int(c), scratch[thread]); });
  for (int d = 0; d < D; d++) {
    double w = 0, b = 0;
    for (int c = 0; c < chunks; c++) {
      w += partial[std::size_t(c) * 2 * D + d];
      b += partial[std::size_t(c) * 2 * D + D + d];
    }
    if (a.dweight) a.dweight[d] = float(w);
    if (a.dbias) a.dbias[d] = float(b);
  }
  return true;
}

}  // namespace hero
