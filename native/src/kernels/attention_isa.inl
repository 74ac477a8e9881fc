// The SIMD flash-attention tiles, written once and compiled per ISA: attention.cc includes this file
// twice, with ATT_NS / ATT_TARGET / ATT_AVX512 naming the namespace, function attribute and width.
// Every function carries ATT_TARGET (lambdas would not inherit it, so epilogues are functor structs).

namespace ATT_NS {
namespace {

#if ATT_AVX512
using vf = __m512;
using vmask = __mmask16;
constexpr int W = 16;
#else
using vf = __m256;
using vmask = __m256;  // all-ones lanes are visible
constexpr int W = 8;
#endif

constexpr int KV = 4;                  // vectors per key-tile row
constexpr int BK = KV * W;             // keys per tile: 64 (avx512), 32 (avx2)
constexpr int BQ = 64;                 // queries per tile
constexpr int RS = ATT_AVX512 ? 4 : 2; // query rows per score block: RS*KV accumulators
constexpr int RU = ATT_AVX512 ? 4 : 2; // output rows per rank-update block: RU*NVU accumulators
constexpr int NVU = 4;                 // head-dim vectors per rank-update block

// ---- vector helpers ----
#if ATT_AVX512
ATT_TARGET inline vf vzero() { return _mm512_setzero_ps(); }
ATT_TARGET inline vf vset(float x) { return _mm512_set1_ps(x); }
ATT_TARGET inline vf vld(const float* p) { return _mm512_loadu_ps(p); }
ATT_TARGET inline void vst(float* p, vf v) { _mm512_storeu_ps(p, v); }
ATT_TARGET inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
ATT_TARGET inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
ATT_TARGET inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
ATT_TARGET inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
ATT_TARGET inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
// Horizontal max / sum (GCC 12's _mm512_reduce_* warn about an uninitialised temporary).
ATT_TARGET inline float hmax(vf v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
ATT_TARGET inline float hsum(vf v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
ATT_TARGET inline vf vld_n(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
ATT_TARGET inline void vst_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }

// 2^x: x = n + f with n = round(x), |f| <= 1/2; 2^f by a degree-6 polynomial fitted for relative
// error (<= 1 ulp in float32 evaluation), scaled by 2^n. x < -126 (and -inf) gives exactly 0.
ATT_TARGET inline vf vexp2(vf x) {
  const vf lo = vset(-126.0f);
  __mmask16 keep = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), vset(127.0f));
  vf n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  vf f = vsub(x, n);
  vf p = vset(1.5346772852353752e-4f);
  p = vfma(p, f, vset(1.339994021691382e-3f));
  p = vfma(p, f, vset(9.6184853464365e-3f));
  p = vfma(p, f, vset(5.550328642129898e-2f));
  p = vfma(p, f, vset(2.4022646248340607e-1f));
  p = vfma(p, f, vset(6.931471824645996e-1f));
  p = vfma(p, f, vset(1.0f));
  return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n));
}

