// Scans, sorting and gathers along one axis of a contiguous array seen as (outer, n, inner): the
// kernels of NumPy's cumsum/cumprod, argmin, argsort (sort, median, partition are built on it) and
// take_along_axis with its gradient.
#pragma once

namespace stage {

// out[o, k, i] = x[o, 0, i] + ... + x[o, k, i] (O may be wider than T: NumPy sums ints in int64)
template <class T, class O>
inline void cumsum(const T* x, O* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* p = x + o * n * inner;
    O* q = out + o * n * inner;
    for (int64_t i = 0; i < inner; ++i) q[i] = O(p[i]);
    for (int64_t k = 1; k < n; ++k)
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) q[k * inner + i] = q[(k - 1) * inner + i] + O(p[k * inner + i]);
  }
}

template <class T, class O>
inline void cumprod(const T* x, O* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* p = x + o * n * inner;
    O* q = out + o * n * inner;
    for (int64_t i = 0; i < inner; ++i) q[i] = O(p[i]);
    for (int64_t k = 1; k < n; ++k)
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) q[k * inner + i] = q[(k - 1) * inner + i] * O(p[k * inner + i]);
  }
}

// out[o, k, i] = b[o, k, i] + a[o, k, i] * out[o, k -/+ 1, i], the first out being b (its a is not
// read): the scan of a first-order linear recurrence, forward or (reverse) from the end
template <class T>
inline void linear_scan(const T* a, const T* b, T* out, int64_t outer, int64_t n, int64_t inner,
                        bool reverse) {
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t base = o * n * inner;
    for (int64_t s = 0; s < n; ++s) {
      const int64_t k = reverse ? n - 1 - s : s, prev = reverse ? k + 1 : k - 1;
      const T* ak = a + base + k * inner;
      const T* bk = b + base + k * inner;
      T* yk = out + base + k * inner;
      if (s == 0) {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) yk[i] = bk[i];
      } else {
        const T* yp = out + base + prev * inner;
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) yk[i] = bk[i] + ak[i] * yp[i];
      }
    }
  }
}

template <class T>
inline void argmin(const T* x, int64_t* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const T* p = x + o * n * inner + j;
      int64_t best = 0;
      for (int64_t i = 1; i < n && p[best * inner] == p[best * inner]; ++i)   // NaN wins, as in NumPy
        if (p[i * inner] < p[best * inner] || p[i * inner] != p[i * inner]) best = i;
      out[o * inner + j] = best;
    }
}

// NumPy's order: NaN after everything else
template <class T> inline bool sorts_before(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) return a < b || (b != b && a == a);
  else return a < b;
}

// A stable sort of each line's positions (a valid result for every `kind` NumPy accepts)
template <class T>
inline void argsort(const T* x, int64_t* out, int64_t outer, int64_t n, int64_t inner) {
  int64_t* line = inner == 1 ? nullptr : new int64_t[n];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const T* p = x + o * n * inner + j;
      int64_t* q = inner == 1 ? out + o * n : line;
      for (int64_t k = 0; k < n; ++k) q[k] = k;
      std::stable_sort(q, q + n, [p, inner](int64_t a, int64_t b) {
        return sorts_before(p[a * inner], p[b * inner]);
      });
      if (inner != 1)
        for (int64_t k = 0; k < n; ++k) out[(o * n + k) * inner + j] = q[k];
    }
  delete[] line;
}

// out[o, k, i] = a[o, idx[o, k, i], i] with idx of shape (outer, m, inner), NumPy's negative indices
template <class T, class I>
inline void take_along_axis(const T* a, const I* idx, T* out, int64_t outer, int64_t n, int64_t m,
                            int64_t inner, const char* where) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < m; ++k)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t t = (int64_t)idx[(o * m + k) * inner + i];
        if (t < -n || t >= n)
          fail(INDEX_ERROR, "take_along_axis: index %lld is out of bounds for size %lld (%s)", t, n, where);
        if (t < 0) t += n;
        out[(o * m + k) * inner + i] = a[(o * n + t) * inner + i];
      }
}

// out[o, idx[o, k, i], i] += v[o, k, i] (repeated indices accumulate): take_along_axis's gradient
template <class T, class I>
inline void scatter_add_along_axis(T* out, const I* idx, const T* v, int64_t outer, int64_t n,
                                   int64_t m, int64_t inner, const char* where) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < m; ++k)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t t = (int64_t)idx[(o * m + k) * inner + i];
        if (t < -n || t >= n)
          fail(INDEX_ERROR, "put_along_axis: index %lld is out of bounds for size %lld (%s)", t, n, where);
        if (t < 0) t += n;
        out[(o * n + t) * inner + i] += v[(o * m + k) * inner + i];
      }
}

// out[o, idx[o, k, i], i] = v[o, k, i] (the last of repeated indices wins, as NumPy's)
template <class T, class I>
inline void scatter_along_axis(T* out, const I* idx, const T* v, int64_t outer, int64_t n,
                               int64_t m, int64_t inner, const char* where) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < m; ++k)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t t = (int64_t)idx[(o * m + k) * inner + i];
        if (t < -n || t >= n)
          fail(INDEX_ERROR, "put_along_axis: index %lld is out of bounds for size %lld (%s)", t, n, where);
        if (t < 0) t += n;
        out[(o * n + t) * inner + i] = v[(o * m + k) * inner + i];
      }
}

}  // namespace stage
