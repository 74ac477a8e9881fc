// The SIMD flash-attention tiles, written once and compiled per ISA: attention.cc includes this file
// twice, with ATT_NS / ATT_TARGET / ATT_AVX512 naming the namespace, function attribute and width.
// Every function carries ATT_TARGET (lambdas would not inherit it, so epilogues are functor structs).

namespace ATT_NS {
namespace {

#if ATT_AVX512
using vf = __m512;
using vmask = __mmask16;
constexpr int W = 16;
#define ATT_CAST128 _mm512_castps512_ps128
#else
using vf = __m256;
using vmask = __m256;  // all-ones lanes are visible
constexpr int W = 8;
#define ATT_CAST128 _mm256_castps256_ps128
#endif

// Tile sizes. A key tile is KV vectors wide; a score block (RS x KV accumulators) and a rank-update
// block (RU x NVU) leave registers for the operands (32 zmm, 16 ymm). The working set of one tile
// pair (keys^T, values, q, P, O: 5 x 16 KB for BQ = BK = 64, D = 64) sits in L1/L2; taller
// (BQ = 32) or wider (RS = RU = 6) blocks measured no faster.
constexpr int KV = 4;                   // vectors per key-tile row
constexpr int BK = KV * W;              // keys per tile: 64 (avx512), 32 (avx2)
constexpr int BQ = 64;                  // queries per tile
constexpr int RS = ATT_AVX512 ? 4 : 2;  // query rows per score block: RS*KV accumulators
constexpr int RU = ATT_AVX512 ? 4 : 2;  // output rows per rank-update block: RU*NVU accumulators
constexpr int NVU = 4;                  // head-dim vectors per rank-update block

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
// Horizontal sum (GCC 12's _mm512_reduce_add_ps warns about an uninitialised temporary).
ATT_TARGET inline float hsum(vf v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
// The max of all lanes, in every lane (no round trip through a scalar register).
ATT_TARGET inline vf vmax_all(vf v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));  // swap 256-bit halves
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));  // swap 128-bit quarters
  v = _mm512_max_ps(v, _mm512_permute_ps(v, 0x4E));        // swap 64-bit pairs
  return _mm512_max_ps(v, _mm512_permute_ps(v, 0xB1));     // swap neighbours
}
ATT_TARGET inline vf vld_n(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
ATT_TARGET inline void vst_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }

// 2^x: x = n + f with n = round(x), |f| <= 1/2; 2^f by a degree-6 polynomial fitted for relative
// error (<= 1 ulp in float32 evaluation), scaled by 2^n with scalef (no clamping needed: large |n|
// saturates to 0 or inf). x < -126 and -inf give exactly 0, so no denormal reaches the matmuls;
// NaN stays NaN (a NaN score must reach the output, as in the reference).
ATT_TARGET inline vf vexp2(vf x) {
  __mmask16 keep = _mm512_cmp_ps_mask(x, vset(-126.0f), _CMP_NLT_UQ);
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
// x, with -inf replaced by 0 (a running max before any key: subtracting it must not give -inf - -inf).
ATT_TARGET inline vf vneginf_to_zero(vf x) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, vset(-INFINITY), _CMP_EQ_OQ), x, vzero());
}

// In-register 16x16 transpose: stage k swaps bit k of the row index with bit k of the lane index,
// pairing rows i and i + 2^k through two-source lane permutes (index 16 + l is lane l of the second row).
template <int S>
ATT_TARGET inline void transpose_stage(vf r[16], __m512i lo, __m512i hi) {
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (i & S) continue;
    vf a = r[i], b = r[i + S];
    r[i] = _mm512_permutex2var_ps(a, lo, b);
    r[i + S] = _mm512_permutex2var_ps(a, hi, b);
  }
}
ATT_TARGET inline void transpose(vf r[16]) {
  transpose_stage<1>(r, _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                        _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31));
  transpose_stage<2>(r, _mm512_setr_epi32(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
                        _mm512_setr_epi32(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31));
  transpose_stage<4>(r, _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                        _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31));
  transpose_stage<8>(r, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                        _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}
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
ATT_TARGET inline float hsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
ATT_TARGET inline vf vmax_all(vf v) {
  v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 0x01));
  v = _mm256_max_ps(v, _mm256_permute_ps(v, 0x4E));
  return _mm256_max_ps(v, _mm256_permute_ps(v, 0xB1));
}
ATT_TARGET inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
ATT_TARGET inline vf vld_n(const float* p, int n) { return _mm256_maskload_ps(p, lane_mask(n)); }
ATT_TARGET inline void vst_n(float* p, vf v, int n) { _mm256_maskstore_ps(p, lane_mask(n), v); }