// Lanes of keys s_base + lane that query row t may see: s <= limit, and same segment when seg.
ATT_TARGET inline vmask visible(int64_t s_base, int64_t limit, const int32_t* segk, int32_t segt) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(s_base)), iota);
  vmask m = _mm512_cmple_epi32_mask(idx, _mm512_set1_epi32(static_cast<int>(limit)));
  if (segk) m &= _mm512_cmpeq_epi32_mask(_mm512_loadu_si512(segk), _mm512_set1_epi32(segt));
  return m;
}
ATT_TARGET inline vf vselect(vmask m, vf yes, vf no) { return _mm512_mask_blend_ps(m, no, yes); }
#else
ATT_TARGET inline vf vzero() { return _mm256_setzero_ps(); }
ATT_TARGET inline vf vset(float x) { return _mm256_set1_ps(x); }
ATT_TARGET inline vf vld(const float* p) { return _mm256_loadu_ps(p); }
ATT_TARGET inline void vst(float* p, vf v) { _mm256_storeu_ps(p, v); }
ATT_TARGET inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
ATT_TARGET inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
ATT_TARGET inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
ATT_TARGET inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
ATT_TARGET inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
ATT_TARGET inline float hmax(vf v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
ATT_TARGET inline float hsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
ATT_TARGET inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
ATT_TARGET inline vf vld_n(const float* p, int n) { return _mm256_maskload_ps(p, lane_mask(n)); }
ATT_TARGET inline void vst_n(float* p, vf v, int n) { _mm256_maskstore_ps(p, lane_mask(n), v); }

// 2^x as in the AVX-512 path, with 2^n built in the exponent bits (n in [-126, 127]).
ATT_TARGET inline vf vexp2(vf x) {
  const vf lo = vset(-126.0f);
  vf keep = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), vset(127.0f));
  vf n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  vf f = vsub(x, n);
  vf p = vset(1.5346772852353752e-4f);
  p = vfma(p, f, vset(1.339994021691382e-3f));
  p = vfma(p, f, vset(9.6184853464365e-3f));
  p = vfma(p, f, vset(5.550328642129898e-2f));
  p = vfma(p, f, vset(2.4022646248340607e-1f));
  p = vfma(p, f, vset(6.931471824645996e-1f));
  p = vfma(p, f, vset(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(vmul(p, _mm256_castsi256_ps(e)), keep);
}

ATT_TARGET inline vmask visible(int64_t s_base, int64_t limit, const int32_t* segk, int32_t segt) {
  __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(s_base)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(limit + 1)), idx);
  if (segk) {
    __m256i sk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(segk));
    m = _mm256_and_si256(m, _mm256_cmpeq_epi32(sk, _mm256_set1_epi32(segt)));
  }
  return _mm256_castsi256_ps(m);
}
ATT_TARGET inline vf vselect(vmask m, vf yes, vf no) { return _mm256_blendv_ps(no, yes, m); }
#endif

// ---- microkernels ----

