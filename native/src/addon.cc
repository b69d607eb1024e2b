// herograd's native kernels for the wasm backend in Node: they work in place on the backend's
// WebAssembly.Memory (passed as a Uint8Array over it), reading their arguments from a block of
// int32 slots in that memory, so a call carries no copies and no per-argument conversions.
//
//   context(threads, isa)       -> a context (its threads and packing buffers); isa "" = the best
//   matmul(ctx, memory, args)   -> true, or false when the product is not one it takes (caller falls back)
//   attention(ctx, memory, args), attentionBackward(ctx, memory, args) -> the same
//   adamw, axpy, layerNormBackward, linear, geluBackward (ctx, memory, args)
//   info()                      -> { isas: [...], best }
//   workerRuns(ctx)             -> shares run by the worker threads
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "abi.h"
#include "attention.h"
#include "gemm.h"
#include "optim_norm.h"
#include "team.h"

namespace hero {
namespace {

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("fma");
}
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

struct Context {
  Context(int threads, const GemmIsa* g, const VectorKernels* v) : team(threads), ws(threads), gemm(g), vec(v) {}
  Team team;
  Workspace ws;
  const GemmIsa* gemm;
  const VectorKernels* vec;
};

// Below this many flops a product runs on the calling thread: waking a worker costs more.
constexpr double kParallelFlops = 1 << 19;

#define CHECK(call)                                           \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      napi_throw_error(env, nullptr, "herograd native: " #call " failed"); \
      return nullptr;                                         \
    }                                                         \
  } while (0)

napi_value throw_error(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, ("herograd native: " + message).c_str());
  return nullptr;
}

napi_value boolean(napi_env env, bool value) {
  napi_value out;
  napi_get_boolean(env, value, &out);
  return out;
}

// The call's context, memory bytes and argument slots.
struct Call {
  Context* ctx = nullptr;
  uint8_t* memory = nullptr;
  std::size_t bytes = 0;
  const int32_t* args = nullptr;
};

bool read_call(napi_env env, napi_callback_info info, Call& call) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 3) {
    throw_error(env, "expected (context, memory, argsOffset)");
    return false;
  }
  void* ctx = nullptr;
  if (napi_get_value_external(env, argv[0], &ctx) != napi_ok || !ctx) {
    throw_error(env, "the first argument is not a native context");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    throw_error(env, "the memory must be a Uint8Array over the wasm memory");
    return false;
  }
  uint32_t offset = 0;
  if (napi_get_value_uint32(env, argv[2], &offset) != napi_ok || offset % 4 != 0 ||
      std::size_t(offset) + abi::ARGS_BYTES > length) {
    throw_error(env, "the argument block is outside the memory");
    return false;
  }
  call.ctx = static_cast<Context*>(ctx);
  call.memory = static_cast<uint8_t*>(data);
  call.bytes = length;
  call.args = reinterpret_cast<const int32_t*>(call.memory + offset);
  return true;
}

// A float32 operand: byte address and the element strides of its dims; null when any element it
// reaches lies outside the memory (a caller's bug must not become a stray write).
float* operand(const Call& call, uint32_t address, const int64_t* sizes, const int64_t* strides, int dims) {
  int64_t lo = 0, hi = 0;
  for (int d = 0; d < dims; d++) {
    if (sizes[d] <= 0) return reinterpret_cast<float*>(call.memory + address);
    int64_t reach = (sizes[d] - 1) * strides[d];
    (reach < 0 ? lo : hi) += reach;
  }
  if (address % 4 != 0) return nullptr;
  int64_t first = int64_t(address) + 4 * lo, end = int64_t(address) + 4 * (hi + 1);
  if (first < 0 || end > int64_t(call.bytes)) return nullptr;
  return reinterpret_cast<float*>(call.memory + address);
}

constexpr int kMaxBatchDims = 8;

