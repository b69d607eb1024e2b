// The attention kernels' body, included by gemm_<isa>.cc inside its target region (and inside an
// anonymous namespace) after vec.h. Needs attention.h and gemm.h.

inline int last_key(int i, const Attention& a) { return a.causal ? std::min(a.Tk - 1, i + a.Tk - a.T) : a.Tk - 1; }

// Element offset of batch `b` in an operand.
inline int64_t batch_offset(const Attention& a, const Operand& o, int64_t b) {
  int64_t off = 0;
  for (int d = a.nb - 1; d >= 0; d--) {
    off += (b % a.bsize[d]) * o.batch[d];
    b /= a.bsize[d];
  }
  return off;
}

// Query rows go in groups of G: each key (or value) vector loaded feeds G rows' accumulators.
constexpr int G = 4;

// Per-row scratch: G rows of scores (ls floats each, ls ≥ Tk rounded up to 2W) and a zero row
// that stands in for the missing rows of a last, short group.
struct Scratch {
  float* s;
  int64_t ls;
  const float* zeros;
};

inline bool scratch(Buffer& buf, int Tk, int width, Scratch& out) {
  const int64_t ls = (std::max(Tk, width) + 2 * W - 1) / (2 * W) * (2 * W);
  if (!buf.ensure(std::size_t(G + 1) * ls)) return false;
  float* p = buf.data();
  for (int64_t j = 0; j < ls; j++) p[G * ls + j] = 0;
  out = {p, ls, p + G * ls};
  return true;
}

// Rows [rows, cols] transposed into out[cols][ld], zero past the rows (ld: rows rounded up to 2W).
inline bool transposed(const float* src, int64_t row, int rows, int cols, Buffer& buf, int64_t& ld) {
  ld = (rows + 2 * W - 1) / (2 * W) * (2 * W);
  if (!buf.ensure(std::size_t(cols) * ld)) return false;
  float* __restrict out = buf.data();
  for (int d = 0; d < cols; d++)
    for (int64_t j = rows; j < ld; j++) out[d * ld + j] = 0;
  // 16 columns at a time: each row's 16 reads share a cache line, and the 16 output rows being
  // written stay in L1 while j walks along them.
  for (int d0 = 0; d0 < cols; d0 += 16) {
    const int d1 = std::min(cols, d0 + 16);
    for (int j = 0; j < rows; j++)
      for (int d = d0; d < d1; d++) out[d * ld + j] = src[j * row + d];
  }
  return true;
}

// s[r][j] = scale · x_r · key_j for the G rows x[r] and j < n (rounded up to 2W with kt). With
// keys transposed (kt[d][ld]): G rows × two key vectors in registers. Without (a few queries, as
// in decoding): one dot product per row and key.
inline void scores(const float* const x[G], const float* __restrict kt, int64_t ld, const float* keys,
                   int64_t key_row, int D, int n, float scale, float* __restrict s, int64_t ls) {
  if (kt) {
    for (int j = 0; j < n; j += 2 * W) {
      vf a[G][2] = {};
      const float* col = kt + j;
      for (int d = 0; d < D; d++, col += ld) {
        const vf k0 = load(col), k1 = load(col + W);
        for (int r = 0; r < G; r++) {
          const vf xr = splat(x[r][d]);
          a[r][0] += xr * k0;
          a[r][1] += xr * k1;
        }
      }
      for (int r = 0; r < G; r++) {
        store(s + r * ls + j, a[r][0] * scale);
        store(s + r * ls + j + W, a[r][1] * scale);
      }
    }
    return;
  }
  for (int r = 0; r < G; r++) {
    for (int j = 0; j < n; j++) {
      const float* __restrict kj = keys + j * key_row;
      vf a = {};
      int d = 0;
      for (; d + W <= D; d += W) a += load(x[r] + d) * load(kj + d);
      float dot = hsum(a);
      for (; d < D; d++) dot += x[r][d] * kj[d];
      s[r * ls + j] = dot * scale;
    }
  }
}

