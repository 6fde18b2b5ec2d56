// Kernels called by generated code: softmax family, losses, gathers and scatters (products: gemm.h).
// Elementwise chains and reductions are not here: codegen fuses them into loops in the generated code.
#pragma once
#include "gemm.h"   // BLAS products

namespace stage {

// ------------------------------------------------------------------------------------------ reductions

template <class T>
inline void argmax(const T* x, int64_t* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const T* p = x + o * n * inner + j;
      int64_t best = 0;
      for (int64_t i = 1; i < n && p[best * inner] == p[best * inner]; ++i)   // NaN wins, as in NumPy
        if (p[i * inner] > p[best * inner] || p[i * inner] != p[i * inner]) best = i;
      out[o * inner + j] = best;
    }
}

// ------------------------------------------------------------------------------------------ softmax

// Rows along a contiguous axis (inner == 1) are the common case and get vectorised loops; the
// general strided case keeps plain loops.
template <class T, bool LOG>
inline void softmax_impl(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  parallel_for(outer, grain_for(double(n) * inner * 8), [&](int64_t o0, int64_t o1) {
  for (int64_t o = o0; o < o1; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const T* p = x + o * n * inner + j;
      T* q = out + o * n * inner + j;
      T m = -std::numeric_limits<T>::infinity();
      T s = 0;
      if (inner == 1) {
#pragma omp simd reduction(max : m)
        for (int64_t i = 0; i < n; ++i) m = std::max(m, p[i]);
        if (LOG) {
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < n; ++i) s += stage::exp(p[i] - m);
          const T ls = m + std::log(s);
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) q[i] = p[i] - ls;
        } else {
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < n; ++i) { const T e = stage::exp(p[i] - m); q[i] = e; s += e; }
          const T r = T(1) / s;
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) q[i] *= r;
        }
        continue;
      }
      for (int64_t i = 0; i < n; ++i) m = std::max(m, p[i * inner]);
      for (int64_t i = 0; i < n; ++i) {
        const T e = stage::exp(p[i * inner] - m);
        if (!LOG) q[i * inner] = e;
        s += e;
      }
      if (LOG) {
        const T ls = m + std::log(s);
        for (int64_t i = 0; i < n; ++i) q[i * inner] = p[i * inner] - ls;
      } else {
        const T r = T(1) / s;
        for (int64_t i = 0; i < n; ++i) q[i * inner] *= r;
      }
    }
  });
}
template <class T> inline void softmax(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  softmax_impl<T, false>(x, out, outer, n, inner);
}
template <class T> inline void log_softmax(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  softmax_impl<T, true>(x, out, outer, n, inner);
}

// reduction: 0 mean, 1 sum, 2 none (as in the op table)
template <class T, class I>
inline void nll_loss(const T* logp, const I* target, T* out, int64_t N, int64_t C, int reduction,
                     int64_t ignore_index, const char* where) {
  T total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t t = (int64_t)target[i];
    T v = 0;
    if (t != ignore_index) {
      if (t < 0 || t >= C) fail(INDEX_ERROR, "nll_loss: target %lld is out of range for %lld classes (%s)", t, C, where);
      v = -logp[i * C + t];
      ++count;
    }
    if (reduction == 2) out[i] = v; else total += v;
  }
  if (reduction == 1) *out = total;
  if (reduction == 0) *out = total / T(count);
}

// Softmax cross-entropy works on blocks of rows: the row maxima, then one flat exp loop over the
// whole block, then the row sums. With few classes (26 characters, 10 digits) a per-row loop would
// spend its time in vector epilogues and horizontal reductions; the flat loop vectorises fully.
// (a NaN is not propagated by the maximum, but exp(NaN - m) makes the row's sum NaN all the same)
template <class T>
inline void row_max(const T* x, int64_t rows, int64_t C, T* m) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* p = x + i * C;
    T v = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : v)
    for (int64_t j = 0; j < C; ++j) v = std::max(v, p[j]);
    m[i] = v;
  }
}

// e = exp(x - rowmax) for a block of rows, and the row sums
template <class T>
inline void block_exp(const T* x, int64_t rows, int64_t C, const T* m, T* e, T* sums) {
  for (int64_t i = 0; i < rows; ++i) {
    const T mi = m[i];
    const T* p = x + i * C;
    T* q = e + i * C;
#pragma omp simd
    for (int64_t j = 0; j < C; ++j) q[j] = p[j] - mi;
  }
#pragma omp simd
  for (int64_t k = 0; k < rows * C; ++k) e[k] = stage::exp(e[k]);
  for (int64_t i = 0; i < rows; ++i) {
    const T* q = e + i * C;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < C; ++j) s += q[j];
    sums[i] = s;
  }
}

constexpr int64_t CE_BLOCK = 4096;      // elements per block of rows (on the stack)