// Argument slots of matmul: abi::MatmulSlot (addresses are unsigned byte offsets in the memory);
//   per batch dim d from BATCH: size, A's, B's and C's strides (elements).
napi_value matmul(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace MS = abi::MatmulSlot;
  const int M = s[MS::M], N = s[MS::N], K = s[MS::K];
  if (M < 0 || N < 0 || K < 0) return throw_error(env, "matmul: negative size");
  if (s[MS::C_COL] != 1 && N > 1) return boolean(env, false);  // C's rows must be contiguous
  const int nb = s[MS::BATCH_DIMS];
  if (nb < 0 || nb > kMaxBatchDims) return throw_error(env, "matmul: too many batch dims");
  int64_t bsize[kMaxBatchDims], bstride[3][kMaxBatchDims];
  int64_t batches = 1;
  for (int d = 0; d < nb; d++) {
    bsize[d] = s[MS::BATCH + 4 * d];
    for (int q = 0; q < 3; q++) bstride[q][d] = s[MS::BATCH + 4 * d + 1 + q];
    batches *= bsize[d];
  }
  if (batches == 0 || M == 0 || N == 0) return boolean(env, true);
  // Every operand's reach: its two matrix dims and the batch dims.
  const int64_t mat[3][2][2] = {{{M, s[MS::A_ROW]}, {K, s[MS::A_COL]}}, {{K, s[MS::B_ROW]}, {N, s[MS::B_COL]}}, {{M, s[MS::C_ROW]}, {N, 1}}};
  float* base[3];
  for (int q = 0; q < 3; q++) {
    int64_t sizes[kMaxBatchDims + 2], strides[kMaxBatchDims + 2];
    for (int d = 0; d < nb; d++) sizes[d] = bsize[d], strides[d] = bstride[q][d];
    for (int d = 0; d < 2; d++) sizes[nb + d] = mat[q][d][0], strides[nb + d] = mat[q][d][1];
    base[q] = operand(call, uint32_t(s[MS::A + q]), sizes, strides, nb + 2);
    if (!base[q]) return throw_error(env, "matmul: an operand reaches outside the wasm memory");
  }
  Context& ctx = *call.ctx;
  auto product = [&](int64_t batch) {
    int64_t off[3] = {0, 0, 0};
    for (int d = nb - 1; d >= 0; d--) {
      int64_t i = batch % bsize[d];
      batch /= bsize[d];
      for (int q = 0; q < 3; q++) off[q] += i * bstride[q][d];
    }
    return Matmul{M, N, K, base[0] + off[0], s[MS::A_ROW], s[MS::A_COL], base[1] + off[1], s[MS::B_ROW], s[MS::B_COL], base[2] + off[2], s[MS::C_ROW]};
  };
  const double flops = 2.0 * M * N * K;
  const int threads = ctx.team.size();
  bool ok = true;
  if (threads == 1 || flops * double(batches) < kParallelFlops) {
    for (int64_t b = 0; b < batches && ok; b++) ok = ctx.gemm->gemm_serial(product(b), ctx.ws, 0);
  } else if (batches >= threads && flops < 64 * kParallelFlops) {
    // Many small products (attention's per-head matmuls): whole products per thread.
    std::atomic<bool> all_ok{true};
    run_tasks(ctx.team, batches, false, [&](int64_t b, int thread) {
      if (!ctx.gemm->gemm_serial(product(b), ctx.ws, thread)) all_ok = false;
    });
    ok = all_ok;
  } else {
    for (int64_t b = 0; b < batches && ok; b++) ok = ctx.gemm->gemm(product(b), ctx.team, ctx.ws);
  }
  if (!ok) return throw_error(env, "matmul: out of memory for packing buffers");
  return boolean(env, true);
}

// Argument slots of attention and its backward: abi::AttentionSlot (scale as float32 bits), the
// batch sizes from BATCH_SIZES, then from OPERANDS, OPERAND_SLOTS per operand (q, k, v, out,
// weights | q, k, v, weights, g, dq, dk, dv): address, row stride, batch strides.
// Every operand's last dim is contiguous.

