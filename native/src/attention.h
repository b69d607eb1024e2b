// Fused scaled dot-product attention, forward and backward, float32, the semantics of the js
// backend's kernels (src/backend/js/attention.ts): out = softmax(q·kᵀ·scale, causal mask)·v with
// the weights kept, and dq, dk, dv from them. Each operand's last dim is contiguous; its other
// dims are any strides.
#pragma once

#include <cstdint>

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

struct AttentionIsa {
  bool (*forward)(const Attention&, Team&);
  bool (*backward)(const Attention&, Team&);
};

const AttentionIsa* attention_avx512();
const AttentionIsa* attention_avx2();

}  // namespace hero
