// bitsandbytes' NF4 with double quantization across threads (--base-quant nf4). Spec:
// src/formats/nf4.ts quantizeNf4, byte for byte. The 64-value blocks run in parallel (SIMD where a
// block's values are finite: then every step is one correctly rounded f32 operation); the absmax mean
// is the spec's sequential f64 sum, and the nested quantization of the absmax values runs the scalar path.
#include <cmath>
#include <vector>
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#include "kernels/quantize_js.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace {

using quant::js_max;
using quant::js_min;

constexpr int64_t kBlock = 64, kAbsmaxBlock = 256;
// get_4bit_type('nf4'), as formats/nf4.ts NF4_TABLE.
constexpr float kNf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};

// Midpoints of neighbouring codes, f32(f32(a + b) / 2): what torch.bucketize compares against.
std::vector<float> midpoints(const float* code, int n) {
  std::vector<float> out(n - 1);
  for (int i = 0; i + 1 < n; ++i) out[i] = static_cast<float>(code[i] + code[i + 1]) / 2.0f;
  return out;
}

// torch.bucketize(v, bounds): how many bounds lie strictly below v (NaN: none).
inline uint8_t bucket(const float* bounds, int nb, double v) {
  int lo = 0, hi = nb;
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (bounds[mid] < v) lo = mid + 1; else hi = mid;
  }
  return static_cast<uint8_t>(lo);
}

// The spec's quantizeBlockwise for one block x[0:len] (short: divide, as a short last block does).
// Writes codes[0:len], returns the block's absmax.
float block_scalar(const float* x, int64_t len, bool short_block, const float* bounds, int nbounds, uint8_t* codes) {
  double m = 0;
  for (int64_t i = 0; i < len; ++i) m = js_max(m, std::fabs(static_cast<double>(x[i])));
  const float am = static_cast<float>(js_max(m, 1e-38));
  const float inv = static_cast<float>(1.0 / static_cast<double>(am));
  for (int64_t i = 0; i < len; ++i) {
    const float s = short_block ? static_cast<float>(static_cast<double>(x[i]) / am) : static_cast<float>(static_cast<double>(x[i]) * inv);
    codes[i] = bucket(bounds, nbounds, js_min(1, js_max(-1, s)));
  }
  return static_cast<float>(m);
}

// One whole NF4 block: codes packed two a byte (first high) into q[0:32]; returns the absmax.
using Nf4BlockFn = float (*)(uint8_t* q, const float* x, const float* bounds);

float nf4_block_scalar(uint8_t* q, const float* x, const float* bounds) {
  uint8_t codes[kBlock];
  const float absmax = block_scalar(x, kBlock, false, bounds, 15, codes);
  for (int i = 0; i < kBlock / 2; ++i) q[i] = static_cast<uint8_t>((codes[2 * i] << 4) | codes[2 * i + 1]);
  return absmax;
}

// The scale the spec uses for a block of absmax m (finite): f32(1 / f32(max(m, 1e-38))).
inline float block_inverse(float m) {
  const float am = static_cast<double>(m) < 1e-38 ? static_cast<float>(1e-38) : m;
  return 1.0f / am;
}

#if GPTUNE_X86
GPTUNE_AVX512 float nf4_block_avx512(uint8_t* q, const float* x, const float* bounds) {
  __m512 xs[4], amax = _mm512_setzero_ps();
  const __m512 inf = _mm512_set1_ps(INFINITY);
  __mmask16 finite = 0xffff;
  for (int h = 0; h < 4; ++h) {
    xs[h] = _mm512_loadu_ps(x + 16 * h);
    const __m512 a = _mm512_abs_ps(xs[h]);
    finite &= _mm512_cmp_ps_mask(a, inf, _CMP_LT_OQ);
    amax = _mm512_max_ps(amax, a);
  }
  if (finite != 0xffff) return nf4_block_scalar(q, x, bounds);
  const float m = _mm512_reduce_max_ps(amax);
  const __m512 inv = _mm512_set1_ps(block_inverse(m)), lo = _mm512_set1_ps(-1.0f), hi = _mm512_set1_ps(1.0f);
  alignas(16) float tab_f[16];
  for (int i = 0; i < 15; ++i) tab_f[i] = bounds[i];
  tab_f[15] = INFINITY;
  const __m512 tab = _mm512_loadu_ps(tab_f);
  const __m128i weights = _mm_set1_epi16(0x0110);  // (first << 4) + second, per byte pair
  __m128i pairs[4];
  for (int h = 0; h < 4; ++h) {
    const __m512 s = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(xs[h], inv), lo), hi);
    // Branchless lower bound over the 15 sorted bounds: 4 probes.
    __m512i idx = _mm512_setzero_si512();
    for (int step = 8; step >= 1; step >>= 1) {
      const __m512 probe = _mm512_permutexvar_ps(_mm512_add_epi32(idx, _mm512_set1_epi32(step - 1)), tab);
      idx = _mm512_mask_add_epi32(idx, _mm512_cmp_ps_mask(probe, s, _CMP_LT_OQ), idx, _mm512_set1_epi32(step));
    }
    pairs[h] = _mm_maddubs_epi16(_mm512_cvtepi32_epi8(idx), weights);  // 8 packed bytes as int16
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm_packus_epi16(pairs[0], pairs[1]));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm_packus_epi16(pairs[2], pairs[3]));
  return m;
}

