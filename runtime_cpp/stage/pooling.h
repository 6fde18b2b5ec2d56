// Max and average pooling over NCHW images, called by the ops of stage/ir/ops/conv.py. Arrays are
// contiguous; planes (image x channel) are the parallel parts.
#pragma once

namespace stage {

struct Pool2dShape {
  int64_t planes, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
};

// One row (p, oh) of max pooling: best[ow] = the window's maximum (padding never wins, as in
// PyTorch; NaN wins), at[ow] (if not null) = the flat position in x of the first maximum in scan
// order (of the last NaN if there is one, as PyTorch). Rows of outputs are the vectorised inner loop: best[ow] = max(best[ow], x[ih, ow*SW+kj]).
template <class T>
inline void max_pool_row(const Pool2dShape& s, const T* x, int64_t p, int64_t oh, T* best,
                         int64_t* at) {
  const T* plane = x + p * s.H * s.W;
  for (int64_t ow = 0; ow < s.OW; ++ow) best[ow] = -std::numeric_limits<T>::infinity();
  if (at)   // a window of -inf values points at its first in-range element
    for (int64_t ow = 0; ow < s.OW; ++ow)
      at[ow] = p * s.H * s.W + std::max(oh * s.SH - s.PH, int64_t(0)) * s.W +
               std::max(ow * s.SW - s.PW, int64_t(0));
  const int64_t h0 = std::max(oh * s.SH - s.PH, int64_t(0));
  const int64_t h1 = std::min(oh * s.SH - s.PH + s.KH, s.H);
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t kj = 0; kj < s.KW; ++kj) {
      int64_t lo, hi;
      valid_range(kj, s.SW, s.PW, s.W, s.OW, lo, hi);
      const T* xr = plane + ih * s.W - s.PW + kj;
      if (at) {
        const int64_t base = p * s.H * s.W + ih * s.W - s.PW + kj;
        for (int64_t ow = lo; ow < hi; ++ow) {
          const T v = xr[ow * s.SW];
          if (v > best[ow] || v != v) { best[ow] = v; at[ow] = base + ow * s.SW; }
        }
      } else {
#pragma omp simd
        for (int64_t ow = lo; ow < hi; ++ow) {
          const T v = xr[ow * s.SW];
          best[ow] = (v > best[ow] || v != v) ? v : best[ow];
        }
      }
    }
}

// Windows that tile the input (stride = window, no padding: the usual 2x2 pooling), with the
// window's size known at compile time, in two passes per plane: down each window's rows (loops as
// long as a row of the input, contiguous), then across its columns (one loop over the plane's
// outputs). Branch-free selects throughout: the scan above has short strided loops whose scalar
// remainders mispredict about every other comparison on random data. 4-8x faster on the CNN's
// pooling layers (benchmarks/RESULTS.md).
inline bool pool_tiles(const Pool2dShape& s, int64_t kh, int64_t kw) {
  return s.KH == kh && s.KW == kw && s.SH == kh && s.SW == kw && s.PH == 0 && s.PW == 0;
}

// the scan's rule (as PyTorch's): a later element wins if greater, or if NaN
template <class T>
inline bool pool_takes(T v, T m) { return (v > m) | (v != v); }

template <int KH, int KW, class T>
inline void max_pool2d_tiled(const Pool2dShape& s, const T* x, T* out, int64_t p0, int64_t p1) {
  const int64_t H = s.H, W = s.W, OH = s.OH, OW = s.OW, L = OW * KW;
  Frame scratch(sizeof(T) * OH * L);
  T* col = (T*)scratch.base;                              // (OH, L): maxima down each column
  for (int64_t p = p0; p < p1; ++p) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* xr = x + p * H * W + oh * KH * W;
      T* cr = col + oh * L;
#pragma omp simd
      for (int64_t j = 0; j < L; ++j) {
        T m = xr[j];
#pragma GCC unroll 16
        for (int ki = 1; ki < KH; ++ki) {
          const T v = xr[ki * W + j];
          m = pool_takes(v, m) ? v : m;
        }
        cr[j] = m;
      }
    }
    T* o = out + p * OH * OW;
#pragma omp simd
    for (int64_t q = 0; q < OH * OW; ++q) {
      T m = col[q * KW];
#pragma GCC unroll 16
      for (int kj = 1; kj < KW; ++kj) {
        const T v = col[q * KW + kj];
        m = pool_takes(v, m) ? v : m;
      }
      o[q] = m;
    }
  }
}

// The gradient: the same passes carrying each candidate's scan position ki*KW + kj. The scan picks
// the last NaN, else the first maximum, so combining columns compares positions explicitly. The
// column pass leaves, per input column, the winning row (or -1) and the cotangent to put there.
template <int KH, int KW, class T>
inline void max_pool2d_grad_tiled(const Pool2dShape& s, const T* x, const T* g, T* dx, int64_t p0,
                                  int64_t p1) {
  const int64_t H = s.H, W = s.W, OH = s.OH, OW = s.OW, L = OW * KW;
  Frame scratch((sizeof(T) + sizeof(int32_t)) * OH * L);
  T* col = (T*)scratch.base;
  int32_t* row = (int32_t*)(col + OH * L);
  for (int64_t p = p0; p < p1; ++p) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* xr = x + p * H * W + oh * KH * W;
      T* cr = col + oh * L;
      int32_t* rr = row + oh * L;
#pragma omp simd
      for (int64_t j = 0; j < L; ++j) {
        T m = xr[j];
        int32_t k = 0;
#pragma GCC unroll 16
        for (int ki = 1; ki < KH; ++ki) {
          const bool t = pool_takes(xr[ki * W + j], m);
          m = t ? xr[ki * W + j] : m;
          k = t ? ki : k;
        }
        cr[j] = m;
        rr[j] = k;
      }
    }
    const T* gp = g + p * OH * OW;
