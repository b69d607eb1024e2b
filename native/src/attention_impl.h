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

// s[j] = scale · x · key_j for j < n (s holds n rounded up to W). With keys transposed (kt[d][ld],
// ld a multiple of W, zero-padded: worth it when many rows share them) four vectors of keys at a
// time; else one dot product per key.
inline void scores(const float* __restrict x, const float* __restrict kt, int64_t ld, const float* keys,
                   int64_t key_row, int D, int n, float scale, float* __restrict s) {
  if (kt) {
    int j = 0;
    for (; j + 4 * W <= n; j += 4 * W) {
      vf a0 = {}, a1 = {}, a2 = {}, a3 = {};
      const float* col = kt + j;
      for (int d = 0; d < D; d++, col += ld) {
        const vf xd = splat(x[d]);
        a0 += xd * load(col);
        a1 += xd * load(col + W);
        a2 += xd * load(col + 2 * W);
        a3 += xd * load(col + 3 * W);
      }
      store(s + j, a0 * scale);
      store(s + j + W, a1 * scale);
      store(s + j + 2 * W, a2 * scale);
      store(s + j + 3 * W, a3 * scale);
    }
    for (; j < n; j += W) {
      vf a = {};
      for (int d = 0; d < D; d++) a += splat(x[d]) * load(kt + int64_t(d) * ld + j);
      store(s + j, a * scale);
    }
    return;
  }
  for (int j = 0; j < n; j++) {
    const float* __restrict kj = keys + j * key_row;
    vf a = {};
    int d = 0;
    for (; d + W <= D; d += W) a += load(x + d) * load(kj + d);
    float dot = hsum(a);
    for (; d < D; d++) dot += x[d] * kj[d];
    s[j] = dot * scale;
  }
}

// Rows [rows, cols] transposed into out[cols][ld], zero past the rows (ld: rows rounded up to W).
inline bool transposed(const float* src, int64_t row, int rows, int cols, Buffer& buf, int64_t& ld) {
  ld = (rows + W - 1) / W * W;
  if (!buf.ensure(std::size_t(cols) * ld)) return false;
  float* __restrict out = buf.data();
  for (int d = 0; d < cols; d++)
    for (int64_t j = rows; j < ld; j++) out[d * ld + j] = 0;
  for (int j = 0; j < rows; j++)
    for (int d = 0; d < cols; d++) out[d * ld + j] = src[j * row + d];
  return true;
}

// out[0..cols) = Σ_{j<n} c[j] · rows[j], each accumulator in a register across the keys.
inline void weighted_rows(const float* __restrict c, const float* rows, int64_t row, int n, int cols,
                          float* __restrict out) {
  int d = 0;
  for (; d + 4 * W <= cols; d += 4 * W) {
    vf a0 = {}, a1 = {}, a2 = {}, a3 = {};
    const float* r = rows + d;
    for (int j = 0; j < n; j++, r += row) {
      const vf cj = splat(c[j]);
      a0 += cj * load(r);
      a1 += cj * load(r + W);
      a2 += cj * load(r + 2 * W);
      a3 += cj * load(r + 3 * W);
    }
    store(out + d, a0);
    store(out + d + W, a1);
    store(out + d + 2 * W, a2);
    store(out + d + 3 * W, a3);
  }
  for (; d + 2 * W <= cols; d += 2 * W) {
    vf a0 = {}, a1 = {};
    const float* r = rows + d;
    for (int j = 0; j < n; j++, r += row) {
      const vf cj = splat(c[j]);
      a0 += cj * load(r);
      a1 += cj * load(r + W);
    }
    store(out + d, a0);
    store(out + d + W, a1);
  }
  for (; d + W <= cols; d += W) {
    vf a = {};
    for (int j = 0; j < n; j++) a += splat(c[j]) * load(rows + j * row + d);
    store(out + d, a);
  }
  for (; d < cols; d++) {
    float a = 0;
    for (int j = 0; j < n; j++) a += c[j] * rows[j * row + d];
    out[d] = a;
  }
}

