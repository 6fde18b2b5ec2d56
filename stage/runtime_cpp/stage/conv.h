// Convolution, pooling and counter-based random numbers, called by the ops of stage/ir/ops/conv.py
// and random.py. Arrays are NCHW and contiguous. A convolution is im2col + gemm (per image, or one
// over the whole batch when BLAS has threads to split it); scratch lives in the arena (a Frame
// released when the kernel returns).
#pragma once

namespace stage {

extern "C" int STAGE_BLAS(openblas_get_num_threads)(void);

struct Conv2dShape {
  int64_t N, C, H, W, O, KH, KW, SH, SW, PH, PW, OH, OW, DH, DW;   // D: dilation
  int64_t ckk() const { return C * KH * KW; }
  int64_t ohw() const { return OH * OW; }
};

// first and one-past-last output column whose input column ow*S - P + k falls inside [0, W)
inline void valid_range(int64_t k, int64_t S, int64_t P, int64_t W, int64_t OW, int64_t& lo,
                        int64_t& hi) {
  lo = P - k > 0 ? (P - k + S - 1) / S : 0;
  hi = W - 1 + P - k >= 0 ? std::min(OW, (W - 1 + P - k) / S + 1) : 0;
  if (lo > hi) lo = hi;
}

// The column matrix of images [n0, n1): col[(c, ki, kj), (n - n0, oh, ow)] =
// x[n, c, oh*SH - PH + ki*DH, ow*SW - PW + kj*DW] (0 outside), rows of length L = (n1 - n0) * OH * OW.
// Shapes are copied to locals first: the loops are short (OW is often 8 to 24), so keeping every
// bound in a register matters more than anything inside them.
template <class T>
inline void im2col(const Conv2dShape& s, const T* x, int64_t n0, int64_t n1, T* col) {
  const int64_t C = s.C, H = s.H, W = s.W, KH = s.KH, KW = s.KW, SH = s.SH, SW = s.SW;
  const int64_t PH = s.PH, PW = s.PW, OH = s.OH, OW = s.OW, OHW = OH * OW, L = (n1 - n0) * OHW;
  const int64_t DH = s.DH, DW = s.DW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t ki = 0; ki < KH; ++ki) {
      // output rows whose input row oh*SH - PH + ki*DH is inside [0, H)
      int64_t oh_lo, oh_hi;
      valid_range(ki * DH, SH, PH, H, OH, oh_lo, oh_hi);
      for (int64_t kj = 0; kj < KW; ++kj) {
        T* row = col + ((c * KH + ki) * KW + kj) * L;
        int64_t lo, hi;
        valid_range(kj * DW, SW, PW, W, OW, lo, hi);
        for (int64_t n = n0; n < n1; ++n) {
          const T* src = x + (n * C + c) * H * W + (ki * DH - PH) * W + (kj * DW - PW);
          T* dst = row + (n - n0) * OHW;
          std::fill(dst, dst + oh_lo * OW, T(0));
          if (SW == 1 && lo == 0 && hi == OW) {           // no column padding: plain row copies
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              const T* a = src + oh * SH * W;
              T* b = dst + oh * OW;
#pragma omp simd
              for (int64_t ow = 0; ow < OW; ++ow) b[ow] = a[ow];
            }
          } else {
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              const T* a = src + oh * SH * W;
              T* b = dst + oh * OW;
              for (int64_t ow = 0; ow < lo; ++ow) b[ow] = T(0);
              for (int64_t ow = lo; ow < hi; ++ow) b[ow] = a[ow * SW];
              for (int64_t ow = hi; ow < OW; ++ow) b[ow] = T(0);
            }
          }
          std::fill(dst + oh_hi * OW, dst + OHW, T(0));
        }
      }
    }
}