GPTUNE_AVX2 float nf4_block_avx2(uint8_t* q, const float* x, const float* bounds) {
  const __m256 sign = _mm256_set1_ps(-0.0f), inf = _mm256_set1_ps(INFINITY);
  __m256 xs[8], amax = _mm256_setzero_ps();
  int finite = 0xff;
  for (int h = 0; h < 8; ++h) {
    xs[h] = _mm256_loadu_ps(x + 8 * h);
    const __m256 a = _mm256_andnot_ps(sign, xs[h]);
    finite &= _mm256_movemask_ps(_mm256_cmp_ps(a, inf, _CMP_LT_OQ));
    amax = _mm256_max_ps(amax, a);
  }
  if (finite != 0xff) return nf4_block_scalar(q, x, bounds);
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  const float m = _mm_cvtss_f32(_mm_max_ss(r, _mm_shuffle_ps(r, r, 1)));
  const __m256 inv = _mm256_set1_ps(block_inverse(m)), lo = _mm256_set1_ps(-1.0f), hi = _mm256_set1_ps(1.0f);
  const __m256i weights = _mm256_set1_epi32(0x00010010);  // (first << 4) + second, per int16 pair
  __m256i packed[4];
  for (int h = 0; h < 8; h += 2) {
    __m256i c[2];
    for (int e = 0; e < 2; ++e) {
      const __m256 s = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(xs[h + e], inv), lo), hi);
      __m256i cnt = _mm256_setzero_si256();
      for (int b = 0; b < 15; ++b) cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(_mm256_cmp_ps(_mm256_set1_ps(bounds[b]), s, _CMP_LT_OQ)));
      c[e] = cnt;
    }
    const __m256i c16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(c[0], c[1]), 0xD8);  // 16 codes in order
    packed[h / 2] = _mm256_madd_epi16(c16, weights);                                  // 8 bytes as int32
  }
  const __m256i a = _mm256_permute4x64_epi64(_mm256_packs_epi32(packed[0], packed[1]), 0xD8);
  const __m256i b = _mm256_permute4x64_epi64(_mm256_packs_epi32(packed[2], packed[3]), 0xD8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xD8));
  return m;
}
#endif

Nf4BlockFn block_fn() {
#if GPTUNE_X86
  switch (cpu_isa()) {
    case ISA_AVX512: return nf4_block_avx512;
    case ISA_AVX2: return nf4_block_avx2;
    default: break;
  }
#endif
  return nf4_block_scalar;
}

}  // namespace

GPTUNE_KERNEL(quantizeNf4) {
  const int64_t n = args.dim(4, "n");
  if (n % kBlock != 0 || n == 0) args.fail("n", std::to_string(n) + " values is not a whole number of 64-value NF4 blocks");
  const int64_t nb = n / kBlock, ng = (nb + kAbsmaxBlock - 1) / kAbsmaxBlock;
  uint8_t* blocks = args.u8(0, "blocks", n / 2);        // [n/2] two codes a byte, the first high
  uint8_t* codes = args.u8(1, "absmaxCodes", nb);        // [n/64] codes into code8
  float* absmax2 = args.f32(2, "absmax2", ng);           // [ceil(n/64/256)] their scales
  const float* x = args.f32(3, "x", n);                  // [n]
  const float* code8 = args.f32(5, "code8", 256);        // the signed dynamic map (formats/nf4.ts DYNAMIC_MAP)
  const std::vector<float> nf4_bounds = midpoints(kNf4, 16), dyn_bounds = midpoints(code8, 256);
  std::vector<float> absmax(nb);  // [n/64]
  const Nf4BlockFn fn = block_fn();
  parallel_for(nb, 256, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) absmax[b] = fn(blocks + b * (kBlock / 2), x + b * kBlock, nf4_bounds.data());
  });
  // Double quantization: absmax less its mean (the spec's f64 sum in order), in blocks of 256.
  double sum = 0;
  for (int64_t b = 0; b < nb; ++b) sum += absmax[b];
  const float offset = static_cast<float>(sum / static_cast<double>(nb));
  for (int64_t b = 0; b < nb; ++b) absmax[b] = absmax[b] - offset;
  parallel_for(ng, 64, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t lo = g * kAbsmaxBlock, len = std::min(kAbsmaxBlock, nb - lo);
      absmax2[g] = block_scalar(absmax.data() + lo, len, len < kAbsmaxBlock, dyn_bounds.data(), 255, codes + lo);
    }
  });
  result = args.make_number(offset);
}

}  // namespace gptune