// Scores for R query rows x BK keys: acc[r][c] = sum_{d<D} a[(r0+r)*lda + d] * bt[d*BK + c*W ..],
// with bt one key tile stored transposed ([D][BK]); ep(row, acc[KV]) consumes each row.
template <int R, class Ep>
ATT_TARGET inline void qk_block(const float* a, int64_t lda, const float* bt, int64_t D, int r0, Ep& ep) {
  vf acc[R][KV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < KV; ++c) acc[r][c] = vzero();
  const float* ar = a + r0 * lda;
  for (int64_t d = 0; d < D; ++d) {
    vf b[KV];
    for (int c = 0; c < KV; ++c) b[c] = vld(bt + d * BK + c * W);
    for (int r = 0; r < R; ++r) {
      vf x = vset(ar[r * lda + d]);
      for (int c = 0; c < KV; ++c) acc[r][c] = vfma(x, b[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) ep(r0 + r, acc[r]);
}

template <class Ep>
ATT_TARGET void qk_rows(const float* a, int64_t lda, const float* bt, int64_t D, int rows, Ep& ep) {
  int r0 = 0;
  for (; r0 + RS <= rows; r0 += RS) qk_block<RS>(a, lda, bt, D, r0, ep);
  switch (rows - r0) {
    case 1: qk_block<1>(a, lda, bt, D, r0, ep); break;
#if ATT_AVX512
    case 2: qk_block<2>(a, lda, bt, D, r0, ep); break;
    case 3: qk_block<3>(a, lda, bt, D, r0, ep); break;
#endif
    default: break;
  }
}

// Rank update of R rows x NV vectors of C (row stride ldc, Dp columns in all):
// C[r] = C[r] * cs[r] (when cs) + sum_{k<K} A[r*ars + k*aks] * Bm[k*ldb ..].
template <int R, int NV>
ATT_TARGET inline void rank_block(float* c, int64_t ldc, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t K, const float* cs) {
  vf acc[R][NV];
  for (int r = 0; r < R; ++r) {
    vf s = cs ? vset(cs[r]) : vzero();
    for (int v = 0; v < NV; ++v) acc[r][v] = cs ? vmul(vld(c + r * ldc + v * W), s) : vld(c + r * ldc + v * W);
  }
  for (int64_t k = 0; k < K; ++k) {
    vf b[NV];
    for (int v = 0; v < NV; ++v) b[v] = vld(bm + k * ldb + v * W);
    for (int r = 0; r < R; ++r) {
      vf x = vset(a[r * ars + k * aks]);
      for (int v = 0; v < NV; ++v) acc[r][v] = vfma(x, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) vst(c + r * ldc + v * W, acc[r][v]);
}

template <int R>
ATT_TARGET inline void rank_cols(float* c, int64_t ldc, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t K, const float* cs, int64_t Dp) {
  int64_t c0 = 0;
  for (; c0 + NVU * W <= Dp; c0 += NVU * W) rank_block<R, NVU>(c + c0, ldc, a, ars, aks, bm + c0, ldb, K, cs);
  switch ((Dp - c0) / W) {
    case 1: rank_block<R, 1>(c + c0, ldc, a, ars, aks, bm + c0, ldb, K, cs); break;
    case 2: rank_block<R, 2>(c + c0, ldc, a, ars, aks, bm + c0, ldb, K, cs); break;
    case 3: rank_block<R, 3>(c + c0, ldc, a, ars, aks, bm + c0, ldb, K, cs); break;
    default: break;
  }
}

// C[rows, Dp] (=C*cs) += A[rows, K] @ Bm[K, Dp], A read through strides (ars, aks) so that a
// transposed tile (P^T, dS^T) needs no copy.
ATT_TARGET void rank_update(float* c, int64_t ldc, int64_t rows, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t K, const float* cs, int64_t Dp) {
  int64_t r0 = 0;
  for (; r0 + RU <= rows; r0 += RU)
    rank_cols<RU>(c + r0 * ldc, ldc, a + r0 * ars, ars, aks, bm, ldb, K, cs ? cs + r0 : nullptr, Dp);
  for (; r0 < rows; ++r0)
    rank_cols<1>(c + r0 * ldc, ldc, a + r0 * ars, ars, aks, bm, ldb, K, cs ? cs + r0 : nullptr, Dp);
}

// dst[r*ldd + d] (+)= src[r*lds + d] * mul[r] for d < D (mul may be null).
ATT_TARGET void store_rows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t D,
    const float* mul, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    vf s = vset(mul ? mul[r] : 1.0f);
    float* o = dst + r * ldd;
    const float* x = src + r * lds;
    int64_t d = 0;
    for (; d + W <= D; d += W) {
      vf v = vmul(vld(x + d), s);
      vst(o + d, accumulate ? vadd(vld(o + d), v) : v);
    }
    if (d < D) {
      int n = static_cast<int>(D - d);
      vf v = vmul(vld_n(x + d, n), s);
      vst_n(o + d, accumulate ? vadd(vld_n(o + d, n), v) : v, n);
    }
  }
}

// Copies rows of a [rows, D] strided matrix into [rows, Dp] with zeroed padding columns.
ATT_TARGET void pack_rows(float* dst, const float* src, int64_t lds, int64_t rows, int64_t D, int64_t Dp) {
  for (int64_t r = 0; r < rows; ++r) {
    float* o = dst + r * Dp;
    const float* x = src + r * lds;
    int64_t d = 0;
    for (; d + W <= D; d += W) vst(o + d, vld(x + d));
    if (d < D) vst(o + d, vld_n(x + d, static_cast<int>(D - d)));  // zero-fills up to the next W
    for (d = (D + W - 1) / W * W; d < Dp; d += W) vst(o + d, vzero());
  }
}

// One key tile transposed: bt[d*BK + j] = src[j*lds + d] for j < n, zero for n <= j < BK.
ATT_TARGET void pack_tile_t(float* bt, const float* src, int64_t lds, int64_t n, int64_t D) {
  for (int64_t j = n; j < BK; ++j)
    for (int64_t d = 0; d < D; ++d) bt[d * BK + j] = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < D; ++d) bt[d * BK + j] = src[j * lds + d];
}

// ---- the tile loop shared by forward and backward ----

// What one query tile needs to know about one key tile: skip it, or apply an elementwise mask.
struct TilePlan { bool skip; bool mask; int64_t kend; };

ATT_TARGET inline TilePlan plan_tile(const Geometry& g, int64_t t0, int64_t rows, int64_t j,
    bool seg, int32_t qmin, int32_t qmax, int32_t kmin, int32_t kmax) {
  TilePlan p{false, false, BK};
  int64_t s0 = j * BK, tl = t0 + rows - 1;
  if (g.causal && s0 > tl) { p.skip = true; return p; }
  if (seg && (kmax < qmin || kmin > qmax)) { p.skip = true; return p; }
  p.kend = std::min<int64_t>(BK, g.T - s0);
  if (g.causal) p.kend = std::min<int64_t>(p.kend, tl - s0 + 1);
  p.mask = (g.causal && s0 + BK - 1 > t0) || s0 + BK > g.T || (seg && !(qmin == qmax && kmin == kmax && qmin == kmin));
  return p;
}

// Scores in log2 units (scale * log2(e) folded in); masked keys become -inf, then the online softmax
// of each row: the running max m, the running sum l, and alpha = 2^(m_old - m_new) to rescale O.
struct FwdEpilogue {
  float* p;           // [BQ, BK] probabilities (unnormalised) of this tile
  float* m;           // [BQ] running max (log2 units)
  float* l;           // [BQ] running sum
  float* alpha;       // [BQ] rescale of the output rows
  float c2;           // scale * log2(e)
  bool mask;
  int64_t t0, s0, T;
  bool causal;
  const int32_t* segq;  // segments of the query rows (padded), or null
  const int32_t* segk;  // segments of the key tile (padded), or null
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf s[KV];
    for (int c = 0; c < KV; ++c) s[c] = vmul(acc[c], vset(c2));
    if (mask) {
      int64_t t = t0 + r;
      int64_t limit = causal ? std::min(t, T - 1) : T - 1;
      for (int c = 0; c < KV; ++c)
        s[c] = vselect(visible(s0 + c * W, limit, segk ? segk + c * W : nullptr, segq ? segq[r] : 0), s[c],
                       vset(-INFINITY));
    }
    vf mx = s[0];
    for (int c = 1; c < KV; ++c) mx = vmax(mx, s[c]);
    float m_old = m[r], m_new = std::max(m_old, hmax(mx));
    float* pr = p + r * BK;
    if (m_new == -INFINITY) {  // no visible key yet: nothing to add, nothing to rescale
      for (int c = 0; c < KV; ++c) vst(pr + c * W, vzero());
      alpha[r] = 1.0f;
      return;
    }
    vf mv = vset(m_new), sum = vzero();
    for (int c = 0; c < KV; ++c) {
      vf e = vexp2(vsub(s[c], mv));
      sum = vadd(sum, e);
      vst(pr + c * W, e);
    }
    float a = std::exp2(m_old - m_new);
    l[r] = l[r] * a + hsum(sum);
    m[r] = m_new;
    alpha[r] = a;
  }
};

// Backward, first pass over a tile: P = 2^(c2 * q.k - lse2), zero where masked.
struct ProbEpilogue {
  float* p;            // [BQ, BK]
  const float* lse2;   // [BQ] lse in log2 units (+inf for rows that saw nothing, so P = 0)
  float c2;
  bool mask;
  int64_t t0, s0, T;
  bool causal;
  const int32_t* segq;
  const int32_t* segk;
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf l2 = vset(lse2[r]);
    float* pr = p + r * BK;
    int64_t t = t0 + r;
    int64_t limit = causal ? std::min(t, T - 1) : T - 1;
    for (int c = 0; c < KV; ++c) {
      vf e = vexp2(vsub(vmul(acc[c], vset(c2)), l2));
      if (mask) e = vselect(visible(s0 + c * W, limit, segk ? segk + c * W : nullptr, segq ? segq[r] : 0), e, vzero());
      vst(pr + c * W, e);
    }
  }
};