template <bool kBackward>
napi_value attention_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace AS = abi::AttentionSlot;
  Attention a;
  a.nb = s[AS::BATCH_DIMS];
  a.T = s[AS::T];
  a.Tk = s[AS::TK];
  a.D = s[AS::D];
  a.Dv = s[AS::DV];
  a.causal = s[AS::CAUSAL] != 0;
  std::memcpy(&a.scale, &s[AS::SCALE], sizeof(float));
  if (a.nb < 0 || a.nb > kAttentionBatchDims) return throw_error(env, "attention: too many batch dims");
  if (a.T < 0 || a.Tk < 0 || a.D < 0 || a.Dv < 0) return throw_error(env, "attention: negative size");
  for (int d = 0; d < a.nb; d++) {
    a.bsize[d] = s[AS::BATCH_SIZES + d];
    if (a.bsize[d] < 0) return throw_error(env, "attention: negative size");
    a.batches *= a.bsize[d];
  }
  // Each operand's [rows, cols]: q/dq [T, D], k/dk [Tk, D], v/dv [Tk, Dv], out/g [T, Dv], weights [T, Tk].
  const int shape_fwd[5][2] = {{a.T, a.D}, {a.Tk, a.D}, {a.Tk, a.Dv}, {a.T, a.Dv}, {a.T, a.Tk}};
  const int shape_bwd[8][2] = {{a.T, a.D},  {a.Tk, a.D}, {a.Tk, a.Dv}, {a.T, a.Tk},
                               {a.T, a.Dv}, {a.T, a.D},  {a.Tk, a.D},  {a.Tk, a.Dv}};
  Operand* fwd[5] = {&a.q, &a.k, &a.v, &a.out, &a.weights};
  Operand* bwd[8] = {&a.q, &a.k, &a.v, &a.weights, &a.g, &a.dq, &a.dk, &a.dv};
  const int operands = kBackward ? 8 : 5;
  for (int i = 0; i < operands; i++) {
    const int32_t* o = s + AS::OPERANDS + AS::OPERAND_SLOTS * i;
    const int* shape = kBackward ? shape_bwd[i] : shape_fwd[i];
    int64_t sizes[kAttentionBatchDims + 2], strides[kAttentionBatchDims + 2];
    Operand& op = *(kBackward ? bwd[i] : fwd[i]);
    for (int d = 0; d < a.nb; d++) {
      sizes[d] = a.bsize[d];
      strides[d] = op.batch[d] = o[2 + d];
    }
    sizes[a.nb] = shape[0];
    strides[a.nb] = op.row = o[1];
    sizes[a.nb + 1] = shape[1];
    strides[a.nb + 1] = 1;
    op.p = operand(call, uint32_t(o[0]), sizes, strides, a.nb + 2);
    if (!op.p) return throw_error(env, "attention: an operand reaches outside the wasm memory");
  }
  Context& ctx = *call.ctx;
  const bool ok = kBackward ? ctx.vec->attention_backward(a, ctx.team) : ctx.vec->attention_forward(a, ctx.team);
  if (!ok) return throw_error(env, "attention: out of memory for its buffers");
  return boolean(env, true);
}

float* vector_at(const Call& call, uint32_t address, int64_t n);

// Elementwise work is split into tasks of about this many elements (below it, the caller alone).
constexpr int64_t kElementwiseTask = 1 << 15;