#pragma omp simd
    for (int64_t q = 0; q < OH * OW; ++q) {
      T m = col[q * KW];
      int32_t at = row[q * KW] * KW;
#pragma GCC unroll 16
      for (int kj = 1; kj < KW; ++kj) {
        const T v = col[q * KW + kj];
        const int32_t av = row[q * KW + kj] * KW + kj;
        const bool vnan = v != v, mnan = m != m;
        const bool t = (vnan & (!mnan | (av > at))) |
                       (!vnan & !mnan & ((v > m) | ((v == m) & (av < at))));
        m = t ? v : m;
        at = t ? av : at;
      }
#pragma GCC unroll 16
      for (int kj = 0; kj < KW; ++kj) {
        const bool wins = at % KW == kj;
        row[q * KW + kj] = wins ? at / KW : -1;
        col[q * KW + kj] = wins ? gp[q] : T(0);
      }
    }
    T* dp = dx + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh)
#pragma GCC unroll 16
      for (int ki = 0; ki < KH; ++ki) {
        const T* cr = col + oh * L;
        const int32_t* rr = row + oh * L;
        T* dr = dp + (oh * KH + ki) * W;
#pragma omp simd
        for (int64_t j = 0; j < L; ++j) dr[j] = rr[j] == ki ? cr[j] : T(0);
        std::fill(dr + L, dr + W, T(0));                   // columns no window covers
      }
    std::fill(dp + OH * KH * W, dp + H * W, T(0));         // rows no window covers
  }
}

// Planes (image x channel) are independent: threads take contiguous runs of them.
template <class F>
inline void pool_planes(const Pool2dShape& s, F&& f) {
  parallel_for(s.planes, grain_for(double(s.H) * s.W * 2), f);
}

// out = the windows' maxima, idx = where they came from (either may be null)
template <class T>
inline void max_pool2d(const Pool2dShape& s, const T* x, T* out, int64_t* idx) {
  pool_planes(s, [&](int64_t p0, int64_t p1) {
    if (out && !idx && pool_tiles(s, 2, 2)) return max_pool2d_tiled<2, 2>(s, x, out, p0, p1);
    if (out && !idx && pool_tiles(s, 3, 3)) return max_pool2d_tiled<3, 3>(s, x, out, p0, p1);
    Frame scratch(out ? 0 : sizeof(T) * s.OW);
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < s.OH; ++oh) {
        const int64_t o = (p * s.OH + oh) * s.OW;
        max_pool_row(s, x, p, oh, out ? out + o : (T*)scratch.base, idx ? idx + o : nullptr);
      }
  });
}

// dx = g routed to each window's first maximum (max pooling's gradient), in one pass over x
template <class T>
inline void max_pool2d_grad(const Pool2dShape& s, const T* x, const T* g, T* dx) {
  pool_planes(s, [&](int64_t p0, int64_t p1) {
    if (pool_tiles(s, 2, 2)) return max_pool2d_grad_tiled<2, 2>(s, x, g, dx, p0, p1);
    if (pool_tiles(s, 3, 3)) return max_pool2d_grad_tiled<3, 3>(s, x, g, dx, p0, p1);
    Frame scratch((sizeof(T) + sizeof(int64_t)) * s.OW);
    int64_t* at = (int64_t*)scratch.base;
    T* best = (T*)(at + s.OW);
    std::fill(dx + p0 * s.H * s.W, dx + p1 * s.H * s.W, T(0));
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < s.OH; ++oh) {
        max_pool_row(s, x, p, oh, best, at);
        const T* gr = g + (p * s.OH + oh) * s.OW;
        for (int64_t ow = 0; ow < s.OW; ++ow) dx[at[ow]] += gr[ow];
      }
  });
}

// out = the window's mean over KH*KW positions (padding counts as zeros: count_include_pad)
template <class T>
inline void avg_pool2d(const Pool2dShape& s, const T* x, T* out) {
  const T scale = T(1) / T(s.KH * s.KW);
  pool_planes(s, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* plane = x + p * s.H * s.W;
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t h0 = oh * s.SH - s.PH, w0 = ow * s.SW - s.PW;
          const int64_t h1 = std::min(h0 + s.KH, s.H), w1 = std::min(w0 + s.KW, s.W);
          T acc = 0;
          for (int64_t ih = std::max(h0, int64_t(0)); ih < h1; ++ih)
            for (int64_t iw = std::max(w0, int64_t(0)); iw < w1; ++iw) acc += plane[ih * s.W + iw];
          out[(p * s.OH + oh) * s.OW + ow] = acc * scale;
        }
    }
  });
}

// dx = the transpose of avg_pool2d applied to g
template <class T>
inline void avg_pool2d_grad(const Pool2dShape& s, const T* g, T* dx) {
  const T scale = T(1) / T(s.KH * s.KW);
  pool_planes(s, [&](int64_t p0, int64_t p1) {
    std::fill(dx + p0 * s.H * s.W, dx + p1 * s.H * s.W, T(0));
    for (int64_t p = p0; p < p1; ++p) {
      T* plane = dx + p * s.H * s.W;
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t h0 = oh * s.SH - s.PH, w0 = ow * s.SW - s.PW;
          const int64_t h1 = std::min(h0 + s.KH, s.H), w1 = std::min(w0 + s.KW, s.W);
          const T v = g[(p * s.OH + oh) * s.OW + ow] * scale;
          for (int64_t ih = std::max(h0, int64_t(0)); ih < h1; ++ih)
            for (int64_t iw = std::max(w0, int64_t(0)); iw < w1; ++iw) plane[ih * s.W + iw] += v;
        }
    }
  });
}

}  // namespace stage
