// Inverted dropout with the counter-based mask of src/backend/dropout_hash.ts (its C++ twin is
// dropout_hash below): element i is kept iff hash(seed, offset + i) >= p * 2^32, so backward recomputes the mask.
#include <cmath>
#include <cstdint>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

// murmur3's fmix32 of (seed ^ i * golden ratio); bit-identical to dropoutHash in dropout_hash.ts.
inline uint32_t dropout_hash(uint32_t seed, uint32_t i) {
  uint32_t h = seed ^ (i * 0x9e3779b9u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

struct Mask {
  uint32_t seed;
  uint32_t offset;     // index of element 0 in the whole batch (an MPI rank's rows), mod 2^32
  uint32_t threshold;  // kept iff hash >= threshold (hashes are integers, so ceil(p * 2^32) is exact)
  bool none_kept;      // the threshold is 2^32: nothing is kept (p = 1, or p within 2^-32 of it)
  float scale;
};

Mask make_mask(Args& args, int p_index, int seed_index, int offset_index) {
  double p = args.number(p_index, "p");
  if (!(p >= 0.0 && p <= 1.0)) args.fail("p", "must be in [0, 1], got " + std::to_string(p));
  // seed ^ ... in JS converts the seed to int32, i.e. modulo 2^32
  uint32_t seed = static_cast<uint32_t>(static_cast<uint64_t>(args.integer(seed_index, "seed")));
  double t = std::ceil(p * 4294967296.0);
  Mask m;
  m.seed = seed;
  m.offset = static_cast<uint32_t>(static_cast<uint64_t>(args.integer(offset_index, "offset")));
  m.none_kept = t > 4294967295.0;
  m.threshold = m.none_kept ? 0u : static_cast<uint32_t>(t);
  m.scale = static_cast<float>(1.0 / (1.0 - p));
  return m;
}

constexpr int64_t kGrain = 1 << 14;

}  // namespace

GPTUNE_KERNEL(dropoutForward) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);
  const float* x = args.f32(1, "x", n);
  const Mask mk = make_mask(args, 3, 4, 5);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    if (mk.none_kept) { for (int64_t i = s; i < e; ++i) out[i] = 0.f; return; }
    dispatch_isa([&](auto) {  // the hash loop auto-vectorises per ISA (vpmulld, shifts, a compare mask)
      const uint32_t seed = mk.seed, threshold = mk.threshold, offset = mk.offset;  // locals: a float store cannot alias them
      const float scale = mk.scale;
      for (int64_t i = s; i < e; ++i) {
        const float kept = x[i] * scale;  // unconditional load and multiply, then a select: vectorises
        out[i] = dropout_hash(seed, offset + static_cast<uint32_t>(i)) >= threshold ? kept : 0.f;
      }
    });
  });
}

GPTUNE_KERNEL(dropoutBackward) {
  int64_t n = args.dim(2, "n");
  float* dx = args.f32(0, "dx", n);
  const float* dout = args.f32(1, "dout", n);
  const Mask mk = make_mask(args, 3, 4, 5);
  if (mk.none_kept) return;
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto) {
      const uint32_t seed = mk.seed, threshold = mk.threshold, offset = mk.offset;
      const float scale = mk.scale;
      for (int64_t i = s; i < e; ++i) {
        const float kept = dout[i] * scale;
        dx[i] += dropout_hash(seed, offset + static_cast<uint32_t>(i)) >= threshold ? kept : 0.f;
      }
    });
  });
}

}  // namespace gptune