// out[r][0..cols) = Σ_{j<n} c[r][j] · rows[j] for the G rows, accumulators in registers across j.
inline void weighted_rows(const float* const c[G], const float* rows, int64_t row, int n, int cols,
                          float* const out[G]) {
  int d = 0;
  for (; d + 2 * W <= cols; d += 2 * W) {
    vf a[G][2] = {};
    const float* r = rows + d;
    for (int j = 0; j < n; j++, r += row) {
      const vf v0 = load(r), v1 = load(r + W);
      for (int g = 0; g < G; g++) {
        const vf cj = splat(c[g][j]);
        a[g][0] += cj * v0;
        a[g][1] += cj * v1;
      }
    }
    for (int g = 0; g < G; g++) {
      store(out[g] + d, a[g][0]);
      store(out[g] + d + W, a[g][1]);
    }
  }
  for (; d + W <= cols; d += W) {
    vf a[G] = {};
    for (int j = 0; j < n; j++) {
      const vf v = load(rows + j * row + d);
      for (int g = 0; g < G; g++) a[g] += splat(c[g][j]) * v;
    }
    for (int g = 0; g < G; g++) store(out[g] + d, a[g]);
  }
  for (; d < cols; d++) {
    float a[G] = {};
    for (int j = 0; j < n; j++)
      for (int g = 0; g < G; g++) a[g] += c[g][j] * rows[j * row + d];
    for (int g = 0; g < G; g++) out[g][d] = a[g];
  }
}

// y_j[0..cols) += Σ_r c[r][j] · x[r] for j < n (dv from weights and g, dk from dS and q): the G
// rows' vectors stay in registers while the n rows of y are read and written once.
inline void add_outer(float* y, int64_t y_row, int n, const float* const c[G], const float* const x[G], int cols) {
  int d = 0;
  for (; d + 2 * W <= cols; d += 2 * W) {
    vf xr[G][2];
    for (int r = 0; r < G; r++) xr[r][0] = load(x[r] + d), xr[r][1] = load(x[r] + d + W);
    float* yj = y + d;
    for (int j = 0; j < n; j++, yj += y_row) {
      vf y0 = load(yj), y1 = load(yj + W);
      for (int r = 0; r < G; r++) {
        const vf cr = splat(c[r][j]);
        y0 += cr * xr[r][0];
        y1 += cr * xr[r][1];
      }
      store(yj, y0);
      store(yj + W, y1);
    }
  }
  for (; d + W <= cols; d += W) {
    vf xr[G];
    for (int r = 0; r < G; r++) xr[r] = load(x[r] + d);
    for (int j = 0; j < n; j++) {
      vf yv = load(y + j * y_row + d);
      for (int r = 0; r < G; r++) yv += splat(c[r][j]) * xr[r];
      store(y + j * y_row + d, yv);
    }
  }
  for (; d < cols; d++)
    for (int j = 0; j < n; j++)
      for (int r = 0; r < G; r++) y[j * y_row + d] += c[r][j] * x[r][d];
}

// Σ_{j<n} a[j]·b[j]
inline float dot(const float* __restrict a, const float* __restrict b, int n) {
  vf acc = {};
  int j = 0;
  for (; j + W <= n; j += W) acc += load(a + j) * load(b + j);
  float s = hsum(acc);
  for (; j < n; j++) s += a[j] * b[j];
  return s;
}

// The weights row from the scores: p = exp(s − max) / Σ, zero past the n visible keys. s has room
// for n rounded up to W: the lanes past n are set to −∞ (exp gives 0), so every step is whole
// vectors.
inline void softmax_row(float* __restrict s, int n, int Tk, float* __restrict w) {
  const int nv = (n + W - 1) / W * W;
  for (int j = n; j < nv; j++) s[j] = -__builtin_inff();
  vf mv = load(s);
  for (int j = W; j < nv; j += W) {
    const vf v = load(s + j);
    mv = v > mv ? v : mv;
  }
  const float max = hmax(mv);
  vf sv = {};
  for (int j = 0; j < nv; j += W) {
    const vf e = exp_approx(load(s + j) - max);
    store(s + j, e);
    sv += e;
  }
  const float inv = 1.0f / hsum(sv);
  int j = 0;
  for (; j + W <= Tk && j < nv; j += W) store(w + j, load(s + j) * inv);
  for (; j < nv && j < Tk; j++) w[j] = s[j] * inv;
  for (; j + W <= Tk; j += W) store(w + j, vf{});
  for (; j < Tk; j++) w[j] = 0;
}