// Backward, second pass: dS = scale * P * (dO.v - Dl), Dl = rowsum(dO * O).
struct DsEpilogue {
  const float* p;   // [BQ, BK]
  float* ds;        // [BQ, BK]
  const float* dl;  // [BQ]
  float scale;
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf dlr = vset(dl[r]), sc = vset(scale);
    for (int c = 0; c < KV; ++c)
      vst(ds + r * BK + c * W, vmul(vmul(vld(p + r * BK + c * W), vsub(acc[c], dlr)), sc));
  }
};

// ---- forward ----

struct FwdShared {
  const Geometry* g;
  const float* q;
  float* out;
  float* lse;
  const float* kt;       // [B, KVH, ntk, D, BK] keys, transposed per tile
  const float* vp;       // [B, KVH, Tpad, Dp] values, zero-padded
  const int32_t* segp;   // [B, Tpad] segments, padded (or null)
  const int32_t* kmin;   // [B, ntk] segment range of each key tile
  const int32_t* kmax;
  int64_t ntk, Tpad, Dp;
};

ATT_TARGET void pack_kv_range(const Geometry& g, const float* k, const float* v, float* kt, float* vp,
    int64_t ntk, int64_t Tpad, int64_t Dp, int64_t beg, int64_t end) {
  const int64_t ld = g.KVH * g.D;
  for (int64_t it = beg; it < end; ++it) {
    int64_t j = it % ntk, bk = it / ntk, b = bk / g.KVH, kh = bk % g.KVH;
    int64_t s0 = j * BK, n = std::min<int64_t>(BK, g.T - s0);
    const float* ks = k + (b * g.T + s0) * ld + kh * g.D;
    const float* vs = v + (b * g.T + s0) * ld + kh * g.D;
    pack_tile_t(kt + (bk * ntk + j) * g.D * BK, ks, ld, n, g.D);
    float* vd = vp + (bk * Tpad + s0) * Dp;
    pack_rows(vd, vs, ld, n, g.D, Dp);
    for (int64_t r = n; r < BK; ++r)
      for (int64_t d = 0; d < Dp; ++d) vd[r * Dp + d] = 0.0f;
  }
}