// dx[n, c, ih, iw] += col[(c, ki, kj), (n - n0, oh, ow)] for images [n0, n1): im2col transposed
template <class T>
inline void col2im(const Conv2dShape& s, const T* col, int64_t n0, int64_t n1, T* dx) {
  const int64_t C = s.C, H = s.H, W = s.W, KH = s.KH, KW = s.KW, SH = s.SH, SW = s.SW;
  const int64_t PH = s.PH, PW = s.PW, OH = s.OH, OW = s.OW, OHW = OH * OW, L = (n1 - n0) * OHW;
  const int64_t DH = s.DH, DW = s.DW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t ki = 0; ki < KH; ++ki) {
      int64_t oh_lo, oh_hi;
      valid_range(ki * DH, SH, PH, H, OH, oh_lo, oh_hi);
      for (int64_t kj = 0; kj < KW; ++kj) {
        const T* row = col + ((c * KH + ki) * KW + kj) * L;
        int64_t lo, hi;
        valid_range(kj * DW, SW, PW, W, OW, lo, hi);
        for (int64_t n = n0; n < n1; ++n) {
          T* dst = dx + (n * C + c) * H * W + (ki * DH - PH) * W + (kj * DW - PW);
          const T* src = row + (n - n0) * OHW;
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            T* a = dst + oh * SH * W;
            const T* b = src + oh * OW;
            if (SW == 1) {
#pragma omp simd
              for (int64_t ow = lo; ow < hi; ++ow) a[ow] += b[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) a[ow * SW] += b[ow];
            }
          }
        }
      }
    }
}

// (A, B, inner) -> (B, A, inner): the batched gemm works on channel-major rows
template <class T>
inline void swap_batch_channel(const T* in, T* out, int64_t A, int64_t B, int64_t inner) {
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(out + (b * A + a) * inner, in + (a * B + b) * inner, sizeof(T) * inner);
}

// Two strategies. With one BLAS thread, one gemm per image: its column matrix stays in cache and
// the product lands in place (the output is (N, O, OH*OW) = N blocks of W @ col). With several,
// one gemm over the whole batch, which BLAS can split across threads; it costs a (N, O) <-> (O, N)
// transpose of the output or cotangent.
inline bool conv_batched() { return STAGE_BLAS(openblas_get_num_threads)() > 1; }

// out (N, O, OH, OW) = conv(x (N, C, H, W), w (O, C, KH, KW))
template <class T>
inline void conv2d(const Conv2dShape& s, const T* x, const T* w, T* out) {
  const int64_t K = s.ckk(), OHW = s.ohw();
  if (!conv_batched()) {
    Frame scratch(sizeof(T) * K * OHW);
    T* col = (T*)scratch.base;
    for (int64_t n = 0; n < s.N; ++n) {
      im2col(s, x, n, n + 1, col);
      matmul<T>(false, false, s.O, OHW, K, w, K, col, OHW, T(0), out + n * s.O * OHW, OHW);
    }
    return;
  }
  const int64_t L = s.N * OHW;
  Frame scratch(sizeof(T) * (K + s.O) * L);
  T* col = (T*)scratch.base;
  T* y = col + K * L;                                      // (O, N*OH*OW)
  im2col(s, x, 0, s.N, col);
  matmul<T>(false, false, s.O, L, K, w, K, col, L, T(0), y, L);
  swap_batch_channel(y, out, s.O, s.N, OHW);
}

// dx (N, C, H, W) from g (N, O, OH, OW) and w: col2im(w^T @ g)
template <class T>
inline void conv2d_grad_input(const Conv2dShape& s, const T* g, const T* w, T* dx) {
  const int64_t K = s.ckk(), OHW = s.ohw();
  std::fill(dx, dx + s.N * s.C * s.H * s.W, T(0));
  if (!conv_batched()) {
    Frame scratch(sizeof(T) * K * OHW);
    T* dcol = (T*)scratch.base;
    for (int64_t n = 0; n < s.N; ++n) {
      matmul<T>(true, false, K, OHW, s.O, w, K, g + n * s.O * OHW, OHW, T(0), dcol, OHW);
      col2im(s, dcol, n, n + 1, dx);
    }
    return;
  }
  const int64_t L = s.N * OHW;
  Frame scratch(sizeof(T) * (K + s.O) * L);
  T* dcol = (T*)scratch.base;
  T* gt = dcol + K * L;
  swap_batch_channel(g, gt, s.N, s.O, OHW);
  matmul<T>(true, false, K, L, s.O, w, K, gt, L, T(0), dcol, L);
  col2im(s, dcol, 0, s.N, dx);
}

