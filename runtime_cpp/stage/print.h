// st.print: values printed from native code, in the format the NumPy interpreter prints them
// (stage/ir/ops/io.py): numbers as Python's format(v, "g") (6 significant digits), bools as
// True/False, arrays nested like NumPy's ([[1 2]\n [3 4]]) and summarised to the first and last
// three entries of each axis beyond 1000 elements. Written to C's stdout and flushed at once, so a
// loop's prints come out in order.
#pragma once
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <initializer_list>

namespace stage {

inline void print_text(const char* s) { std::fputs(s, stdout); }
inline void print_flush() { std::fflush(stdout); }

inline void print_one(bool v) { std::fputs(v ? "True" : "False", stdout); }
inline void print_one(int32_t v) { std::printf("%" PRId32, v); }
inline void print_one(int64_t v) { std::printf("%" PRId64, v); }
inline void print_one(double v) {
  if (std::isnan(v)) std::fputs("nan", stdout);      // C would print -nan for a negative NaN
  else std::printf("%g", v);
}
inline void print_one(float v) { print_one(double(v)); }

template <class T>
inline void print_axis(const T* p, const int64_t* shape, const int64_t* strides, int ndim, int d,
                       bool summary) {
  if (d == ndim) {
    print_one(*p);
    return;
  }
  const int64_t n = shape[d];
  const bool cut = summary && n > 6;            // 0 1 2 ... n-3 n-2 n-1
  const int64_t count = cut ? 7 : n;
  std::fputc('[', stdout);
  for (int64_t k = 0; k < count; ++k) {
    if (k > 0) {
      if (d + 1 == ndim) std::fputc(' ', stdout);
      else { std::fputc('\n', stdout); for (int j = 0; j <= d; ++j) std::fputc(' ', stdout); }
    }
    if (cut && k == 3) { std::fputs("...", stdout); continue; }
    const int64_t i = cut && k > 3 ? n - 7 + k : k;
    print_axis(p + i * strides[d], shape, strides, ndim, d + 1, summary);
  }
  std::fputc(']', stdout);
}

// A C-contiguous array of `ndim` dims (shape given); 0-d values are scalars.
template <class T>
inline void print_array(const T* p, std::initializer_list<int64_t> dims) {
  int64_t shape[16], strides[16];
  int ndim = 0;
  int64_t size = 1;
  for (int64_t n : dims) { shape[ndim++] = n; size *= n; }
  int64_t acc = 1;
  for (int d = ndim - 1; d >= 0; --d) { strides[d] = acc; acc *= shape[d]; }
  print_axis(p, shape, strides, ndim, 0, size > 1000);
}

}  // namespace stage
