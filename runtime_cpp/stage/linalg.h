// Dense linear algebra on stacks of small matrices through LAPACKE (shipped in the same OpenBLAS as
// BLAS, with the same symbol prefix): inverse, solve, determinant, sign and log-determinant,
// Cholesky. Row-major data; a singular or indefinite matrix raises ValueError (NumPy's LinAlgError
// is a ValueError) naming the op and the user's line.
#pragma once

extern "C" {
int STAGE_BLAS(LAPACKE_sgetrf)(int, int, int, float*, int, int*);
int STAGE_BLAS(LAPACKE_dgetrf)(int, int, int, double*, int, int*);
int STAGE_BLAS(LAPACKE_sgetri)(int, int, float*, int, const int*);
int STAGE_BLAS(LAPACKE_dgetri)(int, int, double*, int, const int*);
int STAGE_BLAS(LAPACKE_sgesv)(int, int, int, float*, int, int*, float*, int);
int STAGE_BLAS(LAPACKE_dgesv)(int, int, int, double*, int, int*, double*, int);
int STAGE_BLAS(LAPACKE_spotrf)(int, char, int, float*, int);
int STAGE_BLAS(LAPACKE_dpotrf)(int, char, int, double*, int);
}

namespace stage {

inline int lapack_getrf(int n, float* a, int* piv) { return STAGE_BLAS(LAPACKE_sgetrf)(RowMajor, n, n, a, n, piv); }
inline int lapack_getrf(int n, double* a, int* piv) { return STAGE_BLAS(LAPACKE_dgetrf)(RowMajor, n, n, a, n, piv); }
inline int lapack_getri(int n, float* a, const int* piv) { return STAGE_BLAS(LAPACKE_sgetri)(RowMajor, n, a, n, piv); }
inline int lapack_getri(int n, double* a, const int* piv) { return STAGE_BLAS(LAPACKE_dgetri)(RowMajor, n, a, n, piv); }
inline int lapack_gesv(int n, int k, float* a, int* piv, float* b) {
  return STAGE_BLAS(LAPACKE_sgesv)(RowMajor, n, k, a, n, piv, b, k);
}
inline int lapack_gesv(int n, int k, double* a, int* piv, double* b) {
  return STAGE_BLAS(LAPACKE_dgesv)(RowMajor, n, k, a, n, piv, b, k);
}
inline int lapack_potrf(int n, float* a) { return STAGE_BLAS(LAPACKE_spotrf)(RowMajor, 'L', n, a, n); }
inline int lapack_potrf(int n, double* a) { return STAGE_BLAS(LAPACKE_dpotrf)(RowMajor, 'L', n, a, n); }

// scratch freed on every path out (a failure throws)
template <class T> struct Scratch {
  T* p;
  explicit Scratch(int64_t n) : p(new T[n > 0 ? n : 1]) {}
  ~Scratch() { delete[] p; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

inline void lapack_check(int info, const char* where) {
  if (info < 0) fail(RUNTIME_ERROR, "LAPACK: invalid argument %lld%.0lld (%s)", -info, 0, where);
}

template <class T>
inline void inv(const T* a, T* out, int64_t batch, int64_t n, const char* where) {
  Scratch<int> piv(n);
  for (int64_t b = 0; b < batch; ++b) {
    T* m = out + b * n * n;
    std::memcpy(m, a + b * n * n, sizeof(T) * n * n);
    if (n == 0) continue;
    int info = lapack_getrf((int)n, m, piv.p);
    lapack_check(info, where);
    if (info > 0) fail(VALUE_ERROR, "Singular matrix (inv, matrix %lld of %lld) (%s)", b, batch, where);
    lapack_check(lapack_getri((int)n, m, piv.p), where);
  }
}

// out = a^-1 b for a (batch, n, n) and b (batch, n, k)
template <class T>
inline void solve(const T* a, const T* b, T* out, int64_t batch, int64_t n, int64_t k,
                  const char* where) {
  Scratch<int> piv(n);
  Scratch<T> lu(n * n);
  for (int64_t i = 0; i < batch; ++i) {
    std::memcpy(lu.p, a + i * n * n, sizeof(T) * n * n);
    std::memcpy(out + i * n * k, b + i * n * k, sizeof(T) * n * k);
    if (n == 0 || k == 0) continue;
    int info = lapack_gesv((int)n, (int)k, lu.p, piv.p, out + i * n * k);
    lapack_check(info, where);
    if (info > 0) fail(VALUE_ERROR, "Singular matrix (solve, matrix %lld of %lld) (%s)", i, batch, where);
  }
}

// the LU factors' diagonal and the permutation's parity: det, or (sign, log|det|) into out[0..1]
template <class T, bool LOG>
inline void lu_det(const T* a, T* out, int64_t batch, int64_t n, const char* where) {
  Scratch<int> piv(n);
  Scratch<T> lu(n * n);
  for (int64_t b = 0; b < batch; ++b) {
    std::memcpy(lu.p, a + b * n * n, sizeof(T) * n * n);
    int info = n ? lapack_getrf((int)n, lu.p, piv.p) : 0;
    lapack_check(info, where);
    T sign = 1, logabs = 0, det = 1;
    for (int64_t i = 0; i < n; ++i) {
      const T d = lu.p[i * n + i];
      if (piv.p[i] != i + 1) sign = -sign;
      if (LOG) {
        sign = d < 0 ? -sign : (d == 0 ? T(0) : sign);
        logabs += std::log(std::abs(d));
      } else {
        det *= d;
      }
    }
    if (LOG) {
      out[2 * b] = sign;
      out[2 * b + 1] = sign == 0 ? -std::numeric_limits<T>::infinity() : logabs;
    } else {
      out[b] = sign * det;
    }
  }
}

template <class T>
inline void det(const T* a, T* out, int64_t batch, int64_t n, const char* where) {
  lu_det<T, false>(a, out, batch, n, where);
}
template <class T>
inline void slogdet(const T* a, T* out, int64_t batch, int64_t n, const char* where) {
  lu_det<T, true>(a, out, batch, n, where);
}

// the lower factor L (L L^T = a), from a's lower triangle as NumPy reads it
template <class T>
inline void cholesky(const T* a, T* out, int64_t batch, int64_t n, const char* where) {
  for (int64_t b = 0; b < batch; ++b) {
    T* m = out + b * n * n;
    std::memcpy(m, a + b * n * n, sizeof(T) * n * n);
    if (n == 0) continue;
    int info = lapack_potrf((int)n, m);
    lapack_check(info, where);
    if (info > 0)
      fail(VALUE_ERROR, "Matrix is not positive definite (cholesky, matrix %lld of %lld) (%s)", b, batch, where);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) m[i * n + j] = T(0);
  }
}

}  // namespace stage
