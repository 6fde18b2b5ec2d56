// Convolution, called by the ops of stage/ir/ops/conv.py (pooling is pooling.h, random numbers
// random.h). Arrays are NCHW and contiguous. A convolution is im2col + gemm per chunk of images;
// scratch lives in the arena (a Frame released when the kernel returns).
#pragma once

namespace stage {

// The shapes are constants at every call site: inlining the kernels there lets g++ specialise
// im2col's short loops on them (2.5x on the CNN's second convolution), which it stops doing on
// its own once a kernel grows past its inlining limits.
#define STAGE_SPECIALISE inline __attribute__((always_inline))


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
STAGE_SPECIALISE void im2col(const Conv2dShape& s, const T* x, int64_t n0, int64_t n1, T* col) {
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
STAGE_SPECIALISE void col2im(const Conv2dShape& s, const T* col, int64_t n0, int64_t n1, T* dx) {
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

// Images per gemm: enough for the gemm to have >= 128 columns (a gemm per image is too small for
// BLAS when an image has few output positions: the CNN's second layer has 64, and its weight
// gradient then spends as long packing operands as multiplying), within 256 KiB of column matrix
// so that it stays in L2 between im2col and the gemm. More images per chunk measured slower (the
// (n, O) <-> (O, n) transposes a chunk needs, and cache), and so did one gemm over the whole batch
// for BLAS to split between threads: 9-12 ms a CNN step on 2 threads against 5.5-6 ms this way on
// either 1 or 2 (benchmarks/bench_cnn.py times the layers alone). The chunks are what threads
// share out: each thread runs whole chunks (its own im2col and gemm) on its own scratch.
inline int64_t conv_chunk(const Conv2dShape& s, int64_t bytes_per_image) {
  const int64_t columns = 128;
  const int64_t n = std::max<int64_t>(s.N, 1);
  const int64_t want = (columns + s.ohw() - 1) / std::max<int64_t>(s.ohw(), 1);
  return std::max<int64_t>(1, std::min({n, want, (int64_t(256) << 10) / bytes_per_image}));
}

// The geometry of a call site: a Conv2dShape, or (from generated code) a captureless lambda
// returning one, whose constants every thread's copy of the kernel then sees -- g++ specialises
// im2col's short loops on them (2.5x on the CNN's second convolution), which it cannot do through
// the pointer a thread pool passes.
inline Conv2dShape conv_shape(const Conv2dShape& s) { return s; }
template <class S> inline Conv2dShape conv_shape(const S& s) { return s(); }

// out (N, O, OH, OW) = conv(x (N, C, H, W), w (O, C, KH, KW)): per chunk, w @ im2col(x)
template <class T, class S>
STAGE_SPECIALISE void conv2d(const S& shape, const T* x, const T* w, T* out) {
  const Conv2dShape s0 = conv_shape(shape);
  const int64_t nb = conv_chunk(s0, sizeof(T) * s0.ckk() * s0.ohw());
  const int64_t chunks = (s0.N + nb - 1) / nb;
  parallel_for(chunks, grain_for(double(s0.O) * s0.ckk() * nb * s0.ohw()),
               [&](int64_t c0, int64_t c1) {
    const Conv2dShape s = conv_shape(shape);
    const int64_t K = s.ckk(), OHW = s.ohw(), O = s.O;
    Frame scratch(sizeof(T) * (K + (nb > 1 ? O : 0)) * nb * OHW);
    T* col = (T*)scratch.base;
    T* y = col + K * nb * OHW;                               // (O, chunk*OH*OW)
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n0 = c * nb, n1 = std::min(s.N, n0 + nb), L = (n1 - n0) * OHW;
      im2col(s, x, n0, n1, col);
      if (n1 - n0 == 1) {                                   // the product lands in place
        matmul<T>(false, false, O, L, K, w, K, col, L, T(0), out + n0 * O * OHW, L);
      } else {
        matmul<T>(false, false, O, L, K, w, K, col, L, T(0), y, L);
        swap_batch_channel(y, out + n0 * O * OHW, O, n1 - n0, OHW);
      }
    }
  });
}

// the cotangent of images [n0, n1) as (O, chunk*OH*OW) rows: in place for one image
template <class T>
inline const T* channel_major(const Conv2dShape& s, const T* g, int64_t n0, int64_t n1, T* buf) {
  if (n1 - n0 == 1) return g + n0 * s.O * s.ohw();
  swap_batch_channel(g + n0 * s.O * s.ohw(), buf, n1 - n0, s.O, s.ohw());
  return buf;
}

// dx (N, C, H, W) from g (N, O, OH, OW) and w: per chunk, col2im(w^T @ g)
template <class T, class S>
STAGE_SPECIALISE void conv2d_grad_input(const S& shape, const T* g, const T* w, T* dx) {
  const Conv2dShape s0 = conv_shape(shape);
  const int64_t nb = conv_chunk(s0, sizeof(T) * s0.ckk() * s0.ohw());
  const int64_t chunks = (s0.N + nb - 1) / nb;
  parallel_for(chunks, grain_for(double(s0.O) * s0.ckk() * nb * s0.ohw()),
               [&](int64_t c0, int64_t c1) {
    const Conv2dShape s = conv_shape(shape);
    const int64_t K = s.ckk(), OHW = s.ohw(), O = s.O, CHW = s.C * s.H * s.W;
    Frame scratch(sizeof(T) * (K + (nb > 1 ? O : 0)) * nb * OHW);
    T* dcol = (T*)scratch.base;
    T* gt = dcol + K * nb * OHW;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n0 = c * nb, n1 = std::min(s.N, n0 + nb), L = (n1 - n0) * OHW;
      std::fill(dx + n0 * CHW, dx + n1 * CHW, T(0));
      matmul<T>(true, false, K, L, O, w, K, channel_major(s, g, n0, n1, gt), L, T(0), dcol, L);
      col2im(s, dcol, n0, n1, dx);
    }
  });
}

// dw (O, C, KH, KW) from x and g: the sum over chunks of g @ im2col(x)^T, computed transposed
// (im2col(x) @ g^T, then one (K, O) -> (O, K) copy): BLAS's kernels do better with the long side
// K = C*KH*KW as the gemm's rows than with O (about 15% on the CNN's second layer). The chunks are
// summed in groups fixed by the shape (one partial dw^T per group, added in group order), so threads
// share the groups and the result is the same for any number of threads.
template <class T, class S>
STAGE_SPECIALISE void conv2d_grad_weight(const S& shape, const T* x, const T* g, T* dw) {
  const Conv2dShape s0 = conv_shape(shape);
  const int64_t K = s0.ckk(), O = s0.O;
  const int64_t nb = conv_chunk(s0, sizeof(T) * K * s0.ohw());
  const int64_t chunks = (s0.N + nb - 1) / nb;
  // groups: partial sums cost K*O adds each, under 1/32 of the products they sum
  const double work = double(K) * O * s0.N * s0.ohw();
  const int64_t groups = work < 2.0 * PARALLEL_GRAIN ? 1 :
      std::max<int64_t>(1, std::min<int64_t>({chunks, 16, s0.N * s0.ohw() / 32}));
  Frame partials(sizeof(T) * groups * K * O);
  T* parts = (T*)partials.base;                              // groups x dw^T (K, O)
  parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
    const Conv2dShape s = conv_shape(shape);
    const int64_t OHW = s.ohw();
    Frame scratch(sizeof(T) * (K + (nb > 1 ? O : 0)) * nb * OHW);
    T* col = (T*)scratch.base;
    T* gt = col + K * nb * OHW;
    for (int64_t gr = g0; gr < g1; ++gr) {
      T* dwt = parts + gr * K * O;
      const int64_t c0 = chunk_begin(chunks, groups, gr), c1 = chunk_begin(chunks, groups, gr + 1);
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t n0 = c * nb, n1 = std::min(s.N, n0 + nb), L = (n1 - n0) * OHW;
        im2col(s, x, n0, n1, col);
        matmul<T>(false, true, K, O, L, col, L, channel_major(s, g, n0, n1, gt), L, T(c > c0 ? 1 : 0),
                  dwt, O);
      }
      if (c0 == c1) std::fill(dwt, dwt + K * O, T(0));
    }
  });
  parallel_for(O, grain_for(double(K) * groups), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t k = 0; k < K; ++k) {
        T v = parts[k * O + o];
        for (int64_t gr = 1; gr < groups; ++gr) v += parts[gr * K * O + k * O + o];
        dw[o * K + k] = v;
      }
  });
}

}  // namespace stage
