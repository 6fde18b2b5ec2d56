// Checkpointing schedules for reverse mode through long loops (stage/cps/checkpoint.py stages the
// recursion; these two integer functions are its schedule). Griewank's binomial checkpointing
// ("revolve", Griewank & Walther, ACM TOMS 26(1), 2000): with s stored states (the segment's start
// included) and every step recomputed at most r times, beta(s, r) = C(s + r, s) steps can be
// reversed, and reversing n steps costs the fewest forward steps when the first checkpoint is placed
// at the split below. Both are bit-for-bit the NumPy references of stage/ir/ops/checkpoint.py.
#pragma once
#include <algorithm>
#include <cstdint>

namespace stage {

// Saturates here: no loop is that long, and beta(s, r) * (s + r + 1) stays in range.
constexpr int64_t CHECKPOINT_CAP = int64_t(1) << 62;

// beta(s, r) = C(s + r, s), saturating at CHECKPOINT_CAP; 0 for r < 0 or s < 0.
inline int64_t checkpoint_capacity(int64_t s, int64_t r) {
  if (s < 0 || r < 0) return 0;
  int64_t b = 1;                                     // beta(s, i) = beta(s, i - 1) * (s + i) / i
  for (int64_t i = 1; i <= r; ++i) {
    if (b > CHECKPOINT_CAP / (s + i)) return CHECKPOINT_CAP;
    b = b * (s + i) / i;
  }
  return b;
}

// Where to place the next checkpoint when reversing n steps from a stored state with s states
// (the start's included): m in [1, n) such that m forward steps, the reversal of the n - m steps
// after them with s - 1 states, then of the first m with s states, take the fewest forward steps
// (r * n - beta(s + 1, r - 1) in all, r the smallest with beta(s, r) >= n). Any m with
// beta(s, r - 2) <= m <= beta(s, r - 1) and beta(s - 1, r - 1) <= n - m <= beta(s - 1, r) is optimal;
// this is the largest. One state: recompute from the start (m = n - 1). n < 2 gives 0.
inline int64_t checkpoint_split(int64_t n, int64_t s) {
  if (n < 2) return 0;
  if (s <= 1) return n - 1;
  int64_t r = 0, b = 1, b1 = 0, b2 = 0;              // b = beta(s, r), b1 = beta(s, r - 1), b2 = ..r - 2
  while (b < n) {
    ++r;
    b2 = b1;
    b1 = b;
    b = b > CHECKPOINT_CAP / (s + r) ? CHECKPOINT_CAP : b * (s + r) / r;
  }
  // beta(s - 1, r) = b - b1 and beta(s - 1, r - 1) = b1 - b2 (Pascal's rule)
  int64_t lo = std::max<int64_t>(std::max<int64_t>(1, b2), n - (b - b1));
  int64_t hi = std::min<int64_t>(b1, n - (b1 - b2));
  return std::min<int64_t>(std::max<int64_t>(hi, lo), n - 1);
}

}  // namespace stage
