// Counter-based random numbers, called by the ops of stage/ir/ops/random.py.
#pragma once

namespace stage {
// Counter-based: element i of a draw is a pure function of (seed, counter, stream, i), so the native
// code, the NumPy reference and any thread split all produce the same bits.

inline uint64_t mix64(uint64_t z) {      // the splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t random_key(int64_t seed, int64_t counter, int64_t stream) {
  return mix64(mix64(mix64((uint64_t)seed) + (uint64_t)counter) + (uint64_t)stream);
}

// uniform in [0, 1): the top 24 (float) or 53 (double) bits, scaled exactly
template <class T>
inline void random_uniform(int64_t seed, int64_t counter, int64_t stream, T* out, int64_t n) {
  const uint64_t key = random_key(seed, counter, stream);
  parallel_for(n, grain_for(8), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const uint64_t bits = mix64(key + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
      if (sizeof(T) == 4) out[i] = T(bits >> 40) * T(1.0 / 16777216.0);
      else out[i] = T(bits >> 11) * T(1.0 / 9007199254740992.0);
    }
  });
}

}  // namespace stage
