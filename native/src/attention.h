// Fused scaled dot-product attention, forward and backward, float32, the semantics of the js
// backend's kernels (src/backend/js/attention.ts): out = softmax(q·kᵀ·scale, causal mask)·v with
// the weights kept, and dq, dk, dv from them. Each operand's last dim is contiguous; its other
// dims are any strides.
#pragma once

#include <cstdint>

#include "abi.h"
#include "team.h"

namespace hero {

constexpr int kAttentionBatchDims = 8;

struct Operand {
  float* p = nullptr;
  int64_t row = 0;                        // stride of the row (T or Tk) dim
  int64_t batch[kAttentionBatchDims] = {};  // strides of the batch dims
};

struct Attention {
  int nb = 0;                               // batch dims
  int64_t bsize[kAttentionBatchDims] = {};  // their sizes
  int64_t batches = 1;
  int T = 0, Tk = 0, D = 0, Dv = 0;
  bool causal = false;
  float scale = 1;
  Operand q, k, v, out, weights;  // forward
  Operand g, dq, dk, dv;          // backward (with q, k, v, weights)
};

// The kernels written once in vector extensions (vec.h) and compiled for each instruction set.
struct VectorKernels {
  bool (*attention_forward)(const Attention&, Team&);
  bool (*attention_backward)(const Attention&, Team&);
  // c[r0..r1) += bias, kept in pre when given, then GELU (activations_impl.h's kinds).
  void (*linear_epilogue)(int r0, int r1, int N, float* c, int64_t c_row, const float* bias, int kind, float* pre,
                          int64_t pre_row);
  // out[i] = g[i]·GELU'(x[i]) for i in [i0, i1).
  void (*gelu_backward)(int64_t i0, int64_t i1, const float* x, const float* g, float* out, int kind);
};

const VectorKernels* vector_kernels_avx512();
const VectorKernels* vector_kernels_avx2();

}  // namespace hero