// Argument slots of linear (out = act(x·Wᵀ + bias), nn.Linear's layout): abi::LinearSlot; weight
// [N, K], bias [N] contiguous (0: none), out with contiguous columns, the pre-activation copy
// (0: none). False when it does not take the call.
napi_value linear_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace LS = abi::LinearSlot;
  const int R = s[LS::R], N = s[LS::N], K = s[LS::K], kind = s[LS::ACTIVATION];
  if (R < 0 || N < 0 || K < 0) return throw_error(env, "linear: negative size");
  if (kind != int(abi::Activation::kNone) && kind != int(abi::Activation::kGelu) &&
      kind != int(abi::Activation::kGeluTanh))
    return throw_error(env, "linear: unknown activation " + std::to_string(kind));
  if (R == 0 || N == 0) return boolean(env, true);
  const int64_t xs[LS::K] = {R, K}, xst[2] = {s[LS::X_ROW], s[LS::X_COL]};
  const int64_t ws[LS::K] = {N, K}, wst[2] = {s[LS::WEIGHT_ROW], s[LS::WEIGHT_COL]};
  const int64_t os[LS::K] = {R, N}, ost[2] = {s[LS::OUT_ROW], 1}, pst[2] = {s[LS::PRE_ROW], 1};
  const float* x = operand(call, uint32_t(s[LS::X]), xs, xst, 2);
  const float* w = operand(call, uint32_t(s[LS::WEIGHT]), ws, wst, 2);
  float* out = operand(call, uint32_t(s[LS::OUT]), os, ost, 2);
  const float* bias = s[LS::BIAS] ? vector_at(call, uint32_t(s[LS::BIAS]), N) : nullptr;
  float* pre = s[LS::PRE] ? operand(call, uint32_t(s[LS::PRE]), os, pst, 2) : nullptr;
  if (!x || !w || !out || (s[LS::BIAS] && !bias) || (s[LS::PRE] && !pre))
    return throw_error(env, "linear: an operand reaches outside the wasm memory");
  Context& ctx = *call.ctx;
  const Matmul g{R, N, K, x, s[LS::X_ROW], s[LS::X_COL], w, s[LS::WEIGHT_COL], s[LS::WEIGHT_ROW], out, s[LS::OUT_ROW]};
  const bool ok = 2.0 * R * N * K < kParallelFlops || ctx.team.size() == 1 ? ctx.gemm->gemm_serial(g, ctx.ws, 0)
                                                                             : ctx.gemm->gemm(g, ctx.team, ctx.ws);
  if (!ok) return throw_error(env, "linear: out of memory for packing buffers");
  if (!bias && kind == int(abi::Activation::kNone)) return boolean(env, true);
  const int rows_per_task = int(std::max<int64_t>(1, kElementwiseTask / N));
  run_tasks(ctx.team, (R + rows_per_task - 1) / rows_per_task, false, [&](int64_t t, int) {
    const int r0 = int(t) * rows_per_task;
    ctx.vec->linear_epilogue(r0, std::min(R, r0 + rows_per_task), N, out, s[LS::OUT_ROW], bias, kind, pre, s[LS::PRE_ROW]);
  });
  return boolean(env, true);
}

// Argument slots of geluBackward: abi::GeluBackwardSlot (contiguous float32 [n] each; the form an
// abi::Activation, gelu or geluTanh).
napi_value gelu_backward_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace GS = abi::GeluBackwardSlot;
  const int64_t n = s[GS::N];
  const int kind = s[GS::ACTIVATION];
  if (n < 0) return throw_error(env, "geluBackward: negative size");
  if (kind != int(abi::Activation::kGelu) && kind != int(abi::Activation::kGeluTanh))
    return throw_error(env, "geluBackward: unknown form " + std::to_string(kind));
  const float* x = vector_at(call, uint32_t(s[GS::X]), n);
  const float* g = vector_at(call, uint32_t(s[GS::G]), n);
  float* out = vector_at(call, uint32_t(s[GS::OUT]), n);
  if (!x || !g || !out) return throw_error(env, "geluBackward: an operand reaches outside the wasm memory");
  Context& ctx = *call.ctx;
  run_tasks(ctx.team, (n + kElementwiseTask - 1) / kElementwiseTask, false, [&](int64_t t, int) {
    ctx.vec->gelu_backward(t * kElementwiseTask, std::min(n, (t + 1) * kElementwiseTask), x, g, out, kind);
  });
  return boolean(env, true);
}

// Contiguous float32 [n] at a byte address, or null when it reaches outside the memory.
float* vector_at(const Call& call, uint32_t address, int64_t n) {
  const int64_t sizes[1] = {n}, strides[1] = {1};
  return operand(call, address, sizes, strides, 1);
}

