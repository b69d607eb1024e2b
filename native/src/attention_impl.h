// The attention kernels' body, included by gemm_<isa>.cc inside its target region (and inside an
// anonymous namespace) after it defines VEC_WIDTH, the floats of one vector: GCC's vector
// extensions then compile the same loops to zmm or ymm registers. Needs attention.h and gemm.h.

constexpr int W = VEC_WIDTH;
typedef float vf __attribute__((vector_size(W * 4)));
typedef int32_t vi __attribute__((vector_size(W * 4)));

inline vf load(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
inline vf splat(float x) { return vf{} + x; }
inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < W; i++) s += v[i];
  return s;
}
inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < W; i++) m = v[i] > m ? v[i] : m;
  return m;
}

// exp for float32 vectors (Cephes' expf: range reduction by ln 2 in two parts, degree-5
// polynomial); below −87.3 it gives 0, as softmax's masked and far-below-max entries need.
inline vf exp_approx(vf x) {
  const vf hi = splat(88.3762626647949f), lo = splat(-87.3365447505531f);
  const vi tiny = x < lo;
  x = x < hi ? x : hi;
  x = x > lo ? x : lo;
  // n = round(x / ln 2) by the 1.5·2²³ trick: n lands in the low mantissa bits of `shifted`.
  const vf shifted = x * 1.44269504088896341f + 12582912.0f;
  const vf n = shifted - 12582912.0f;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vf y = p * r * r + r + 1.0f;
  const vi e = ((vi)shifted - 0x4B400000 + 127) << 23;
  return tiny ? vf{} : y * (vf)e;
}

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