// Query rows i0.. i1 of batch b, G at a time.
inline bool attention_rows(const Attention& a, int64_t b, int i0, int i1, Buffer& kt_buf, Buffer& s_buf) {
  const float* q = a.q.p + batch_offset(a, a.q, b);
  const float* k = a.k.p + batch_offset(a, a.k, b);
  const float* v = a.v.p + batch_offset(a, a.v, b);
  float* out = a.out.p + batch_offset(a, a.out, b);
  float* w = a.weights.p + batch_offset(a, a.weights, b);
  const int Tk = a.Tk, D = a.D, Dv = a.Dv;
  const int keys = std::min(Tk, std::max(0, last_key(i1 - 1, a) + 1));
  const float* kt = nullptr;
  int64_t ld = 0;
  if (i1 - i0 >= 8 && keys > 0) {
    if (!transposed(k, a.k.row, keys, D, kt_buf, ld)) return false;
    kt = kt_buf.data();
  }
  Scratch sc;
  if (!scratch(s_buf, Tk, Dv, sc)) return false;
  for (int i = i0; i < i1; i += G) {
    const int rows = std::min(G, i1 - i);
    const float* x[G];
    const float* c[G];
    float* o[G];
    int n[G];
    int n_max = 0;
    for (int r = 0; r < G; r++) {
      const bool real = r < rows;
      n[r] = real ? last_key(i + r, a) + 1 : 0;
      n_max = std::max(n_max, n[r]);
      x[r] = real ? q + (i + r) * a.q.row : sc.zeros;
      // A missing row's output lands in its score row, which it no longer needs.
      o[r] = real ? out + (i + r) * a.out.row : sc.s + r * sc.ls;
      c[r] = real ? w + (i + r) * a.weights.row : sc.zeros;
    }
    if (n_max > 0) {
      scores(x, kt, ld, k, a.k.row, D, n_max, a.scale, sc.s, sc.ls);
      for (int r = 0; r < rows; r++)
        if (n[r] > 0) softmax_row(sc.s + r * sc.ls, n[r], Tk, w + (i + r) * a.weights.row);
      weighted_rows(c, v, a.v.row, n_max, Dv, o);
    }
    for (int r = 0; r < rows; r++) {
      if (n[r] > 0) continue;
      float* wi = w + (i + r) * a.weights.row;
      float* oi = out + (i + r) * a.out.row;
      for (int j = 0; j < Tk; j++) wi[j] = 0;
      for (int d = 0; d < Dv; d++) oi[d] = __builtin_nanf("");
    }
  }
  return true;
}