double f64_slot(const int32_t* s, int slot) {
  double v;
  std::memcpy(&v, s + slot, sizeof v);
  return v;
}

// Argument slots of adamw: abi::AdamwSlot (contiguous float32 operands; the float64 values
// beta1, beta2, eps, decay (1 − lr·wd), step size and √(1 − beta2^t) take two slots each).
napi_value adamw_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace WS = abi::AdamwSlot;
  AdamW a;
  a.n = s[WS::N];
  if (a.n < 0) return throw_error(env, "adamw: negative size");
  float* ptr[4];
  for (int q = 0; q < 4; q++) {
    ptr[q] = vector_at(call, uint32_t(s[WS::PARAM + q]), a.n);
    if (!ptr[q]) return throw_error(env, "adamw: an operand reaches outside the wasm memory");
  }
  a.param = ptr[0];
  a.grad = ptr[1];
  a.m = ptr[2];
  a.v = ptr[3];
  a.beta1 = f64_slot(s, 8);
  a.beta2 = f64_slot(s, 10);
  a.eps = f64_slot(s, 12);
  a.decay = f64_slot(s, 14);
  a.step_size = f64_slot(s, 16);
  a.bias2 = f64_slot(s, 18);
  adamw(a, call.ctx->team);
  return boolean(env, true);
}

// Argument slots of axpy (x ← x + alpha·y): abi::AxpySlot (float32 rows, contiguous within;
// alpha a float64).
napi_value axpy_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace XS = abi::AxpySlot;
  Axpy a;
  a.rows = s[XS::ROWS];
  a.len = s[XS::LEN];
  if (a.rows < 0 || a.len < 0) return throw_error(env, "axpy: negative size");
  if (a.rows == 0 || a.len == 0) return boolean(env, true);
  const int64_t sizes[XS::X] = {a.rows, a.len}, xs[XS::X] = {s[XS::X_ROW], 1}, ys[XS::X] = {s[XS::Y_ROW], 1};
  a.x = operand(call, uint32_t(s[XS::X]), sizes, xs, 2);
  a.y = operand(call, uint32_t(s[XS::Y]), sizes, ys, 2);
  if (!a.x || !a.y) return throw_error(env, "axpy: an operand reaches outside the wasm memory");
  a.x_row = s[XS::X_ROW];
  a.y_row = s[XS::Y_ROW];
  a.alpha = f64_slot(s, 8);
  axpy(a, call.ctx->team);
  return boolean(env, true);
}

// Argument slots of layerNormBackward: abi::LayerNormBackwardSlot: addresses and row strides;
// weight, dweight and dbias [D] may be 0 (none). Columns contiguous, float32.
napi_value layer_norm_backward_call(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, call)) return nullptr;
  const int32_t* s = call.args;
  namespace NS = abi::LayerNormBackwardSlot;
  LayerNormBackward a;
  a.R = s[NS::R];
  a.D = s[NS::D];
  if (a.R < 0 || a.D < 0) return throw_error(env, "layerNormBackward: negative size");
  if (a.R == 0 || a.D == 0) return boolean(env, false);
  auto rows = [&](int slot, int row_slot, int64_t& row) -> float* {
    row = s[row_slot];
    const int64_t sizes[NS::X] = {a.R, a.D}, strides[NS::X] = {row, 1};
    return operand(call, uint32_t(s[slot]), sizes, strides, 2);
  };
  a.x = rows(NS::X, NS::X_ROW, a.x_row);
  a.g = rows(NS::G, NS::G_ROW, a.g_row);
  a.dx = rows(NS::DX, NS::DX_ROW, a.dx_row);
  a.mean = vector_at(call, uint32_t(s[NS::MEAN]), a.R);
  a.rstd = vector_at(call, uint32_t(s[NS::RSTD]), a.R);
  a.weight = s[NS::WEIGHT] ? vector_at(call, uint32_t(s[NS::WEIGHT]), a.D) : nullptr;
  a.dweight = s[NS::DWEIGHT] ? vector_at(call, uint32_t(s[NS::DWEIGHT]), a.D) : nullptr;
  a.dbias = s[NS::DBIAS] ? vector_at(call, uint32_t(s[NS::DBIAS]), a.D) : nullptr;
  if (!a.x || !a.g || !a.dx || !a.mean || !a.rstd || (s[NS::WEIGHT] && !a.weight) || (s[NS::DWEIGHT] && !a.dweight) ||
      (s[NS::DBIAS] && !a.dbias))
    return throw_error(env, "layerNormBackward: an operand reaches outside the wasm memory");
  if (!layer_norm_backward(a, call.ctx->team)) return throw_error(env, "layerNormBackward: out of memory");
  return boolean(env, true);
}