// One query tile of one head: the online-softmax loop over its key tiles.
ATT_TARGET void forward_tile(const FwdShared& x, int64_t b, int64_t h, int64_t i, float* scratch) {
  const Geometry& g = *x.g;
  const int64_t Dp = x.Dp, kh = h / (g.H / g.KVH);
  const int64_t t0 = i * BQ, rows = std::min<int64_t>(BQ, g.T - t0);
  float* O = scratch;             // [BQ, Dp] unnormalised output
  float* P = O + BQ * Dp;         // [BQ, BK]
  float* m = P + BQ * BK;         // [BQ]
  float* l = m + BQ;              // [BQ]
  float* alpha = l + BQ;          // [BQ]
  for (int64_t r = 0; r < rows; ++r) { m[r] = -INFINITY; l[r] = 0.0f; }
  for (int64_t e = 0; e < rows * Dp; ++e) O[e] = 0.0f;
  const bool seg = x.segp != nullptr;
  const int32_t* segq = seg ? x.segp + b * x.Tpad + t0 : nullptr;
  int32_t qmin = 0, qmax = 0;
  if (seg) {
    qmin = qmax = segq[0];
    for (int64_t r = 1; r < rows; ++r) { qmin = std::min(qmin, segq[r]); qmax = std::max(qmax, segq[r]); }
  }
  const int64_t lda = g.H * g.D;
  const float* qa = x.q + (b * g.T + t0) * lda + h * g.D;
  const float* ktb = x.kt + (b * g.KVH + kh) * x.ntk * g.D * BK;
  const float* vpb = x.vp + (b * g.KVH + kh) * x.Tpad * Dp;
  const float c2 = g.scale * 1.4426950408889634f;
  for (int64_t j = 0; j < x.ntk; ++j) {
    int32_t kmin = seg ? x.kmin[b * x.ntk + j] : 0, kmax = seg ? x.kmax[b * x.ntk + j] : 0;
    TilePlan pl = plan_tile(g, t0, rows, j, seg, qmin, qmax, kmin, kmax);
    if (pl.skip) continue;
    const int64_t s0 = j * BK;
    FwdEpilogue ep{P, m, l, alpha, c2, pl.mask, t0, s0, g.T, g.causal, segq, seg ? x.segp + b * x.Tpad + s0 : nullptr};
    qk_rows(qa, lda, ktb + j * g.D * BK, g.D, static_cast<int>(rows), ep);
    rank_update(O, Dp, rows, P, BK, 1, vpb + s0 * Dp, Dp, pl.kend, alpha, Dp);
  }
  // out = O / l; lse = (m + log2 l) ln 2; a row that saw nothing gives 0 and -inf.
  for (int64_t r = 0; r < rows; ++r) {
    alpha[r] = l[r] > 0 ? 1.0f / l[r] : 0.0f;
    x.lse[(b * g.H + h) * g.T + t0 + r] = l[r] > 0 ? (m[r] + std::log2(l[r])) * 0.6931471805599453f : -INFINITY;
  }
  store_rows(x.out + (b * g.T + t0) * lda + h * g.D, lda, O, Dp, rows, g.D, alpha, false);
}

// ---- backward ----

struct BwdShared {
  const Geometry* g;
  const float *dout, *q, *k, *v, *out, *lse;
  float* dq;
  const int32_t* segp;  // [B, Tpad] or null
  const int32_t* kmin;  // [B, ntk]
  const int32_t* kmax;
  int64_t ntk, Tpad, Dp;
};