// log_softmax + nll_loss; reduction 0 mean, 1 sum, 2 none. Blocks of rows are independent: threads
// share them out, and the loss is the sum of the blocks' sums in block order (blocks fixed by the
// number of classes: the same sum for any number of threads).
template <class T, class I>
inline void cross_entropy(const T* x, const I* target, T* out, int64_t N, int64_t C, int reduction,
                          int64_t ignore_index, const char* where) {
  const int64_t rows_per = C > 0 && C <= CE_BLOCK ? CE_BLOCK / C : 1;
  const int64_t nblocks = (N + rows_per - 1) / rows_per;
  Frame partial(nblocks * (sizeof(T) + sizeof(int64_t)));
  int64_t* counts = (int64_t*)partial.base;          // first: 8-byte aligned for any T
  T* totals = (T*)(counts + nblocks);
  parallel_for(nblocks, grain_for(double(rows_per) * C * 8), [&](int64_t b0, int64_t b1) {
    T e[CE_BLOCK], m[CE_BLOCK], sums[CE_BLOCK];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * rows_per, rows = std::min(rows_per, N - r0);
      T total = 0;
      int64_t count = 0;
      const T* xb = x + r0 * C;
      if (C <= CE_BLOCK) {
        row_max(xb, rows, C, m);
        block_exp(xb, rows, C, m, e, sums);
      }
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t t = (int64_t)target[r0 + i];
        T v = 0;
        if (t != ignore_index) {
          if (t < 0 || t >= C) fail(INDEX_ERROR, "cross_entropy: target %lld is out of range for %lld classes (%s)", t, C, where);
          const T* p = xb + i * C;
          if (C > CE_BLOCK) {                    // very wide rows: one at a time, no scratch
            T mm = p[0], ss = 0;
            for (int64_t j = 1; j < C; ++j) mm = p[j] > mm || p[j] != p[j] ? p[j] : mm;
            for (int64_t j = 0; j < C; ++j) ss += stage::exp(p[j] - mm);
            m[i] = mm; sums[i] = ss;
          }
          v = m[i] + std::log(sums[i]) - p[t];
          ++count;
        }
        if (reduction == 2) out[r0 + i] = v; else total += v;
      }
      totals[b] = total;
      counts[b] = count;
    }
  });
  T total = 0;
  int64_t count = 0;
  for (int64_t b = 0; b < nblocks; ++b) {
    total += totals[b];
    count += counts[b];
  }
  if (reduction == 1) *out = total;
  if (reduction == 0) *out = total / T(count);
}

// d/dx of the per-row losses, weighted: (softmax(x) - onehot(target)) * w; rows independent
template <class T, class I>
inline void cross_entropy_grad(const T* x, const I* target, const T* w, T* out, int64_t N, int64_t C,
                               int64_t ignore_index, const char* where) {
  parallel_for(N, grain_for(double(C) * 8), [&](int64_t n0, int64_t n1) {
    T m[CE_BLOCK], sums[CE_BLOCK];
    for (int64_t r0 = n0; r0 < n1; r0 += CE_BLOCK) {
      const int64_t rows = std::min(CE_BLOCK, n1 - r0);
      row_max(x + r0 * C, rows, C, m);
      block_exp(x + r0 * C, rows, C, m, out + r0 * C, sums);     // the output is the scratch
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t n = r0 + i;
        T* q = out + n * C;
        const T r = w[n] / sums[i];
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) q[j] *= r;
        const int64_t t = (int64_t)target[n];
        if (t != ignore_index) {
          if (t < 0 || t >= C) fail(INDEX_ERROR, "cross_entropy: target %lld is out of range for %lld classes (%s)", t, C, where);
          q[t] -= w[n];
        }
      }
    }
  });
}

// ------------------------------------------------------------------------------------------ gathers

template <class T, class I>
inline void take(const T* a, const I* idx, T* out, int64_t outer, int64_t n, int64_t nidx,
                 int64_t inner, const char* where) {
  parallel_for(outer * nidx, grain_for(double(inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / nidx, j = r % nidx;
      int64_t i = (int64_t)idx[j];
      if (i < -n || i >= n) fail(INDEX_ERROR, "take: index %lld is out of bounds for size %lld (%s)", i, n, where);
      if (i < 0) i += n;
      std::memcpy(out + r * inner, a + (o * n + i) * inner, sizeof(T) * inner);
    }
  });
}

template <class T, class I>
inline void scatter_add(T* out, const I* idx, const T* v, int64_t outer, int64_t n, int64_t nidx,
                        int64_t inner, const char* where) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < nidx; ++j) {
      int64_t i = (int64_t)idx[j];
      if (i < -n || i >= n) fail(INDEX_ERROR, "scatter_add: index %lld is out of bounds for size %lld (%s)", i, n, where);
      if (i < 0) i += n;
      T* dst = out + (o * n + i) * inner;
      const T* src = v + (o * nidx + j) * inner;
#pragma omp simd
      for (int64_t k = 0; k < inner; ++k) dst[k] += src[k];
    }
}

}  // namespace stage
#include "conv.h"   // convolution
#include "pooling.h"   // max and average pooling
#include "random.h"   // counter-based random numbers
#include "attention.h"   // fused scaled dot-product attention
#include "checkpoint.h"   // checkpointing schedules of loops under grad
#include "scans.h"  // cumulative sums and products, argmin, argsort, gathers along an axis
#include "linalg.h" // LAPACK: inv, solve, det, slogdet, cholesky
