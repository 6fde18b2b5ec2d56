// Kernels called by generated code: BLAS products, softmax family, losses, gathers and scatters.
// Elementwise chains and reductions are not here: codegen fuses them into loops in the generated code.
#pragma once

#ifndef STAGE_BLAS_PREFIX
#define STAGE_BLAS_PREFIX scipy_
#endif
#define STAGE_CAT2(a, b) a##b
#define STAGE_CAT(a, b) STAGE_CAT2(a, b)
#define STAGE_BLAS(name) STAGE_CAT(STAGE_BLAS_PREFIX, name)

// The few CBLAS entry points used (declared here so only the library is needed, not its headers).
extern "C" {
void STAGE_BLAS(cblas_sgemm)(int, int, int, int, int, int, float, const float*, int, const float*,
                             int, float, float*, int);
void STAGE_BLAS(cblas_dgemm)(int, int, int, int, int, int, double, const double*, int,
                             const double*, int, double, double*, int);
void STAGE_BLAS(cblas_sgemv)(int, int, int, int, float, const float*, int, const float*, int, float,
                             float*, int);
void STAGE_BLAS(cblas_dgemv)(int, int, int, int, double, const double*, int, const double*, int,
                             double, double*, int);
}

namespace stage {

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

inline void blas_gemm(int ta, int tb, int M, int N, int K, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc) {
  STAGE_BLAS(cblas_sgemm)(RowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void blas_gemm(int ta, int tb, int M, int N, int K, double alpha, const double* A, int lda,
                      const double* B, int ldb, double beta, double* C, int ldc) {
  STAGE_BLAS(cblas_dgemm)(RowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void blas_gemv(int ta, int M, int N, float alpha, const float* A, int lda, const float* x,
                      int incx, float beta, float* y, int incy) {
  STAGE_BLAS(cblas_sgemv)(RowMajor, ta, M, N, alpha, A, lda, x, incx, beta, y, incy);
}
inline void blas_gemv(int ta, int M, int N, double alpha, const double* A, int lda, const double* x,
                      int incx, double beta, double* y, int incy) {
  STAGE_BLAS(cblas_dgemv)(RowMajor, ta, M, N, alpha, A, lda, x, incx, beta, y, incy);
}

// C[M,N] = op(A)[M,K] @ op(B)[K,N] + beta * C, row-major, op = transpose when ta/tb.
// Small products run as plain loops (a BLAS call costs more than the work); vectors use gemv.
// -- matrix-vector products with explicit vector registers (GCC/clang vector extensions) --------------
template <class T> struct vec64 { typedef T type __attribute__((vector_size(64))); };
template <class T> using V64 = typename vec64<T>::type;
template <class T> inline V64<T> loadu(const T* p) { V64<T> v; std::memcpy(&v, p, sizeof v); return v; }
template <class T> inline void storeu(T* p, V64<T> v) { std::memcpy(p, &v, sizeof v); }
template <class T> inline T hsum(V64<T> v) {
  T s = 0;
  for (unsigned i = 0; i < sizeof(V64<T>) / sizeof(T); ++i) s += v[i];
  return s;
}

// C[j] += sum_k a[k * inca] * B[k * ldb + j] for j < N: four vector accumulators per column block,
// so each element of C is loaded and stored once instead of once per k
template <class T>
inline void vecmat(const T* a, int64_t inca, const T* B, int64_t ldb, T* C, int64_t N, int64_t K) {
  constexpr int L = sizeof(V64<T>) / sizeof(T);
  int64_t j0 = 0;
  for (; j0 + 4 * L <= N; j0 += 4 * L) {
    V64<T> c0 = loadu(C + j0), c1 = loadu(C + j0 + L), c2 = loadu(C + j0 + 2 * L), c3 = loadu(C + j0 + 3 * L);
    for (int64_t k = 0; k < K; ++k) {
      const T ak = a[k * inca];
      const T* b = B + k * ldb + j0;
      c0 += ak * loadu(b); c1 += ak * loadu(b + L); c2 += ak * loadu(b + 2 * L); c3 += ak * loadu(b + 3 * L);
    }
    storeu(C + j0, c0); storeu(C + j0 + L, c1); storeu(C + j0 + 2 * L, c2); storeu(C + j0 + 3 * L, c3);
  }
  for (; j0 + L <= N; j0 += L) {
    V64<T> c0 = loadu(C + j0);
    for (int64_t k = 0; k < K; ++k) c0 += a[k * inca] * loadu(B + k * ldb + j0);
    storeu(C + j0, c0);
  }
  if (j0 < N)
    for (int64_t k = 0; k < K; ++k) {
      const T ak = a[k * inca];
      const T* b = B + k * ldb;
      for (int64_t j = j0; j < N; ++j) C[j] += ak * b[j];
    }
}

// C[i * incc] += A[i, :] . b for i < M (b contiguous): four rows at a time share each load of b
template <class T>
inline void matvec(const T* A, int64_t lda, const T* b, T* C, int64_t incc, int64_t M, int64_t K) {
  constexpr int L = sizeof(V64<T>) / sizeof(T);
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) {
    const T *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    V64<T> s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int64_t k = 0;
    for (; k + L <= K; k += L) {
      const V64<T> bv = loadu(b + k);
      s0 += loadu(a0 + k) * bv; s1 += loadu(a1 + k) * bv; s2 += loadu(a2 + k) * bv; s3 += loadu(a3 + k) * bv;
    }
    T r0 = hsum<T>(s0), r1 = hsum<T>(s1), r2 = hsum<T>(s2), r3 = hsum<T>(s3);
    for (; k < K; ++k) { r0 += a0[k] * b[k]; r1 += a1[k] * b[k]; r2 += a2[k] * b[k]; r3 += a3[k] * b[k]; }
    C[i * incc] += r0; C[(i + 1) * incc] += r1; C[(i + 2) * incc] += r2; C[(i + 3) * incc] += r3;
  }
  for (; i < M; ++i) {
    const T* a = A + i * lda;
    T s = 0;
    for (int64_t k = 0; k < K; ++k) s += a[k] * b[k];
    C[i * incc] += s;
  }
}

template <class T> struct same { using type = T; };   // keeps an argument out of deduction

// Multiply-adds per block of a product split between threads: each block repacks the operand it
// shares with the others, which costs about 1/40 of this much work.
constexpr double GEMM_BLOCK_WORK = double(1 << 22);

// A product big enough to gain from threads is split into blocks of rows of C (or of columns, when
// C is wider than tall), each one single-threaded gemm: the blocks depend on the shape alone, so
// every element of C is computed by the same gemm call whatever the number of threads -- and
// OpenBLAS's own threads, which would run next to stage's, are never used.
template <class T>
inline void gemm_blocks(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                        const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  const bool rows = M >= N;
  const int64_t D = rows ? M : N;
  const int64_t blocks = std::min<int64_t>({int64_t(double(M) * N * K / GEMM_BLOCK_WORK), D / 32, 16});
  if (blocks <= 1) {
    blas_gemm(ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)M, (int)N, (int)K, T(1), A, (int)lda,
              B, (int)ldb, beta, C, (int)ldc);
    return;
  }
  auto edge = [&](int64_t b) { return b == blocks ? D : (D * b / blocks) & ~int64_t(15); };
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = edge(b), n = edge(b + 1) - lo;
      if (rows)
        blas_gemm(ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)n, (int)N, (int)K, T(1),
                  ta ? A + lo : A + lo * lda, (int)lda, B, (int)ldb, beta, C + lo * ldc, (int)ldc);
      else
        blas_gemm(ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)M, (int)n, (int)K, T(1), A,
                  (int)lda, tb ? B + lo * ldb : B + lo, (int)ldb, beta, C + lo, (int)ldc);
    }
  });
}

