// Matrix products for generated code and kernels: the CBLAS entry points stage uses, register-
// blocked matrix-vector loops, and `matmul`, which splits a product big enough to gain from
// threads into single-threaded gemms on stage's pool (OpenBLAS's own threads are never used).
#pragma once
#include <vector>

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

// C[M,N] = alpha op(A)[M,K] @ op(B)[K,N] + beta * C (alpha: 1 unless a sum the product is added into
// scales it, codegen/fusion.py), row-major, op = transpose when ta/tb.
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

// One single-threaded BLAS product C = alpha op(A) op(B) + beta C (row-major; int sizes, as CBLAS
// takes)
template <class T>
inline void gemm_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                      const T* B, int64_t ldb, T beta, T* C, int64_t ldc, T alpha) {
  blas_gemm(ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda,
            B, (int)ldb, beta, C, (int)ldc);
}

// Multiply-adds per block of a product split between threads: each block repacks the operand it
// shares with the others, which costs about 1/40 of this much work.
constexpr double GEMM_BLOCK_WORK = double(1 << 22);

// A product big enough to gain from threads is split into blocks of rows of C (or of columns, when
// C is wider than tall), each one single-threaded gemm: the blocks depend on the shape alone, so
// every element of C is computed by the same gemm call whatever the number of threads -- and
// OpenBLAS's own threads, which would run next to stage's, are never used.
// C = beta C + alpha op(A) op(B) with K much longer than M and N (a layer's forward product over a
// batch: x[100, 784] @ w[784, 128]): split the sum over K, so each thread reads its own slice of
// both operands (a split of rows or columns makes every thread read all of one of them: the
// cold minibatch, from memory), into partial products added in a fixed order afterwards. The
// slices depend on the shape alone: the same result for any thread count.
template <class T>
inline void gemm_ksplit(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                        const T* B, int64_t ldb, T beta, T* C, int64_t ldc, T alpha) {
  const int64_t blocks = std::min<int64_t>({int64_t(double(M) * N * K / GEMM_BLOCK_WORK), K / 64, 8});
  if (blocks <= 1) {
    gemm_call(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, alpha);
    return;
  }
  std::vector<T> partial(size_t(blocks - 1) * size_t(M * N));
  auto edge = [&](int64_t b) { return b == blocks ? K : (K * b / blocks) & ~int64_t(15); };
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = edge(b), n = edge(b + 1) - lo;
      T* out = b == 0 ? C : partial.data() + (b - 1) * M * N;
      gemm_call(ta, tb, M, N, n, ta ? A + lo * lda : A + lo, lda, tb ? B + lo : B + lo * ldb, ldb,
                b == 0 ? beta : T(0), out, b == 0 ? ldc : N, alpha);
    }
  });
  parallel_for(M, std::max<int64_t>(1, PARALLEL_GRAIN / (N * (blocks - 1))), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t b = 1; b < blocks; ++b) {
        const T* p = partial.data() + (b - 1) * M * N + i * N;
#pragma omp simd
        for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += p[j];
      }
  });
}

template <class T>
inline void gemm_blocks(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                        const T* B, int64_t ldb, T beta, T* C, int64_t ldc, T alpha) {
  if (K >= 4 * std::max(M, N)) {             // short and wide operands: split the sum over K
    gemm_ksplit<T>(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, alpha);
    return;
  }
  const bool rows = M >= N;
  const int64_t D = rows ? M : N;
  const int64_t blocks = std::min<int64_t>({int64_t(double(M) * N * K / GEMM_BLOCK_WORK), D / 32, 16});
  if (blocks <= 1) {
    gemm_call(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, alpha);
    return;
  }
  auto edge = [&](int64_t b) { return b == blocks ? D : (D * b / blocks) & ~int64_t(15); };
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = edge(b), n = edge(b + 1) - lo;
      if (rows)
        gemm_call(ta, tb, n, N, K, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc,
                  alpha);
      else
        gemm_call(ta, tb, M, n, K, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc, alpha);
    }
  });
}

template <class T>
inline void matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                   const T* B, int64_t ldb, typename same<T>::type beta, T* C, int64_t ldc,
                   typename same<T>::type alpha = 1) {
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
        const T a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
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
  if (N == 1 && M * K <= (int64_t(1) << 22) && alpha == T(1)) {
    for (int64_t i = 0; i < M; ++i) C[i * ldc] = beta == T(0) ? T(0) : beta * C[i * ldc];
    const int64_t incb = (tb || ldb == 1) ? 1 : ldb;
    if (!ta && incb == 1) matvec(A, lda, B, C, ldc, M, K);          // C[i] += A[i, :] . b
    else if (ta && ldc == 1) vecmat(B, incb, A, lda, C, M, K);      // C += sum_k b[k] A[k, :]
    else
      for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k) C[i * ldc] += (ta ? A[k * lda + i] : A[i * lda + k]) * B[k * incb];
    return;
  }
  if (M == 1 && N * K <= (int64_t(1) << 22) && alpha == T(1)) {
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
    if (ta) blas_gemv(Trans, (int)K, (int)M, alpha, A, (int)lda, B, tb ? 1 : (int)ldb, beta, C, (int)ldc);
    else blas_gemv(NoTrans, (int)M, (int)K, alpha, A, (int)lda, B, tb ? 1 : (int)ldb, beta, C, (int)ldc);
    return;
  }
  if (M == 1) {   // y[N] = op(B)^T a, a = row 0 of op(A)
    if (tb) blas_gemv(NoTrans, (int)N, (int)K, alpha, B, (int)ldb, A, ta ? (int)lda : 1, beta, C, 1);
    else blas_gemv(Trans, (int)K, (int)N, alpha, B, (int)ldb, A, ta ? (int)lda : 1, beta, C, 1);
    return;
  }
  gemm_blocks<T>(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, alpha);
}

}  // namespace stage
