// Fused scaled dot-product attention (causal, grouped-query, packed-segment masks), forward and
// backward, flash-attention style: tiles of queries x keys with an online softmax, never a [T,T]
// matrix. The SIMD tiles live in attention_isa.inl (compiled for AVX-512 and AVX2+FMA); the scalar
// path below is the plain per-row version. src/backend/reference/attention.ts is the spec.
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace attn {

// The problem, as the kernels see it: q, out [B,T,H,D]; k, v [B,T,KVH,D]; seg [B,T] or null.
struct Geometry {
  int64_t B, T, H, KVH, D;
  float scale;
  bool causal;
  const int32_t* seg;
  int64_t window;  // 0, or query t sees keys s > t - window (sliding-window layers)
};

namespace {

// 64-byte aligned float scratch, grown on demand and kept between calls (a fresh multi-MB buffer
// per call would page-fault on every first touch).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t need) {
    if (need > n) {
      std::free(p);
      size_t bytes = (std::max<size_t>(need, 16) * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      n = need;
    }
    return p;
  }
};
// Buffers shared by all threads of one call (owned by the calling thread).
float* scratch_main(int slot, size_t n) {
  static thread_local Scratch s[2];
  return s[slot].get(n);
}
// One pool thread's private tile buffers.
float* scratch_thread(size_t n) {
  static thread_local Scratch s;
  return s.get(n);
}

// Segments padded to whole key tiles, and the [min, max] segment id of each key tile, so that a
// query tile can skip key tiles whose ids it cannot share (exact for any order of ids).
struct Prepared { const int32_t* segp; const int32_t* kmin; const int32_t* kmax; };
Prepared prepare(const Geometry& g, int64_t ntk, int64_t Tpad, int64_t BK) {
  if (!g.seg) return {nullptr, nullptr, nullptr};
  static thread_local std::vector<int32_t> buf;
  buf.resize(g.B * Tpad + 2 * g.B * ntk);
  int32_t* segp = buf.data();           // [B, Tpad]
  int32_t* kmin = segp + g.B * Tpad;    // [B, ntk]
  int32_t* kmax = kmin + g.B * ntk;     // [B, ntk]
  for (int64_t b = 0; b < g.B; ++b) {
    const int32_t* s = g.seg + b * g.T;
    int32_t* d = segp + b * Tpad;
    std::memcpy(d, s, g.T * sizeof(int32_t));
    for (int64_t t = g.T; t < Tpad; ++t) d[t] = s[g.T - 1];  // never visible: keys >= T are masked
    for (int64_t j = 0; j < ntk; ++j) {
      int64_t s0 = j * BK, s1 = std::min<int64_t>(g.T, s0 + BK);
      int32_t lo = d[s0], hi = d[s0];
      for (int64_t t = s0 + 1; t < s1; ++t) { lo = std::min(lo, d[t]); hi = std::max(hi, d[t]); }
      kmin[b * ntk + j] = lo;
      kmax[b * ntk + j] = hi;
    }
  }
  return {segp, kmin, kmax};
}

// A fresh id per forward call (the per-thread packed keys of one call are stale in the next).
uint64_t next_call_id() {
  static std::atomic<uint64_t> id{0};
  return id.fetch_add(1, std::memory_order_relaxed) + 1;
}

// The fraction of thread time doing work when n equal items run on the pool's threads.
double balance(int64_t n) {
  const int64_t nt = num_threads();
  return double(n) / double(nt * ((n + nt - 1) / nt));
}

// How many chunks to cut each of `items` equal items into (up to max_chunks) so threads stay busy.
int64_t chunks_for_balance(int64_t items, int64_t max_chunks) {
  int64_t c = 1;
  while (c < max_chunks && balance(items * c) < 0.9) c = std::min(max_chunks, c * 2);
  return c;
}

// Dynamic schedule: threads take items 0, 1, 2, ... from a shared counter.
template <typename F>
void run_items(int64_t n, F&& f) {
  std::atomic<int64_t> next{0};
  int nt = static_cast<int>(std::min<int64_t>(num_threads(), n));
  parallel_threads([&](int, int) {
    for (int64_t it; (it = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(it);
  }, nt);
}

// The backward parallelises over (batch, kv head): a work item owns its kv head's dk/dv and its
// query heads' dq, so no two threads write the same row and sums run in a fixed order (run-to-run
// identical results, no atomics). Inside an item the loop is query tile (outer) x key tile (inner):
// dk/dv of the whole head accumulate in [T, D] buffers that stay in L2 (256 KB each for GPT-2), dq of
// one query tile in L1, and keys/values are packed once per item. The alternatives cost more: items
// per key tile (FlashAttention-2's GPU split) make dq a cross-thread sum (atomics or per-thread
// [B,T,H,D] copies plus a reduction), and a separate dq pass recomputes P and dP (7 matmuls instead
// of 5). When there are too few kv heads to keep every thread busy (B*KVH = 3 on 2 threads), a kv
// head's query heads are split across items that write private dk/dv slabs, summed in a fixed order
// afterwards. fn(b, kh, h0, h1, dk, dv, ld, acc) processes query heads [h0, h1) and adds (acc) or
// stores its dk/dv rows at row stride ld.
template <typename F>
void backward_schedule(const Geometry& g, F&& fn, float* dk, float* dv) {
  const int64_t group = g.H / g.KVH;
  int64_t split = 1;
  for (int64_t s = 2; s <= group; ++s)
    if (group % s == 0 && balance(g.B * g.KVH * s) > balance(g.B * g.KVH * split) + 0.05) split = s;
  const int64_t ld = g.KVH * g.D;
  if (split == 1) {
    run_items(g.B * g.KVH, [&](int64_t it) {
      int64_t b = it / g.KVH, kh = it % g.KVH;
      int64_t off = b * g.T * ld + kh * g.D;
      fn(b, kh, kh * group, (kh + 1) * group, dk + off, dv + off, ld, true);
    });
    return;
  }
  const int64_t per = group / split, slab = g.T * g.D;
  float* sk = scratch_main(0, g.B * g.KVH * split * slab);  // [B, KVH, split, T, D]
  float* sv = scratch_main(1, g.B * g.KVH * split * slab);
  run_items(g.B * g.KVH * split, [&](int64_t it) {
    int64_t s = it % split, bk = it / split, kh = bk % g.KVH;
    fn(bk / g.KVH, kh, kh * group + s * per, kh * group + (s + 1) * per, sk + it * slab, sv + it * slab, g.D, false);
  });
  parallel_for(g.B * g.KVH * g.T, 64, [&](int64_t beg, int64_t end) {
    for (int64_t r = beg; r < end; ++r) {
      int64_t t = r % g.T, bk = r / g.T, b = bk / g.KVH, kh = bk % g.KVH;
      float* dkr = dk + (b * g.T + t) * ld + kh * g.D;
      float* dvr = dv + (b * g.T + t) * ld + kh * g.D;
      for (int64_t s = 0; s < split; ++s) {
        const float* a = sk + ((bk * split + s) * g.T + t) * g.D;
        const float* c = sv + ((bk * split + s) * g.T + t) * g.D;
        for (int64_t d = 0; d < g.D; ++d) { dkr[d] += a[d]; dvr[d] += c[d]; }
      }
    }
  });
}

// ---- scalar path: the reference algorithm in float, one query row at a time ----

inline bool visible(const Geometry& g, int64_t b, int64_t t, int64_t s) {
  if (g.causal && s > t) return false;
  if (g.window > 0 && t - s >= g.window) return false;
  return !g.seg || g.seg[b * g.T + s] == g.seg[b * g.T + t];
}

void forward_scalar(const Geometry& g, float* out, float* lse, const float* q, const float* k, const float* v) {
  const int64_t group = g.H / g.KVH, D = g.D;
  parallel_for(g.B * g.H * g.T, 16, [&](int64_t beg, int64_t end) {
    std::vector<float> acc(D);  // (D,) unnormalised output row
    for (int64_t it = beg; it < end; ++it) {
      int64_t t = it % g.T, h = (it / g.T) % g.H, b = it / (g.T * g.H), kh = h / group;
      const float* qr = q + ((b * g.T + t) * g.H + h) * D;
      float m = -INFINITY, l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      int64_t send = g.causal ? t + 1 : g.T;
      int64_t s0 = g.window > 0 ? std::max<int64_t>(0, t - g.window + 1) : 0;
      for (int64_t s = s0; s < send; ++s) {
        if (!visible(g, b, t, s)) continue;
        const float* kr = k + ((b * g.T + s) * g.KVH + kh) * D;
        const float* vr = v + ((b * g.T + s) * g.KVH + kh) * D;
        float dot = 0.0f;
        for (int64_t d = 0; d < D; ++d) dot += qr[d] * kr[d];
        float sc = dot * g.scale;
        if (sc > m) {  // online softmax: rescale what was summed under the old max
          float a = std::exp(m - sc);
          l *= a;
          for (int64_t d = 0; d < D; ++d) acc[d] *= a;
          m = sc;
        }
        float p = std::exp(sc - m);
        l += p;
        for (int64_t d = 0; d < D; ++d) acc[d] += p * vr[d];
      }
      float* o = out + ((b * g.T + t) * g.H + h) * D;
      for (int64_t d = 0; d < D; ++d) o[d] = l == 0.0f ? 0.0f : acc[d] / l;  // no key: 0 (NaN stays NaN)
      lse[(b * g.H + h) * g.T + t] = l == 0.0f ? -INFINITY : m + std::log(l);
    }
  });
}

// Items are (batch, kv head): each owns its dk/dv rows and its query heads' dq rows.
void backward_scalar(const Geometry& g, float* dq, float* dk, float* dv, const float* dout, const float* q,
    const float* k, const float* v, const float* out, const float* lse) {
  const int64_t group = g.H / g.KVH, D = g.D;
  parallel_for(g.B * g.KVH, 1, [&](int64_t beg, int64_t end) {
    std::vector<float> dqr(D);  // (D,) one query's gradient
    for (int64_t it = beg; it < end; ++it) {
      int64_t b = it / g.KVH, kh = it % g.KVH;
      for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
        for (int64_t t = 0; t < g.T; ++t) {
          float m = lse[(b * g.H + h) * g.T + t];
          if (m == -INFINITY) continue;  // saw no key: no gradient
          int64_t qo = ((b * g.T + t) * g.H + h) * D;
          float Dt = 0.0f;
          for (int64_t d = 0; d < D; ++d) Dt += dout[qo + d] * out[qo + d];
          std::fill(dqr.begin(), dqr.end(), 0.0f);
          int64_t send = g.causal ? t + 1 : g.T;
          int64_t s0 = g.window > 0 ? std::max<int64_t>(0, t - g.window + 1) : 0;
          for (int64_t s = s0; s < send; ++s) {
            if (!visible(g, b, t, s)) continue;
            int64_t ko = ((b * g.T + s) * g.KVH + kh) * D;
            float dot = 0.0f, dp = 0.0f;
            for (int64_t d = 0; d < D; ++d) { dot += q[qo + d] * k[ko + d]; dp += dout[qo + d] * v[ko + d]; }
            float p = std::exp(dot * g.scale - m);
            float ds = p * (dp - Dt) * g.scale;
            for (int64_t d = 0; d < D; ++d) {
              dqr[d] += ds * k[ko + d];
              dk[ko + d] += ds * q[qo + d];
              dv[ko + d] += p * dout[qo + d];
            }
          }
          for (int64_t d = 0; d < D; ++d) dq[qo + d] += dqr[d];
        }
      }
    }
  });
}

}  // namespace
}  // namespace attn