// y[0..cols) += alpha · x
inline void add_scaled(float* __restrict y, float alpha, const float* __restrict x, int cols) {
  int d = 0;
  const vf av = splat(alpha);
  for (; d + W <= cols; d += W) store(y + d, load(y + d) + av * load(x + d));
  for (; d < cols; d++) y[d] += alpha * x[d];
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

// The weights row from the scores: p = exp(s − max) / Σ, zero past the n visible keys.
inline void softmax_row(float* __restrict s, int n, int Tk, float* __restrict w) {
  vf mv = splat(s[0]);
  int j = 0;
  for (; j + W <= n; j += W) {
    const vf v = load(s + j);
    mv = v > mv ? v : mv;
  }
  float max = hmax(mv);
  for (; j < n; j++) max = s[j] > max ? s[j] : max;
  vf sv = {};
  j = 0;
  for (; j + W <= n; j += W) {
    const vf e = exp_approx(load(s + j) - max);
    store(s + j, e);
    sv += e;
  }
  float sum = hsum(sv);
  for (; j < n; j++) {
    vf e = exp_approx(splat(s[j] - max));
    s[j] = e[0];
    sum += e[0];
  }
  const float inv = 1.0f / sum;
  j = 0;
  for (; j + W <= n; j += W) store(w + j, load(s + j) * inv);
  for (; j < n; j++) w[j] = s[j] * inv;
  for (; j < Tk; j++) w[j] = 0;
}

// Query rows i0.. i1 of batch b.
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
  if (!s_buf.ensure(std::size_t(Tk) + W)) return false;
  float* __restrict s = s_buf.data();
  for (int i = i0; i < i1; i++) {
    const int n = last_key(i, a) + 1;
    float* __restrict wi = w + i * a.weights.row;
    float* __restrict oi = out + i * a.out.row;
    if (n <= 0) {
      for (int j = 0; j < Tk; j++) wi[j] = 0;
      for (int d = 0; d < Dv; d++) oi[d] = __builtin_nanf("");
      continue;
    }
    scores(q + i * a.q.row, kt, ld, k, a.k.row, D, n, a.scale, s);
    softmax_row(s, n, Tk, wi);
    weighted_rows(wi, v, a.v.row, n, Dv, oi);
  }
  return true;
}

// Whole batch b backward: dk and dv gather from every query row, so a batch is one task.
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
  if (!ds_buf.ensure(std::size_t(Tk) + W)) return false;
  float* __restrict ds = ds_buf.data();
  for (int i = 0; i < T; i++) {
    const int n = last_key(i, a) + 1;
    const float* __restrict wi = w + i * a.weights.row;
    const float* __restrict gi = g + i * a.g.row;
    const float* __restrict qi = q + i * a.q.row;
    float* __restrict dqi = dq + i * a.dq.row;
    if (n <= 0) {
      for (int d = 0; d < D; d++) dqi[d] = 0;
      continue;
    }
    // dP_ij = g_i · v_j (the forward's scores with v for k); dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij').
    scores(gi, vt, ld, v, a.v.row, Dv, n, 1.0f, ds);
    const float row_dot = dot(wi, ds, n);
    for (int j = 0; j < n; j++) {
      const float p = wi[j];
      ds[j] = p * (ds[j] - row_dot) * a.scale;
      if (p == 0) continue;
      add_scaled(dv + j * a.dv.row, p, gi, Dv);
      add_scaled(dk + j * a.dk.row, ds[j], qi, D);
    }
    weighted_rows(ds, k, a.k.row, n, D, dqi);
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
  Tasks tasks;
  tasks.reset(int(std::min<int64_t>(a.batches * blocks, 1 << 30)));
  std::atomic<bool> ok{true};
  auto job = [&](int) {
    static thread_local Buffer kt, s;
    for (int t; (t = tasks.claim()) < tasks.count;) {
      const int64_t b = t / blocks;
      const int i0 = (t % blocks) * block;
      if (!attention_rows(a, b, i0, std::min(a.T, i0 + block), kt, s)) ok = false;
      tasks.finish();
    }
  };
  if (team.size() == 1 || work < kAttentionParallelWork)
    job(0);
  else
    team.run(job);
  return ok;
}

bool attention_backward(const Attention& a, Team& team) {
  if (a.batches == 0) return true;
  const double work = double(a.batches) * a.T * a.Tk * (a.D + a.Dv);
  Tasks tasks;
  tasks.reset(int(std::min<int64_t>(a.batches, 1 << 30)));
  std::atomic<bool> ok{true};
  auto job = [&](int) {
    static thread_local Buffer vt, ds;
    for (int t; (t = tasks.claim()) < tasks.count;) {
      if (!attention_backward_batch(a, t, vt, ds)) ok = false;
      tasks.finish();
    }
  };
  if (team.size() == 1 || work < kAttentionParallelWork)
    job(0);
  else
    team.run(job);
  return ok;
}
