// The AdamW step and layer norm's backward for contiguous float32 data (see optim_norm.cc).
#pragma once

#include <cstdint>

#include "team.h"

namespace hero {

struct AdamW {
  int64_t n;
  float* param;
  const float* grad;
  float* m;
  float* v;
  double beta1, beta2, eps;
  double decay;      // 1 − lr·weight_decay
  double step_size;  // lr / (1 − beta1^t)
  double bias2;      // √(1 − beta2^t)
};

void adamw(const AdamW& a, Team& team);

// x ← x + alpha·y over rows of contiguous floats (rows, len, row strides), computed in float64 and
// rounded once, as the js kernel does.
struct Axpy {
  int64_t rows, len;
  float* x;
  int64_t x_row;
  const float* y;
  int64_t y_row;
  double alpha;
};

void axpy(const Axpy& a, Team& team);

struct LayerNormBackward {
  int R, D;
  const float* x;
  int64_t x_row;
  const float* g;
  int64_t g_row;
  const float* mean;    // [R]
  const float* rstd;    // [R]
  const float* weight;  // [D] or null
  float* dx;
  int64_t dx_row;
  float* dweight;  // [D] or null
  float* dbias;    // [D] or null
};

// False when memory for the partial sums is short.
bool layer_norm_backward(const LayerNormBackward& a, Team& team);

}  // namespace hero