void finalize_context(napi_env, void* data, void*) { delete static_cast<Context*>(data); }

napi_value context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t threads = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1 || threads > 256)
    return throw_error(env, "context: threads must be 1..256");
  char isa[32] = "";
  size_t len = 0;
  if (argc >= 2) napi_get_value_string_utf8(env, argv[1], isa, sizeof isa, &len);
  const std::string want(isa);
  const GemmIsa* g = nullptr;
  const VectorKernels* v = nullptr;
  if ((want.empty() || want == "avx512") && cpu_has_avx512()) {
    g = gemm_avx512();
    v = vector_kernels_avx512();
  } else if ((want.empty() || want == "avx2" || want == "avx512") && cpu_has_avx2()) {
    if (want == "avx512") return throw_error(env, "context: this CPU has no AVX-512");
    g = gemm_avx2();
    v = vector_kernels_avx2();
  } else {
    return throw_error(env, want.empty() ? "context: this CPU has neither AVX-512 nor AVX2 with FMA"
                                         : "context: unknown or unsupported instruction set \"" + want + "\"");
  }
  auto* ctx = new Context(threads, g, v);
  napi_value out;
  if (napi_create_external(env, ctx, finalize_context, nullptr, &out) != napi_ok) {
    delete ctx;
    return throw_error(env, "context: could not create it");
  }
  napi_value name;
  CHECK(napi_create_string_utf8(env, g->name, NAPI_AUTO_LENGTH, &name));
  napi_value result;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_set_named_property(env, result, "handle", out));
  CHECK(napi_set_named_property(env, result, "isa", name));
  return result;
}

napi_value info(napi_env env, napi_callback_info) {
  napi_value out, isas, best;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_array(env, &isas));
  uint32_t n = 0;
  const char* names[2] = {cpu_has_avx512() ? "avx512" : nullptr, cpu_has_avx2() ? "avx2" : nullptr};
  for (const char* name : names) {
    if (!name) continue;
    napi_value v;
    CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_element(env, isas, n++, v));
  }
  CHECK(napi_set_named_property(env, out, "isas", isas));
  if (n > 0) {
    napi_get_element(env, isas, 0, &best);
  } else {
    napi_get_null(env, &best);
  }
  CHECK(napi_set_named_property(env, out, "best", best));
  return out;
}

napi_value worker_runs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  void* ctx = nullptr;
  if (argc < 1 || napi_get_value_external(env, argv[0], &ctx) != napi_ok || !ctx)
    return throw_error(env, "workerRuns: not a native context");
  napi_value out;
  CHECK(napi_create_double(env, double(static_cast<Context*>(ctx)->team.worker_runs()), &out));
  return out;
}

}  // namespace
}  // namespace hero

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"context", nullptr, hero::context, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, hero::matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attention", nullptr, hero::attention_call<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionBackward", nullptr, hero::attention_call<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamw", nullptr, hero::adamw_call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormBackward", nullptr, hero::layer_norm_backward_call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"axpy", nullptr, hero::axpy_call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"linear", nullptr, hero::linear_call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluBackward", nullptr, hero::gelu_backward_call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, hero::info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"workerRuns", nullptr, hero::worker_runs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