// All the query heads [h0, h1) of kv head kh of batch b; dk/dv for this kv head are accumulated in
// [Tpad, Dp] buffers and added (or, without accumulate, stored) to dk_dst/dv_dst (row stride ldk) at the end.
ATT_TARGET void backward_group(const BwdShared& x, int64_t b, int64_t kh, int64_t h0, int64_t h1,
    float* dk_dst, float* dv_dst, int64_t ldk, bool accumulate, float* scratch) {
  const Geometry& g = *x.g;
  const int64_t D = g.D, Dp = x.Dp, ntk = x.ntk, Tpad = x.Tpad;
  float* kt = scratch;                 // [ntk, D, BK] keys, transposed per tile
  float* vt = kt + ntk * D * BK;       // [ntk, D, BK] values, transposed per tile
  float* kp = vt + ntk * D * BK;       // [Tpad, Dp] keys
  float* dka = kp + Tpad * Dp;         // [Tpad, Dp] dk accumulator
  float* dva = dka + Tpad * Dp;        // [Tpad, Dp] dv accumulator
  float* qp = dva + Tpad * Dp;         // [BQ, Dp] this query tile
  float* dop = qp + BQ * Dp;           // [BQ, Dp] its output gradient
  float* dqa = dop + BQ * Dp;          // [BQ, Dp] its dq accumulator
  float* P = dqa + BQ * Dp;            // [BQ, BK]
  float* dS = P + BQ * BK;             // [BQ, BK]
  float* dl = dS + BQ * BK;            // [BQ]
  float* lse2 = dl + BQ;               // [BQ]

  const int64_t ldkv = g.KVH * D;
  for (int64_t j = 0; j < ntk; ++j) {
    int64_t s0 = j * BK, n = std::min<int64_t>(BK, g.T - s0);
    const float* ks = x.k + (b * g.T + s0) * ldkv + kh * D;
    const float* vs = x.v + (b * g.T + s0) * ldkv + kh * D;
    pack_tile_t(kt + j * D * BK, ks, ldkv, n, D);
    pack_tile_t(vt + j * D * BK, vs, ldkv, n, D);
    pack_rows(kp + s0 * Dp, ks, ldkv, n, D, Dp);
    for (int64_t e = n * Dp; e < BK * Dp; ++e) kp[s0 * Dp + e] = 0.0f;
  }
  for (int64_t e = 0; e < Tpad * Dp; ++e) { dka[e] = 0.0f; dva[e] = 0.0f; }

  const bool seg = x.segp != nullptr;
  const float c2 = g.scale * 1.4426950408889634f;
  const int64_t ldq = g.H * D;
  const int64_t nqt = (g.T + BQ - 1) / BQ;
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t i = 0; i < nqt; ++i) {
      const int64_t t0 = i * BQ, rows = std::min<int64_t>(BQ, g.T - t0);
      const int64_t qoff = (b * g.T + t0) * ldq + h * D;
      pack_rows(qp, x.q + qoff, ldq, rows, D, Dp);
      pack_rows(dop, x.dout + qoff, ldq, rows, D, Dp);
      for (int64_t r = 0; r < rows; ++r) {
        const float* o = x.out + qoff + r * ldq;
        float s = 0.0f;
        for (int64_t d = 0; d < D; ++d) s += dop[r * Dp + d] * o[d];
        dl[r] = s;
        float lv = x.lse[(b * g.H + h) * g.T + t0 + r];
        lse2[r] = lv == -INFINITY ? INFINITY : lv * 1.4426950408889634f;
      }
      for (int64_t e = 0; e < rows * Dp; ++e) dqa[e] = 0.0f;
      const int32_t* segq = seg ? x.segp + b * Tpad + t0 : nullptr;
      int32_t qmin = 0, qmax = 0;
      if (seg) {
        qmin = qmax = segq[0];
        for (int64_t r = 1; r < rows; ++r) { qmin = std::min(qmin, segq[r]); qmax = std::max(qmax, segq[r]); }
      }
      for (int64_t j = 0; j < ntk; ++j) {
        int32_t kmin = seg ? x.kmin[b * ntk + j] : 0, kmax = seg ? x.kmax[b * ntk + j] : 0;
        TilePlan pl = plan_tile(g, t0, rows, j, seg, qmin, qmax, kmin, kmax);
        if (pl.skip) continue;
        const int64_t s0 = j * BK;
        ProbEpilogue pe{P, lse2, c2, pl.mask, t0, s0, g.T, g.causal, segq, seg ? x.segp + b * Tpad + s0 : nullptr};
        qk_rows(qp, Dp, kt + j * D * BK, D, static_cast<int>(rows), pe);
        DsEpilogue de{P, dS, dl, g.scale};
        qk_rows(dop, Dp, vt + j * D * BK, D, static_cast<int>(rows), de);
        // dV_j += P^T dO, dK_j += dS^T Q (rows are keys, read P and dS transposed), dQ += dS K_j
        rank_update(dva + s0 * Dp, Dp, pl.kend, P, 1, BK, dop, Dp, rows, nullptr, Dp);
        rank_update(dka + s0 * Dp, Dp, pl.kend, dS, 1, BK, qp, Dp, rows, nullptr, Dp);
        rank_update(dqa, Dp, rows, dS, BK, 1, kp + s0 * Dp, Dp, pl.kend, nullptr, Dp);
      }
      store_rows(x.dq + qoff, ldq, dqa, Dp, rows, D, nullptr, true);
    }
  }
  store_rows(dk_dst, ldk, dka, Dp, g.T, D, nullptr, accumulate);
  store_rows(dv_dst, ldk, dva, Dp, g.T, D, nullptr, accumulate);
}

}  // namespace