// dw (O, C, KH, KW) from x and g: sum over images of g[n] @ im2col(x[n])^T
template <class T>
inline void conv2d_grad_weight(const Conv2dShape& s, const T* x, const T* g, T* dw) {
  const int64_t K = s.ckk(), OHW = s.ohw();
  if (!conv_batched()) {
    Frame scratch(sizeof(T) * K * OHW);
    T* col = (T*)scratch.base;
    for (int64_t n = 0; n < s.N; ++n) {
      im2col(s, x, n, n + 1, col);
      matmul<T>(false, true, s.O, K, OHW, g + n * s.O * OHW, OHW, col, OHW, T(n ? 1 : 0), dw, K);
    }
    if (s.N == 0) std::fill(dw, dw + s.O * K, T(0));
    return;
  }
  const int64_t L = s.N * OHW;
  Frame scratch(sizeof(T) * (K + s.O) * L);
  T* col = (T*)scratch.base;
  T* gt = col + K * L;
  im2col(s, x, 0, s.N, col);
  swap_batch_channel(g, gt, s.N, s.O, OHW);
  matmul<T>(false, true, s.O, K, L, gt, L, col, L, T(0), dw, K);
}

// ------------------------------------------------------------------------------------------ pooling

struct Pool2dShape {
  int64_t planes, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
};

// One row (p, oh) of max pooling: best[ow] = the window's maximum (padding never wins, as in
// PyTorch; NaN wins), at[ow] (if not null) = the flat position in x of the first maximum in scan
// order. Rows of outputs are the vectorised inner loop: best[ow] = max(best[ow], x[ih, ow*SW+kj]).
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

// out = the windows' maxima, idx = where they came from (either may be null)
template <class T>
inline void max_pool2d(const Pool2dShape& s, const T* x, T* out, int64_t* idx) {
  Frame scratch(out ? 0 : sizeof(T) * s.OW);
  for (int64_t p = 0; p < s.planes; ++p)
    for (int64_t oh = 0; oh < s.OH; ++oh) {
      const int64_t o = (p * s.OH + oh) * s.OW;
      max_pool_row(s, x, p, oh, out ? out + o : (T*)scratch.base, idx ? idx + o : nullptr);
    }
}

// dx = g routed to each window's first maximum (max pooling's gradient), in one pass over x
template <class T>
inline void max_pool2d_grad(const Pool2dShape& s, const T* x, const T* g, T* dx) {
  Frame scratch((sizeof(T) + sizeof(int64_t)) * s.OW);
  int64_t* at = (int64_t*)scratch.base;
  T* best = (T*)(at + s.OW);
  std::fill(dx, dx + s.planes * s.H * s.W, T(0));
  for (int64_t p = 0; p < s.planes; ++p)
    for (int64_t oh = 0; oh < s.OH; ++oh) {
      max_pool_row(s, x, p, oh, best, at);
      const T* gr = g + (p * s.OH + oh) * s.OW;
      for (int64_t ow = 0; ow < s.OW; ++ow) dx[at[ow]] += gr[ow];
    }
}

// out = the window's mean over KH*KW positions (padding counts as zeros: count_include_pad)
template <class T>
inline void avg_pool2d(const Pool2dShape& s, const T* x, T* out) {
  const T scale = T(1) / T(s.KH * s.KW);
  for (int64_t p = 0; p < s.planes; ++p) {
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
}

// dx = the transpose of avg_pool2d applied to g
template <class T>
inline void avg_pool2d_grad(const Pool2dShape& s, const T* g, T* dx) {
  const T scale = T(1) / T(s.KH * s.KW);
  std::fill(dx, dx + s.planes * s.H * s.W, T(0));
  for (int64_t p = 0; p < s.planes; ++p) {
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
}

// ------------------------------------------------------------------------------------------ random
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
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t bits = mix64(key + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
    if (sizeof(T) == 4) out[i] = T(bits >> 40) * T(1.0 / 16777216.0);
    else out[i] = T(bits >> 11) * T(1.0 / 9007199254740992.0);
  }
}

}  // namespace stage