// Whole batch b backward (dk and dv gather from every query row, so a batch is one task), query
// rows G at a time: dP = g·vᵀ as the forward's scores, dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale,
// dv += Pᵀg, dk += dSᵀq, dq = dS·k.
inline bool attention_backward_batch(const Attention& a, int64_t b, Buffer& vt_buf, Buffer& ds_buf) {
  const float* q = a.q.p + batch_offset(a, a.q, b);
  const float* k = a.k.p + batch_offset(a, a.k, b);
  const float* v = a.v.p + batch_offset(a, a.v, b);
  const float* w = a.weights.p + batch_offset(a, a.weights, b);
  const float* g = a.g.p + batch_offset(a, a.g, b);
  float* dq = a.dq.p + batch_offset(a, a.dq, b);
  float* dk = a.dk.p + batch_offset(a, a.dk, b);
  float* dv = a.dv.p + batch_offset(a, a.dv, b);
  const int T = a.T, Tk = a.Tk, D = a.D, Dv = a.Dv;
  for (int j = 0; j < Tk; j++) {
    for (int d = 0; d < D; d++) dk[j * a.dk.row + d] = 0;
    for (int d = 0; d < Dv; d++) dv[j * a.dv.row + d] = 0;
  }
  const float* vt = nullptr;
  int64_t ld = 0;
  if (T >= 8 && Tk > 0) {
    if (!transposed(v, a.v.row, Tk, Dv, vt_buf, ld)) return false;
    vt = vt_buf.data();
  }
  Scratch sc;
  if (!scratch(ds_buf, Tk, D, sc)) return false;
  for (int i = 0; i < T; i += G) {
    const int rows = std::min(G, T - i);
    const float* gr[G];
    const float* qr[G];
    const float* wr[G];
    const float* dsr[G];
    float* dqr[G];
    int n[G];
    int n_max = 0;
    for (int r = 0; r < G; r++) {
      const bool real = r < rows;
      n[r] = real ? last_key(i + r, a) + 1 : 0;
      n_max = std::max(n_max, n[r]);
      gr[r] = real ? g + (i + r) * a.g.row : sc.zeros;
      qr[r] = real ? q + (i + r) * a.q.row : sc.zeros;
      wr[r] = real ? w + (i + r) * a.weights.row : sc.zeros;
      dsr[r] = sc.s + r * sc.ls;
      dqr[r] = real ? dq + (i + r) * a.dq.row : sc.s + r * sc.ls;
    }
    for (int r = 0; r < rows; r++)
      if (n[r] <= 0)
        for (int d = 0; d < D; d++) dqr[r][d] = 0;
    if (n_max <= 0) continue;
    scores(gr, vt, ld, v, a.v.row, Dv, n_max, 1.0f, sc.s, sc.ls);
    for (int r = 0; r < G; r++) {
      float* ds = sc.s + r * sc.ls;
      const float* wi = wr[r];
      const float row_dot = n[r] > 0 ? dot(wi, ds, n[r]) : 0.0f;
      int j = 0;
      for (; j < n[r]; j++) ds[j] = wi[j] * (ds[j] - row_dot) * a.scale;
      for (; j < n_max; j++) ds[j] = 0;
    }
    add_outer(dv, a.dv.row, n_max, wr, gr, Dv);
    add_outer(dk, a.dk.row, n_max, dsr, qr, D);
    // dq last: a missing row's dq lands in its dS row, which is no longer needed.
    weighted_rows(dsr, k, a.k.row, n_max, D, dqr);
  }
  return true;
}

// Below this many multiply-adds the caller runs alone.
constexpr double kAttentionParallelWork = 1 << 17;

bool attention_forward(const Attention& a, Team& team) {
  if (a.batches == 0 || a.T == 0) return true;
  // Tasks: batches × blocks of query rows (one batch of long rows still splits).
  const int block = a.batches >= 2 * team.size() ? a.T : std::max(16, a.T / (2 * team.size()));
  const int blocks = (a.T + block - 1) / block;
  const double work = double(a.batches) * a.T * a.Tk * (a.D + a.Dv);
  std::atomic<bool> ok{true};
  run_tasks(team, a.batches * blocks, work < kAttentionParallelWork, [&](int64_t t, int) {
    static thread_local Buffer kt, s;
    const int i0 = int(t % blocks) * block;
    if (!attention_rows(a, t / blocks, i0, std::min(a.T, i0 + block), kt, s)) ok = false;
  });
  return ok;
}

bool attention_backward(const Attention& a, Team& team) {
  if (a.batches == 0) return true;
  const double work = double(a.batches) * a.T * a.Tk * (a.D + a.Dv);
  std::atomic<bool> ok{true};
  run_tasks(team, a.batches, work < kAttentionParallelWork, [&](int64_t b, int) {
    static thread_local Buffer vt, ds;
    if (!attention_backward_batch(a, b, vt, ds)) ok = false;
  });
  return ok;
}
