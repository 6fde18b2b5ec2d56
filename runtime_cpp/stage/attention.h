// Fused scaled dot-product attention (the ops `attention` and `attention_grad` of
// stage/ir/ops/attention.py). Arrays are contiguous: q (B, L, E), k (B, S, E), v (B, S, Ev), B the
// product of the batch dimensions. Both passes work on one block of ATTENTION_ROWS query rows at a
// time: its scores against the keys it may attend (all S, or the first i+1 under the causal mask)
// are a (rows, S) scratch block in the arena, softmaxed in place and applied -- the (B, L, S) scores
// are never written, and the backward pass recomputes each block's probabilities from q and k
// instead of keeping them.
#pragma once

namespace stage {

struct AttentionShape {
  int64_t B, L, S, E, Ev;
  bool causal;
  double scale;
};

// Query rows per block: enough rows for the products to be BLAS-sized, few enough for a block of
// scores (rows x S) to stay in L2 at the context lengths of small Transformers.
constexpr int64_t ATTENTION_ROWS = 64;

inline int64_t attention_blocks(const AttentionShape& s) {
  return (s.L + ATTENTION_ROWS - 1) / ATTENTION_ROWS;
}

// The keys query rows [i0, i0 + m) attend between them
inline int64_t attention_keys(const AttentionShape& s, int64_t i0, int64_t m) {
  return s.causal ? std::min(s.S, i0 + m) : s.S;
}

// P (m, n) = softmax(scale * q[i0:i0+m] k[:n]^T) row by row, zero where the causal mask hides a key
template <class T>
inline void attention_probs(const AttentionShape& s, const T* q, const T* k, int64_t i0, int64_t m,
                            int64_t n, T* P) {
  matmul<T>(false, true, m, n, s.E, q + i0 * s.E, s.E, k, s.E, T(0), P, n);
  const T scale = T(s.scale);
  for (int64_t r = 0; r < m; ++r) {
    T* p = P + r * n;
    const int64_t seen = s.causal ? std::min(n, i0 + r + 1) : n;   // >= 1: key 0 is always seen
    T top = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < seen; ++j) top = std::max(top, p[j] * scale);
    T sum = T(0);
    for (int64_t j = 0; j < seen; ++j) {
      p[j] = std::exp(p[j] * scale - top);
      sum += p[j];
    }
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < seen; ++j) p[j] *= inv;
    for (int64_t j = seen; j < n; ++j) p[j] = T(0);
  }
}

// out (B, L, Ev) = softmax(scale * q k^T) v: the blocks of all batch entries are independent parts
template <class T>
inline void attention(const AttentionShape& s, const T* q, const T* k, const T* v, T* out) {
  const int64_t nb = attention_blocks(s);
  const int64_t rows = std::min(ATTENTION_ROWS, s.L);
  parallel_for(s.B * nb, grain_for(double(rows) * s.S * (s.E + s.Ev)), [&](int64_t t0, int64_t t1) {
    Frame scratch(sizeof(T) * rows * s.S);
    T* P = (T*)scratch.base;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / nb, i0 = (t % nb) * ATTENTION_ROWS;
      const int64_t m = std::min(ATTENTION_ROWS, s.L - i0), n = attention_keys(s, i0, m);
      attention_probs(s, q + b * s.L * s.E, k + b * s.S * s.E, i0, m, n, P);
      matmul<T>(false, false, m, s.Ev, n, P, n, v + b * s.S * s.Ev, s.Ev, T(0),
                out + (b * s.L + i0) * s.Ev, s.Ev);
    }
  });
}

// The cotangents of q, k, v for the cotangent g (B, L, Ev) of the output, packed per batch entry
// as [dq (L, E) | dk (S, E) | dv (S, Ev)]. With P a block's probabilities: dv += P^T g,
// dP = g v^T, dS = P (dP - rowsum(P dP)) * scale, dq = dS k, dk += dS^T q. dk and dv sum over the
// blocks of one batch entry in order, so batch entries are the parts (the same sums for any number
// of threads).
template <class T>
inline void attention_grad(const AttentionShape& s, const T* q, const T* k, const T* v, const T* g,
                           T* packed) {
  const int64_t per = s.L * s.E + s.S * s.E + s.S * s.Ev;
  const int64_t rows = std::min(ATTENTION_ROWS, s.L);
  parallel_for(s.B, grain_for(2.0 * s.L * s.S * (s.E + s.Ev)), [&](int64_t b0, int64_t b1) {
    Frame scratch(sizeof(T) * 2 * rows * s.S);
    T* P = (T*)scratch.base;
    T* dP = P + rows * s.S;
    const T scale = T(s.scale);
    for (int64_t b = b0; b < b1; ++b) {
      const T *qb = q + b * s.L * s.E, *kb = k + b * s.S * s.E, *vb = v + b * s.S * s.Ev;
      T* dq = packed + b * per;
      T* dk = dq + s.L * s.E;
      T* dv = dk + s.S * s.E;
      std::fill(dk, dk + s.S * (s.E + s.Ev), T(0));           // dk and dv are adjacent
      for (int64_t i0 = 0; i0 < s.L; i0 += ATTENTION_ROWS) {
        const int64_t m = std::min(ATTENTION_ROWS, s.L - i0), n = attention_keys(s, i0, m);
        const T* gb = g + (b * s.L + i0) * s.Ev;
        attention_probs(s, qb, kb, i0, m, n, P);
        matmul<T>(true, false, n, s.Ev, m, P, n, gb, s.Ev, T(1), dv, s.Ev);
        matmul<T>(false, true, m, n, s.Ev, gb, s.Ev, vb, s.Ev, T(0), dP, n);
        for (int64_t r = 0; r < m; ++r) {
          const T* p = P + r * n;
          T* d = dP + r * n;
          T dot = T(0);
          for (int64_t j = 0; j < n; ++j) dot += p[j] * d[j];
          for (int64_t j = 0; j < n; ++j) d[j] = p[j] * (d[j] - dot) * scale;
        }
        matmul<T>(false, false, m, s.E, n, dP, n, kb, s.E, T(0), dq + i0 * s.E, s.E);
        matmul<T>(true, false, n, s.E, m, dP, n, qb + i0 * s.E, s.E, T(1), dk, s.E);
      }
    }
  });
}

}  // namespace stage