// 2^x as in the AVX-512 path, with 2^n built in the exponent bits (x clamped so n is in [-126, 127];
// max/min return their second operand when one is NaN, so NaN passes through).
ATT_TARGET inline vf vexp2(vf x) {
  const vf lo = vset(-126.0f);
  vf keep = _mm256_cmp_ps(x, lo, _CMP_NLT_UQ);
  x = _mm256_min_ps(vset(127.0f), _mm256_max_ps(lo, x));
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
ATT_TARGET inline vf vneginf_to_zero(vf x) {
  return _mm256_blendv_ps(x, vzero(), _mm256_cmp_ps(x, vset(-INFINITY), _CMP_EQ_OQ));
}

// In-register 8x8 transpose: interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
ATT_TARGET inline void transpose(vf r[W]) {
  vf t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
#endif

// sum_{d<D} a[d] * b[d]
ATT_TARGET inline float dot(const float* a, const float* b, int64_t D) {
  vf acc = vzero();
  int64_t d = 0;
  for (; d + W <= D; d += W) acc = vfma(vld(a + d), vld(b + d), acc);
  if (d < D) acc = vfma(vld_n(a + d, static_cast<int>(D - d)), vld_n(b + d, static_cast<int>(D - d)), acc);
  return hsum(acc);
}

// ---- microkernels ----

// Causal trimming inside a tile: with diag = t0 - s0 (query row r sits at t0 + r, key column k at
// s0 + k), row r sees only keys k <= r + diag, so a block of rows can stop early. kNoDiag: no trimming.
constexpr int64_t kNoDiag = int64_t(1) << 40;

// Scores for R query rows x BK keys: acc[r][c] = sum_{d<D} a[(r0+r)*lda + d] * bt[d*BK + c*W ..],
// with bt one key tile stored transposed ([D][BK]); ep(row, acc[KV]) consumes each row. Only the
// first NKV key vectors are computed, the rest are left zero (the caller's mask hides them).
template <int R, int NKV, class Ep>
ATT_TARGET inline void qk_block(const float* a, int64_t lda, const float* bt, int64_t D, int r0, Ep& ep) {
  vf acc[R][KV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < KV; ++c) acc[r][c] = vzero();
  const float* ar = a + r0 * lda;
  if constexpr (NKV > 0) {
    for (int64_t d = 0; d < D; ++d) {
      vf b[NKV];
      for (int c = 0; c < NKV; ++c) b[c] = vld(bt + d * BK + c * W);
      for (int r = 0; r < R; ++r) {
        vf x = vset(ar[r * lda + d]);
        for (int c = 0; c < NKV; ++c) acc[r][c] = vfma(x, b[c], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) ep(r0 + r, acc[r]);
}

// The last rows - r0 < RS rows of a tile, with the block height that fits them.
template <int R, class Ep>
ATT_TARGET inline void qk_tail(const float* a, int64_t lda, const float* bt, int64_t D, int r0, int n, Ep& ep) {
  if (n == R) qk_block<R, KV>(a, lda, bt, D, r0, ep);
  else if constexpr (R > 1) qk_tail<R - 1>(a, lda, bt, D, r0, n, ep);
}

template <class Ep>
ATT_TARGET void qk_rows(const float* a, int64_t lda, const float* bt, int64_t D, int rows, int64_t diag, Ep& ep) {
  int r0 = 0;
  for (; r0 + RS <= rows; r0 += RS) {
    int64_t keys = std::min<int64_t>(BK, std::max<int64_t>(0, diag + r0 + RS));  // keys this block may see
    switch ((keys + W - 1) / W) {
      case 0: qk_block<RS, 0>(a, lda, bt, D, r0, ep); break;
      case 1: qk_block<RS, 1>(a, lda, bt, D, r0, ep); break;
      case 2: qk_block<RS, 2>(a, lda, bt, D, r0, ep); break;
      case 3: qk_block<RS, 3>(a, lda, bt, D, r0, ep); break;
      default: qk_block<RS, KV>(a, lda, bt, D, r0, ep); break;
    }
  }
  if (r0 < rows) qk_tail<RS - 1>(a, lda, bt, D, r0, rows - r0, ep);
}
static_assert(KV == 4, "qk_rows dispatches on up to 4 key vectors");

// Rank update of R rows x NV vectors of C (row stride ldc):
// C[r] = C[r] * cs[r] (when cs) + sum_{kb<=k<ke} A[r*ars + k*aks] * Bm[k*ldb ..].
template <int R, int NV>
ATT_TARGET inline void rank_block(float* c, int64_t ldc, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t kb, int64_t ke, const float* cs) {
  vf acc[R][NV];
  for (int r = 0; r < R; ++r) {
    vf s = cs ? vset(cs[r]) : vzero();
    for (int v = 0; v < NV; ++v) acc[r][v] = cs ? vmul(vld(c + r * ldc + v * W), s) : vld(c + r * ldc + v * W);
  }
  for (int64_t k = kb; k < ke; ++k) {
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
    const float* bm, int64_t ldb, int64_t kb, int64_t ke, const float* cs, int64_t Dp) {
  int64_t c0 = 0;
  for (; c0 + NVU * W <= Dp; c0 += NVU * W) rank_block<R, NVU>(c + c0, ldc, a, ars, aks, bm + c0, ldb, kb, ke, cs);
  switch ((Dp - c0) / W) {
    case 1: rank_block<R, 1>(c + c0, ldc, a, ars, aks, bm + c0, ldb, kb, ke, cs); break;
    case 2: rank_block<R, 2>(c + c0, ldc, a, ars, aks, bm + c0, ldb, kb, ke, cs); break;
    case 3: rank_block<R, 3>(c + c0, ldc, a, ars, aks, bm + c0, ldb, kb, ke, cs); break;
    default: break;
  }
}
static_assert(NVU == 4, "rank_cols dispatches on up to 4 head-dim vectors");

template <int R>
ATT_TARGET inline void rank_tail(float* c, int64_t ldc, int n, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t kb, int64_t ke, const float* cs, int64_t Dp) {
  if (n == R) rank_cols<R>(c, ldc, a, ars, aks, bm, ldb, kb, ke, cs, Dp);
  else if constexpr (R > 1) rank_tail<R - 1>(c, ldc, n, a, ars, aks, bm, ldb, kb, ke, cs, Dp);
}

// C[rows, Dp] (=C*cs) += A[rows, K] @ Bm[K, Dp], A read through strides (ars, aks) so that a
// transposed tile (P^T, dS^T) needs no copy. Causal trimming (kNoDiag for none): the block of rows
// r0..r0+RU-1 reads only k < r0 + RU + hi_off and k >= r0 - lo_off (A is zero elsewhere).
ATT_TARGET void rank_update(float* c, int64_t ldc, int64_t rows, const float* a, int64_t ars, int64_t aks,
    const float* bm, int64_t ldb, int64_t K, const float* cs, int64_t Dp, int64_t hi_off, int64_t lo_off) {
  int64_t r0 = 0;
  for (; r0 < rows; r0 += RU) {
    int64_t kb = std::max<int64_t>(0, r0 - lo_off), ke = std::min<int64_t>(K, r0 + RU + hi_off);
    if (ke < kb) ke = kb;
    float* cr = c + r0 * ldc;
    const float* ar = a + r0 * ars;
    const float* csr = cs ? cs + r0 : nullptr;
    if (r0 + RU <= rows) rank_cols<RU>(cr, ldc, ar, ars, aks, bm, ldb, kb, ke, csr, Dp);
    else rank_tail<RU - 1>(cr, ldc, static_cast<int>(rows - r0), ar, ars, aks, bm, ldb, kb, ke, csr, Dp);
  }
}

// Rows of one head sit H*D floats apart, more than a page for GPT-2, where the hardware prefetcher
// stops following them: fetch the lines of a row that will be read a few rows later.
ATT_TARGET inline void prefetch_row(const float* x, int64_t D) {
  for (int64_t d = 0; d < D; d += 16) _mm_prefetch(reinterpret_cast<const char*>(x + d), _MM_HINT_T0);
}

// dst[r*ldd + d] (+)= src[r*lds + d] * mul[r] * factor for d < D (mul may be null).
ATT_TARGET void store_rows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t D,
    const float* mul, bool accumulate, float factor = 1.0f) {
  for (int64_t r = 0; r < rows; ++r) {
    if (r + 8 < rows) prefetch_row(dst + (r + 8) * ldd, D);  // output rows are strided too
    vf s = vset((mul ? mul[r] : 1.0f) * factor);
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

// Copies rows of a [rows, D] strided matrix, times factor, into [rows, Dp] with zeroed padding columns.
ATT_TARGET void pack_rows(float* dst, const float* src, int64_t lds, int64_t rows, int64_t D, int64_t Dp,
    float factor = 1.0f) {
  const vf f = vset(factor);
  constexpr int64_t kAhead = 8;
  for (int64_t r = 0; r < std::min(rows, kAhead); ++r) prefetch_row(src + r * lds, D);
  for (int64_t r = 0; r < rows; ++r) {
    float* o = dst + r * Dp;
    const float* x = src + r * lds;
    if (r + kAhead < rows) prefetch_row(x + kAhead * lds, D);
    int64_t d = 0;
    for (; d + W <= D; d += W) vst(o + d, vmul(vld(x + d), f));
    if (d < D) vst(o + d, vmul(vld_n(x + d, static_cast<int>(D - d)), f));  // zero-fills up to the next W
    for (d = (D + W - 1) / W * W; d < Dp; d += W) vst(o + d, vzero());
  }
}

// One key tile transposed: bt[d*BK + j] = src[j*lds + d] for j < n, zero for n <= j < BK.
// Done in W x W blocks transposed in registers (a scalar transpose cost ~15% of the backward).
ATT_TARGET void pack_tile_t(float* bt, const float* src, int64_t lds, int64_t n, int64_t D) {
  for (int64_t j0 = 0; j0 < BK; j0 += W) {
    for (int64_t d0 = 0; d0 < D; d0 += W) {
      const int dn = static_cast<int>(std::min<int64_t>(W, D - d0));
      vf r[W];
      for (int i = 0; i < W; ++i) {
        const float* x = src + (j0 + i) * lds + d0;
        if (d0 == 0 && j0 + W + i < n) prefetch_row(x + W * lds, D);  // the same row of the next block
        r[i] = j0 + i >= n ? vzero() : dn == W ? vld(x) : vld_n(x, dn);
      }
      transpose(r);
      for (int i = 0; i < dn; ++i) vst(bt + (d0 + i) * BK + j0, r[i]);
    }
  }
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

// Scores arrive in log2 units (q was scaled by scale * log2(e)); masked keys become -inf, then the
// online softmax of each row: running max m, running sum l (kept as W partial sums, reduced once at
// the end), and alpha = 2^(m_old - m_new) to rescale the row's output. Branch-free and in vectors
// (a data-dependent branch on "did the max change" and a scalar exp2 made this epilogue cost 40% of
// the score matmul). A row that has seen no key yet keeps m = -inf and subtracts 0 instead, so its
// P, alpha, l and output stay exactly 0.
struct FwdEpilogue {
  float* p;           // [BQ, BK] probabilities (unnormalised) of this tile
  float* m;           // [BQ] running max (log2 units)
  float* l;           // [BQ, W] running sum, as partial sums
  float* alpha;       // [BQ] rescale of the output rows
  bool mask;
  int64_t t0, s0, T;
  bool causal;
  const int32_t* segq;  // segments of the query rows (padded), or null
  const int32_t* segk;  // segments of the key tile (padded), or null
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf s[KV];
    for (int c = 0; c < KV; ++c) s[c] = acc[c];
    if (mask) {
      int64_t t = t0 + r;
      int64_t limit = causal ? std::min(t, T - 1) : T - 1;
      for (int c = 0; c < KV; ++c)
        s[c] = vselect(visible(s0 + c * W, limit, segk ? segk + c * W : nullptr, segq ? segq[r] : 0), s[c],
                       vset(-INFINITY));
    }
    vf mx = s[0];
    for (int c = 1; c < KV; ++c) mx = vmax(mx, s[c]);
    vf m_old = vset(m[r]), m_new = vmax(m_old, vmax_all(mx)), m_sub = vneginf_to_zero(m_new);
    vf sum = vzero();
    float* pr = p + r * BK;
    for (int c = 0; c < KV; ++c) {
      vf e = vexp2(vsub(s[c], m_sub));
      sum = vadd(sum, e);
      vst(pr + c * W, e);
    }
    vf a = vexp2(vsub(m_old, m_sub));
    vst(l + r * W, vfma(vld(l + r * W), a, sum));
    m[r] = _mm_cvtss_f32(ATT_CAST128(m_new));
    alpha[r] = _mm_cvtss_f32(ATT_CAST128(a));
  }
};

// Backward, first pass over a tile: P = 2^(c2 * q.k - lse2), zero where masked.
struct ProbEpilogue {
  float* p;            // [BQ, BK]
  const float* nlse2;  // [BQ] -lse in log2 units (-inf for rows that saw nothing, so P = 0)
  float c2;
  bool mask;
  int64_t t0, s0, T;
  bool causal;
  const int32_t* segq;
  const int32_t* segk;
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf nl2 = vset(nlse2[r]);
    float* pr = p + r * BK;
    int64_t t = t0 + r;
    int64_t limit = causal ? std::min(t, T - 1) : T - 1;
    for (int c = 0; c < KV; ++c) {
      vf e = vexp2(vfma(acc[c], vset(c2), nl2));
      if (mask) e = vselect(visible(s0 + c * W, limit, segk ? segk + c * W : nullptr, segq ? segq[r] : 0), e, vzero());
      vst(pr + c * W, e);
    }
  }
};

// Backward, second pass: dS = scale * P * (dO.v - Dl), Dl = rowsum(dO * O).
struct DsEpilogue {
  const float* p;   // [BQ, BK]
  float* ds;        // [BQ, BK]
  const float* ndl; // [BQ] -scale * Dl
  float scale;
  ATT_TARGET inline void operator()(int r, const vf* acc) const {
    vf nd = vset(ndl[r]), sc = vset(scale);
    for (int c = 0; c < KV; ++c)
      vst(ds + r * BK + c * W, vmul(vld(p + r * BK + c * W), vfma(acc[c], sc, nd)));
  }
};

// ---- forward ----

struct FwdShared {
  const Geometry* g;
  const float *q, *k, *v;
  float* out;
  float* lse;
  const int32_t* segp;   // [B, Tpad] segments, padded (or null)
  const int32_t* kmin;   // [B, ntk] segment range of each key tile
  const int32_t* kmax;
  int64_t ntk, Tpad, Dp;
  uint64_t call;         // tells this call's packed keys from an earlier call's
};

// A thread's packed copy of one kv head: keys transposed per tile, values as contiguous zero-padded
// rows (in place, a head's rows sit H*D floats apart, and at GPT-2's 3 KB stride a 64-row tile maps
// to a quarter of L1's sets: 10% slower). Filled lazily up to the last tile a query tile needs and
// kept for the thread's next item of the same head, so a head is read from memory about once per
// thread and then served from L2.
struct KvPack {
  uint64_t call = 0;
  int64_t b = -1, kh = -1, packed = 0;
  float* kt = nullptr;   // [ntk, D, BK]
  float* vp = nullptr;   // [Tpad, Dp]
};

ATT_TARGET void kv_pack_upto(const FwdShared& x, KvPack& kv, int64_t b, int64_t kh, int64_t upto, float* kt, float* vp) {
  const Geometry& g = *x.g;
  if (kv.call != x.call || kv.b != b || kv.kh != kh || kv.kt != kt) kv = KvPack{x.call, b, kh, 0, kt, vp};
  const int64_t ld = g.KVH * g.D;
  for (; kv.packed < upto; ++kv.packed) {
    const int64_t s0 = kv.packed * BK, n = std::min<int64_t>(BK, g.T - s0);
    const int64_t off = (b * g.T + s0) * ld + kh * g.D;
    pack_tile_t(kt + kv.packed * g.D * BK, x.k + off, ld, n, g.D);
    pack_rows(vp + s0 * x.Dp, x.v + off, ld, n, g.D, x.Dp);
    for (int64_t e = n * x.Dp; e < BK * x.Dp; ++e) vp[s0 * x.Dp + e] = 0.0f;
  }
}

// One query tile of one head: the online-softmax loop over its key tiles.
ATT_TARGET void forward_tile(const FwdShared& x, int64_t b, int64_t h, int64_t i, KvPack& kv, float* kt, float* vp,
    float* scratch) {
  const Geometry& g = *x.g;
  const int64_t Dp = x.Dp, kh = h / (g.H / g.KVH);
  const int64_t t0 = i * BQ, rows = std::min<int64_t>(BQ, g.T - t0);
  const int64_t jend = g.causal ? (t0 + rows - 1) / BK + 1 : x.ntk;
  kv_pack_upto(x, kv, b, kh, jend, kt, vp);
  float* O = scratch;             // [BQ, Dp] unnormalised output
  float* qs = O + BQ * Dp;        // [BQ, Dp] q * scale * log2(e)
  float* P = qs + BQ * Dp;        // [BQ, BK]
  float* l = P + BQ * BK;         // [BQ, W]
  float* m = l + BQ * W;          // [BQ]
  float* alpha = m + BQ;          // [BQ]
  for (int64_t r = 0; r < rows; ++r) { m[r] = -INFINITY; vst(l + r * W, vzero()); }
  for (int64_t e = 0; e < rows * Dp; ++e) O[e] = 0.0f;
  const bool seg = x.segp != nullptr;
  const int32_t* segq = seg ? x.segp + b * x.Tpad + t0 : nullptr;
  int32_t qmin = 0, qmax = 0;
  if (seg) {
    qmin = qmax = segq[0];
    for (int64_t r = 1; r < rows; ++r) { qmin = std::min(qmin, segq[r]); qmax = std::max(qmax, segq[r]); }
  }
  const int64_t lda = g.H * g.D;
  pack_rows(qs, x.q + (b * g.T + t0) * lda + h * g.D, lda, rows, g.D, Dp, g.scale * 1.4426950408889634f);
  for (int64_t j = 0; j < jend; ++j) {
    int32_t kmin = seg ? x.kmin[b * x.ntk + j] : 0, kmax = seg ? x.kmax[b * x.ntk + j] : 0;
    TilePlan pl = plan_tile(g, t0, rows, j, seg, qmin, qmax, kmin, kmax);
    if (pl.skip) continue;
    const int64_t s0 = j * BK, diag = g.causal ? t0 - s0 : kNoDiag;
    FwdEpilogue ep{P, m, l, alpha, pl.mask, t0, s0, g.T, g.causal, segq, seg ? x.segp + b * x.Tpad + s0 : nullptr};
    qk_rows(qs, Dp, kt + j * g.D * BK, g.D, static_cast<int>(rows), diag, ep);
    rank_update(O, Dp, rows, P, BK, 1, vp + s0 * Dp, Dp, pl.kend, alpha, Dp, diag, kNoDiag);
  }
  // out = O / l; lse = (m + log2 l) ln 2; a row that saw nothing gives 0 and -inf (NaN stays NaN).
  for (int64_t r = 0; r < rows; ++r) {
    float lr = hsum(vld(l + r * W));
    alpha[r] = lr == 0.0f ? 0.0f : 1.0f / lr;
    x.lse[(b * g.H + h) * g.T + t0 + r] = lr == 0.0f ? -INFINITY : (m[r] + std::log2(lr)) * 0.6931471805599453f;
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
  float* kp = vt + ntk * D * BK;       // [Tpad, Dp] keys, zero-padded rows
  float* dka = kp + Tpad * Dp;         // [Tpad, Dp] dk accumulator
  float* dva = dka + Tpad * Dp;        // [Tpad, Dp] dv accumulator
  float* qp = dva + Tpad * Dp;         // [BQ, Dp] this query tile
  float* dop = qp + BQ * Dp;           // [BQ, Dp] its output gradient
  float* dqa = dop + BQ * Dp;          // [BQ, Dp] its dq accumulator
  float* P = dqa + BQ * Dp;            // [BQ, BK]
  float* dS = P + BQ * BK;             // [BQ, BK]
  float* ndl = dS + BQ * BK;           // [BQ] -scale * rowsum(dO * O)
  float* nlse2 = ndl + BQ;             // [BQ] -lse in log2 units

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
        if (r + 8 < rows) prefetch_row(x.out + qoff + (r + 8) * ldq, D);
        ndl[r] = -dot(dop + r * Dp, x.out + qoff + r * ldq, D) * g.scale;
        float lv = x.lse[(b * g.H + h) * g.T + t0 + r];
        nlse2[r] = lv == -INFINITY ? -INFINITY : -lv * 1.4426950408889634f;  // a row that saw nothing: P = 0
      }
      for (int64_t e = 0; e < rows * Dp; ++e) dqa[e] = 0.0f;
      const int32_t* segq = seg ? x.segp + b * Tpad + t0 : nullptr;
      int32_t qmin = 0, qmax = 0;
      if (seg) {
        qmin = qmax = segq[0];
        for (int64_t r = 1; r < rows; ++r) { qmin = std::min(qmin, segq[r]); qmax = std::max(qmax, segq[r]); }
      }
      const int64_t jend = g.causal ? (t0 + rows - 1) / BK + 1 : ntk;
      for (int64_t j = 0; j < jend; ++j) {
        // this tile's dq rows are added to at the end: fetch a share of them on each key tile
        for (int64_t r = j * rows / jend; r < (j + 1) * rows / jend; ++r) prefetch_row(x.dq + qoff + r * ldq, D);
        int32_t kmin = seg ? x.kmin[b * ntk + j] : 0, kmax = seg ? x.kmax[b * ntk + j] : 0;
        TilePlan pl = plan_tile(g, t0, rows, j, seg, qmin, qmax, kmin, kmax);
        if (pl.skip) continue;
        const int64_t s0 = j * BK, diag = g.causal ? t0 - s0 : kNoDiag;
        ProbEpilogue pe{P, nlse2, c2, pl.mask, t0, s0, g.T, g.causal, segq, seg ? x.segp + b * Tpad + s0 : nullptr};
        qk_rows(qp, Dp, kt + j * D * BK, D, static_cast<int>(rows), diag, pe);
        DsEpilogue de{P, dS, ndl, g.scale};
        qk_rows(dop, Dp, vt + j * D * BK, D, static_cast<int>(rows), diag, de);
        // dV_j += P^T dO, dK_j += dS^T Q (rows are keys, read P and dS transposed), dQ += dS K_j
        rank_update(dva + s0 * Dp, Dp, pl.kend, P, 1, BK, dop, Dp, rows, nullptr, Dp, kNoDiag, diag);
        rank_update(dka + s0 * Dp, Dp, pl.kend, dS, 1, BK, qp, Dp, rows, nullptr, Dp, kNoDiag, diag);
        rank_update(dqa, Dp, rows, dS, BK, 1, kp + s0 * Dp, Dp, pl.kend, nullptr, Dp, diag, kNoDiag);
      }
      store_rows(x.dq + qoff, ldq, dqa, Dp, rows, D, nullptr, true);
    }
  }
  store_rows(dk_dst, ldk, dka, Dp, g.T, D, nullptr, accumulate);
  store_rows(dv_dst, ldk, dva, Dp, g.T, D, nullptr, accumulate);
}

}  // namespace

ATT_TARGET void forward(const Geometry& g, float* out, float* lse, const float* q, const float* k, const float* v) {
  const int64_t ntk = (g.T + BK - 1) / BK, Tpad = ntk * BK, Dp = (g.D + W - 1) / W * W;
  Prepared pr = prepare(g, ntk, Tpad, BK);
  FwdShared x{&g, q, k, v, out, lse, pr.segp, pr.kmin, pr.kmax, ntk, Tpad, Dp, next_call_id()};
  // Items are (batch, head, chunk); a chunk takes query tiles in pairs (p, nqt-1-p), which cost the
  // same under the causal mask, so items are equal and a head splits into chunks only when there are
  // too few heads to keep every thread busy. Items of one kv head are adjacent (query heads h of one
  // kv head are consecutive), so a thread's packed keys serve several items.
  const int64_t nqt = (g.T + BQ - 1) / BQ, npairs = (nqt + 1) / 2;
  const int64_t nchunk = chunks_for_balance(g.B * g.H, npairs);
  const size_t kv_floats = ntk * g.D * BK + Tpad * Dp;
  const size_t per_thread = kv_floats + 2 * BQ * Dp + BQ * BK + BQ * W + 2 * BQ;
  run_items(g.B * g.H * nchunk, [&](int64_t it) {
    static thread_local KvPack kv;
    const int64_t c = it % nchunk, bh = it / nchunk, b = bh / g.H, h = bh % g.H;
    float* kt = scratch_thread(per_thread);
    float* vp = kt + ntk * g.D * BK;
    float* tile = kt + kv_floats;
    for (int64_t p = c; p < npairs; p += nchunk) {
      forward_tile(x, b, h, p, kv, kt, vp, tile);
      if (nqt - 1 - p != p) forward_tile(x, b, h, nqt - 1 - p, kv, kt, vp, tile);
    }
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
