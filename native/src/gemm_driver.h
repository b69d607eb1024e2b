// The SGEMM driver, shared by the instruction sets: Driver<Micro> for a Micro that gives MR, NR, KC,
// MC, the micro-kernel, the packing of one B panel and one A micro-panel, and the few-rows kernels.
// The driver is compiled for the baseline target; only Micro's functions use the wider
// instructions (gemm_<isa>.cc defines them under `#pragma GCC target`), so no inline function
// shared between files is ever compiled with instructions a CPU may lack.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>

#include "gemm.h"

namespace hero {

template <class Micro>
struct Driver {

static constexpr int MR = Micro::MR;
static constexpr int NR = Micro::NR;
static constexpr int KC = Micro::KC;
static constexpr int MC = Micro::MC;
static_assert(MC % MR == 0, "MC is a whole number of micro-panels");

// Packed B of a column chunk holds K×cols floats: chunks keep it within 8 MiB.
static constexpr std::size_t kChunkFloats = std::size_t(2) << 20;
// Up to this many rows, products skip packing (a decoding step's matrix-vector products).
static constexpr int kFewRows = Micro::FEW_ROWS;

static int chunk_cols(int N, int K) {
  std::size_t panels = std::max<std::size_t>(1, kChunkFloats / (std::size_t(K) * NR));
  std::size_t cols = panels * NR;
  return static_cast<int>(std::min<std::size_t>(cols, (std::size_t(N) + NR - 1) / NR * NR));
}

// Panel p of the chunk starting at column j0: [K][NR] floats, zero beyond column N.
static void pack_b(const Matmul& g, int j0, int p, float* panel) {
  int jp = j0 + p * NR;
  Micro::pack_b_panel(g.b, g.b_rs, g.b_cs, g.K, jp, std::min(NR, g.N - jp), panel);
}

// Rows i0.. i0+mc, depth pc.. pc+kc of A as micro-panels of [kc][MR], zero beyond row mc.
static void pack_a(const Matmul& g, int i0, int mc, int pc, int kc, float* out) {
  for (int ir = 0; ir < mc; ir += MR) {
    const float* src = g.a + std::ptrdiff_t(i0 + ir) * g.a_rs + std::ptrdiff_t(pc) * g.a_cs;
    Micro::pack_a_panel(src, g.a_rs, g.a_cs, kc, std::min(MR, mc - ir), out + std::ptrdiff_t(ir) * kc);
  }
}

// C[i0.., panels p0..p1 of the chunk at j0] from packed B (all of K) and A packed per depth block.
static void multiply_block(const Matmul& g, const float* packed_b, int chunk_j0, int i0, int mc, int p0,
                           int p1, float* packed_a) {
  for (int pc = 0; pc < g.K; pc += KC) {
    int kc = std::min(KC, g.K - pc);
    pack_a(g, i0, mc, pc, kc, packed_a);
    for (int p = p0; p < p1; p++) {
      int j = chunk_j0 + p * NR;
      int nr = std::min(NR, g.N - j);
      const float* bp = packed_b + std::ptrdiff_t(p) * g.K * NR + std::ptrdiff_t(pc) * NR;
      for (int ir = 0; ir < mc; ir += MR) {
        Micro::kernel(kc, packed_a + std::ptrdiff_t(ir) * kc, bp, g.c + std::ptrdiff_t(i0 + ir) * g.c_rs + j, g.c_rs,
                      std::min(MR, mc - ir), nr, pc > 0);
      }
    }
  }
}

static bool few_rows_fits(const Matmul& g) {
  return g.M <= kFewRows && ((g.b_cs == 1) || (g.b_rs == 1 && g.a_cs == 1));
}

// K = 0: C is zero (the loops above would leave it untouched).
static void zero_c(const Matmul& g) {
  for (int i = 0; i < g.M; i++) std::memset(g.c + std::ptrdiff_t(i) * g.c_rs, 0, sizeof(float) * g.N);
}

static bool gemm_serial(const Matmul& g, Workspace& ws, int thread) {
  if (g.M == 0 || g.N == 0) return true;
  if (g.K == 0) {
    zero_c(g);
    return true;
  }
  if (few_rows_fits(g)) {
    Micro::few_rows(g, 0, g.N);
    return true;
  }
  int cols = chunk_cols(g.N, g.K);
  if (!ws.b_own[thread].ensure(std::size_t(g.K) * cols) || !ws.a[thread].ensure(std::size_t(MC) * KC)) return false;
  float* bp = ws.b_own[thread].data();
  for (int j0 = 0; j0 < g.N; j0 += cols) {
    int panels = (std::min(cols, g.N - j0) + NR - 1) / NR;
    for (int p = 0; p < panels; p++) pack_b(g, j0, p, bp + std::ptrdiff_t(p) * g.K * NR);
    for (int i0 = 0; i0 < g.M; i0 += MC) multiply_block(g, bp, j0, i0, std::min(MC, g.M - i0), 0, panels, ws.a[thread].data());
  }
  return true;
}

static bool gemm(const Matmul& g, Team& team, Workspace& ws) {
  if (g.M == 0 || g.N == 0) return true;
  if (g.K == 0) {
    zero_c(g);
    return true;
  }
  const int threads = team.size();
  if (few_rows_fits(g)) {
    // Column blocks claimed by the threads; each streams its part of B once.
    constexpr int kBlock = 256;
    Tasks tasks;
    tasks.reset((g.N + kBlock - 1) / kBlock);
    team.run([&](int) {
      for (int t; (t = tasks.claim()) < tasks.count;) {
        Micro::few_rows(g, t * kBlock, std::min(g.N, (t + 1) * kBlock));
        tasks.finish();
      }
    });
    return true;
  }
  const int cols = chunk_cols(g.N, g.K);
  const int chunks = (g.N + cols - 1) / cols;
  for (int i = 0; i < threads; i++)
    if (!ws.a[i].ensure(std::size_t(MC) * KC)) return false;
  for (int i = 0; i < std::min(chunks, 2); i++)
    if (!ws.b_shared[i].ensure(std::size_t(g.K) * cols)) return false;

  // Tasks of a chunk: its B panels to pack, then blocks of MC rows × a share of its panels.
  const int mblocks = (g.M + MC - 1) / MC;
  std::unique_ptr<Tasks[]> pack(new Tasks[chunks]);
  std::unique_ptr<Tasks[]> work(new Tasks[chunks]);
  std::vector<int> nsplit(chunks);
  for (int c = 0; c < chunks; c++) {
    int panels = (std::min(cols, g.N - c * cols) + NR - 1) / NR;
    pack[c].reset(panels);
    // Enough tasks that a slow thread leaves work to the others, not so small that A is
    // repacked too often (each task packs its rows of A once per depth block).
    int split = std::max(1, std::min(panels, (4 * threads + mblocks - 1) / mblocks));
    nsplit[c] = split;
    work[c].reset(mblocks * split);
  }
  team.run([&](int thread) {
    float* packed_a = ws.a[thread].data();
    for (int c = 0; c < chunks; c++) {
      if (c >= 2) work[c - 2].wait_all();  // its B buffer is free again
      float* bp = ws.b_shared[c % 2].data();
      const int j0 = c * cols;
      for (int t; (t = pack[c].claim()) < pack[c].count;) {
        pack_b(g, j0, t, bp + std::ptrdiff_t(t) * g.K * NR);
        pack[c].finish();
      }
      pack[c].wait_all();
      const int panels = pack[c].count;
      const int split = nsplit[c];
      for (int t; (t = work[c].claim()) < work[c].count;) {
        int mb = t / split, s = t % split;
        int i0 = mb * MC;
        int p0 = panels * s / split, p1 = panels * (s + 1) / split;
        multiply_block(g, bp, j0, i0, std::min(MC, g.M - i0), p0, p1, packed_a);
        work[c].finish();
      }
    }
  });
  return true;
}

};

}  // namespace hero