// Sizes that attention.cc needs to lay out the shared buffers for this ISA.
constexpr int kBK = BK;
constexpr int kBQ = BQ;
constexpr int kW = W;

ATT_TARGET void forward(const Geometry& g, float* out, float* lse, const float* q, const float* k, const float* v) {
  const int64_t ntk = (g.T + BK - 1) / BK, Tpad = ntk * BK, Dp = (g.D + W - 1) / W * W;
  Prepared pr = prepare(g, ntk, Tpad, BK);
  float* kt = scratch_main(0, g.B * g.KVH * ntk * g.D * BK);   // [B, KVH, ntk, D, BK]
  float* vp = scratch_main(1, g.B * g.KVH * Tpad * Dp);        // [B, KVH, Tpad, Dp]
  parallel_for(g.B * g.KVH * ntk, 4, [&](int64_t beg, int64_t end) {
    pack_kv_range(g, k, v, kt, vp, ntk, Tpad, Dp, beg, end);
  });
  FwdShared x{&g, q, out, lse, kt, vp, pr.segp, pr.kmin, pr.kmax, ntk, Tpad, Dp};
  // Work items pair query tile p with tile nqt-1-p so that every item costs the same under the
  // causal mask; items of one head are adjacent, so a thread's L2 keeps that head's K and V.
  const int64_t nqt = (g.T + BQ - 1) / BQ, npairs = (nqt + 1) / 2;
  const int64_t items = g.B * g.H * npairs;
  const size_t per_thread = BQ * Dp + BQ * BK + 3 * BQ;
  run_items(items, [&](int64_t it) {
    int64_t p = it % npairs, bh = it / npairs;
    float* s = scratch_thread(per_thread);
    forward_tile(x, bh / g.H, bh % g.H, p, s);
    if (nqt - 1 - p != p) forward_tile(x, bh / g.H, bh % g.H, nqt - 1 - p, s);
  });
}

ATT_TARGET void backward(const Geometry& g, float* dq, float* dk, float* dv, const float* dout, const float* q,
    const float* k, const float* v, const float* out, const float* lse) {
  const int64_t ntk = (g.T + BK - 1) / BK, Tpad = ntk * BK, Dp = (g.D + W - 1) / W * W;
  Prepared pr = prepare(g, ntk, Tpad, BK);
  BwdShared x{&g, dout, q, k, v, out, lse, dq, pr.segp, pr.kmin, pr.kmax, ntk, Tpad, Dp};
  const size_t per_thread = 2 * ntk * g.D * BK + 3 * Tpad * Dp + 3 * BQ * Dp + 2 * BQ * BK + 2 * BQ;
  backward_schedule(g, [&](int64_t b, int64_t kh, int64_t h0, int64_t h1, float* dkd, float* dvd, int64_t ld, bool acc) {
    backward_group(x, b, kh, h0, h1, dkd, dvd, ld, acc, scratch_thread(per_thread));
  }, dk, dv);
}

}  // namespace ATT_NS