template <class T>
inline void matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                   const T* B, int64_t ldb, typename same<T>::type beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (M * N * K <= 2048) {
    for (int64_t i = 0; i < M; ++i) {
      T* c = C + i * ldc;
      if (beta == T(0)) for (int64_t j = 0; j < N; ++j) c[j] = T(0);
      else if (beta != T(1)) for (int64_t j = 0; j < N; ++j) c[j] *= beta;
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta ? A[k * lda + i] : A[i * lda + k];
        if (!tb) {
          const T* b = B + k * ldb;
#pragma omp simd
          for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
        }
      }
    }
    return;
  }
  // Matrix-vector products (a tree node, a batch-1 time step) run as register-blocked vector loops:
  // they are bandwidth-bound, and a BLAS call would add its overhead and wake its worker threads
  // (which, thousands of times per run, costs more than the product).
  if (N == 1 && M * K <= (int64_t(1) << 22)) {
    for (int64_t i = 0; i < M; ++i) C[i * ldc] = beta == T(0) ? T(0) : beta * C[i * ldc];
    const int64_t incb = (tb || ldb == 1) ? 1 : ldb;
    if (!ta && incb == 1) matvec(A, lda, B, C, ldc, M, K);          // C[i] += A[i, :] . b
    else if (ta && ldc == 1) vecmat(B, incb, A, lda, C, M, K);      // C += sum_k b[k] A[k, :]
    else
      for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k) C[i * ldc] += (ta ? A[k * lda + i] : A[i * lda + k]) * B[k * incb];
    return;
  }
  if (M == 1 && N * K <= (int64_t(1) << 22)) {
    for (int64_t j = 0; j < N; ++j) C[j] = beta == T(0) ? T(0) : beta * C[j];
    const int64_t inca = ta ? lda : 1;
    if (!tb) vecmat(A, inca, B, ldb, C, N, K);                       // C += sum_k a[k] B[k, :]
    else if (inca == 1) matvec(B, ldb, A, C, 1, N, K);               // C[j] += B[j, :] . a
    else
      for (int64_t j = 0; j < N; ++j)
        for (int64_t k = 0; k < K; ++k) C[j] += A[k * inca] * B[j * ldb + k];
    return;
  }
  if (N == 1) {   // y[M] = op(A) x, x = column 0 of op(B)
    if (ta) blas_gemv(Trans, (int)K, (int)M, T(1), A, (int)lda, B, tb ? 1 : (int)ldb, beta, C, (int)ldc);
    else blas_gemv(NoTrans, (int)M, (int)K, T(1), A, (int)lda, B, tb ? 1 : (int)ldb, beta, C, (int)ldc);
    return;
  }
  if (M == 1) {   // y[N] = op(B)^T a, a = row 0 of op(A)
    if (tb) blas_gemv(NoTrans, (int)N, (int)K, T(1), B, (int)ldb, A, ta ? (int)lda : 1, beta, C, 1);
    else blas_gemv(Trans, (int)K, (int)N, T(1), B, (int)ldb, A, ta ? (int)lda : 1, beta, C, 1);
    return;
  }
  gemm_blocks<T>(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

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
