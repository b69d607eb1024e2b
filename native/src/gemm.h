// SGEMM C = A·B for float32 matrices with any row/column strides of A and B and unit column stride
// of C, in the GotoBLAS/BLIS scheme: B packed in NR-wide panels, A in MR-tall micro-panels, an
// MR×NR register tile (the micro-kernel) walking them. One implementation per instruction set,
// each compiled with its own flags (gemm_avx512.cc, gemm_avx2.cc) and chosen at run time.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <vector>

#include "team.h"

namespace hero {

struct Matmul {
  int M, N, K;
  const float* a;
  std::ptrdiff_t a_rs, a_cs;
  const float* b;
  std::ptrdiff_t b_rs, b_cs;
  float* c;
  std::ptrdiff_t c_rs;
};

// A 64-byte aligned float buffer that only grows.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : p_(o.p_), cap_(o.cap_) {
    o.p_ = nullptr;
    o.cap_ = 0;
  }
  ~Buffer() { std::free(p_); }
  // At least n floats; contents are not kept. Returns false when memory is short.
  bool ensure(std::size_t n) {
    if (n <= cap_) return true;
    std::free(p_);
    std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    cap_ = p_ ? n : 0;
    return p_ != nullptr;
  }
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
  std::size_t cap_ = 0;
};

// Packing buffers: one A (and B, for products run by one thread) per thread, two shared B
// panels (a chunk is packed while the team may still multiply the previous one).
struct Workspace {
  explicit Workspace(int threads) : a(threads), b_own(threads) {}
  std::vector<Buffer> a;
  std::vector<Buffer> b_own;
  Buffer b_shared[2];
};

struct GemmIsa {
  const char* name;
  // The whole team on one product.
  bool (*gemm)(const Matmul&, Team&, Workspace&);
  // One thread (`thread` indexes its buffers) on one product: batches of small products.
  bool (*gemm_serial)(const Matmul&, Workspace&, int thread);
};

const GemmIsa* gemm_avx512();
const GemmIsa* gemm_avx2();

}  // namespace hero