#if GPTUNE_X86
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps (GCC PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
namespace attn {
#define ATT_NS avx512
#define ATT_TARGET GPTUNE_AVX512
#define ATT_AVX512 1
#include "attention_isa.inl"
#undef ATT_NS
#undef ATT_TARGET
#undef ATT_AVX512
#undef ATT_CAST128
#define ATT_NS avx2
#define ATT_TARGET GPTUNE_AVX2
#define ATT_AVX512 0
#include "attention_isa.inl"
#undef ATT_NS
#undef ATT_TARGET
#undef ATT_AVX512
#undef ATT_CAST128
}  // namespace attn
#pragma GCC diagnostic pop
#endif

namespace {

// Reads the dimensions shared by both kernels (starting at argument `first`) and checks them.
attn::Geometry read_geometry(Args& args, size_t first) {
  attn::Geometry g{};
  g.B = args.dim(first, "batch");
  g.T = args.dim(first + 1, "seqLen");
  g.H = args.dim(first + 2, "heads");
  g.KVH = args.dim(first + 3, "kvHeads");
  g.D = args.dim(first + 4, "headDim");
  g.scale = static_cast<float>(args.number(first + 5, "scale"));
  g.causal = args.flag(first + 6, "causal");
  if (g.KVH < 1 || g.H % g.KVH != 0)
    args.fail("heads", "(" + std::to_string(g.H) + ") must be a multiple of kvHeads (" + std::to_string(g.KVH) + ")");
  if (g.T >= (int64_t(1) << 30)) args.fail("seqLen", "must be below 2^30");  // SIMD key indices are int32
  g.seg = args.i32(first + 7, "segments", static_cast<size_t>(g.B * g.T), true);
  g.window = args.dim(first + 8, "window");
  return g;
}

}  // namespace

GPTUNE_KERNEL(attentionForward) {
  attn::Geometry g = read_geometry(args, 5);
  const size_t nq = g.B * g.T * g.H * g.D, nkv = g.B * g.T * g.KVH * g.D;
  float* out = args.f32(0, "out", nq);
  float* lse = args.f32(1, "lse", g.B * g.H * g.T);
  const float* q = args.f32(2, "q", nq);
  const float* k = args.f32(3, "k", nkv);
  const float* v = args.f32(4, "v", nkv);
  if (g.B * g.T * g.H == 0) return;
#if GPTUNE_X86
  // The SIMD tiles know causal and segment masks only; a sliding window takes the scalar path.
  if (g.window == 0) switch (cpu_isa()) {
    case ISA_AVX512: return attn::avx512::forward(g, out, lse, q, k, v);
    case ISA_AVX2: return attn::avx2::forward(g, out, lse, q, k, v);
    default: break;
  }
#endif
  attn::forward_scalar(g, out, lse, q, k, v);
}

GPTUNE_KERNEL(attentionBackward) {
  attn::Geometry g = read_geometry(args, 9);
  const size_t nq = g.B * g.T * g.H * g.D, nkv = g.B * g.T * g.KVH * g.D;
  float* dq = args.f32(0, "dq", nq);
  float* dk = args.f32(1, "dk", nkv);
  float* dv = args.f32(2, "dv", nkv);
  const float* dout = args.f32(3, "dout", nq);
  const float* q = args.f32(4, "q", nq);
  const float* k = args.f32(5, "k", nkv);
  const float* v = args.f32(6, "v", nkv);
  const float* out = args.f32(7, "out", nq);
  const float* lse = args.f32(8, "lse", g.B * g.H * g.T);
  if (g.B * g.T * g.H == 0) return;
#if GPTUNE_X86
  if (g.window == 0) switch (cpu_isa()) {
    case ISA_AVX512: return attn::avx512::backward(g, dq, dk, dv, dout, q, k, v, out, lse);
    case ISA_AVX2: return attn::avx2::backward(g, dq, dk, dv, dout, q, k, v, out, lse);
    default: break;
  }
#endif
  attn::backward_scalar(g, dq, dk, dv, dout, q, k, v, out, lse);
}

}  // namespace gptune
