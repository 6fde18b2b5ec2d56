// stage runtime: what generated code includes. Errors (thrown as stage::Error and turned into return
// codes at the entry), the per-thread arena, non-owning closures (fref), the big stack that recursive
// programs run on, parallel loops, and the kernels (elementwise helpers, reductions, BLAS wrappers,
// nn kernels).
#pragma once
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <algorithm>
#include <limits>
#include <new>
#include <type_traits>
#include <time.h>
#include <csignal>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace stage {

// ------------------------------------------------------------------------------------------ errors

enum Code : int { OK = 0, INDEX_ERROR = 1, VALUE_ERROR = 2, RECURSION_ERROR = 3, MEMORY_ERROR = 4,
                  RUNTIME_ERROR = 5, /* 6: file I/O, exported libraries only */ INTERRUPTED = 7 };

struct Error {
  int code;
};

inline char* error_message() {
  static thread_local char msg[512];
  return msg;
}

[[noreturn]] inline void fail(int code, const char* fmt, long long a = 0, long long b = 0,
                              const char* where = "") {
  std::snprintf(error_message(), 512, fmt, a, b, where);
  throw Error{code};
}

// an index i into a dimension of size n, negative counting from the end (NumPy); checked
inline int64_t check_index(int64_t i, int64_t n, const char* where) {
  if (i < -n || i >= n) fail(INDEX_ERROR, "index %lld is out of bounds for size %lld (%s)", i, n, where);
  return i < 0 ? i + n : i;
}

// ------------------------------------------------------------------------------------------ arena
// A bump allocator in chunks that stay allocated between calls: frames are pushed and popped in
// stack order (a function's buffers live exactly as long as its call), so nothing is freed per op.
// Chunks are 2 MiB or more, 2 MiB-aligned and asked for transparent huge pages (Linux's default
// `madvise` mode gives them only to memory that asks): on 4 KiB pages the char GPT's 10 MB of
// buffers missed the TLB -- in a VM every miss walks two page tables -- and its step ran 20-50%
// slower at one thread and 15-40% slower at two.

struct Arena {
  static constexpr size_t HUGE_PAGE = size_t(1) << 21;
  struct Chunk { char* mem; size_t size; };
  Chunk chunks[64];
  int nchunks = 0, cur = -1;
  size_t used = 0;

  char* push(size_t bytes, int& save_chunk, size_t& save_used) {
    save_chunk = cur; save_used = used;
    bytes = (bytes + 63) & ~size_t(63);
    while (cur < 0 || used + bytes > chunks[cur].size) {
      if (cur + 1 < nchunks && chunks[cur + 1].size >= bytes) { ++cur; used = 0; break; }
      if (cur + 1 < nchunks) {                      // too small a spare chunk: replace it
        std::free(chunks[cur + 1].mem);
        --nchunks;
        for (int i = cur + 1; i < nchunks; ++i) chunks[i] = chunks[i + 1];
      }
      if (nchunks == 64) fail(MEMORY_ERROR, "stage arena: too many chunks (%lld bytes requested)",
                              (long long)bytes);
      size_t size = std::max(bytes, nchunks ? chunks[nchunks - 1].size * 2 : HUGE_PAGE);
      void* mem = nullptr;
      const bool huge = size >= HUGE_PAGE;
      if (huge) size = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
      if (posix_memalign(&mem, huge ? HUGE_PAGE : 64, size) != 0)
        fail(MEMORY_ERROR, "stage arena: out of memory allocating %lld bytes", (long long)size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (huge) madvise(mem, size, MADV_HUGEPAGE);
#endif
      for (int i = nchunks; i > cur + 1; --i) chunks[i] = chunks[i - 1];
      chunks[cur + 1] = Chunk{(char*)mem, size};
      ++nchunks; ++cur; used = 0;
      break;
    }
    char* p = chunks[cur].mem + used;
    used += bytes;
    return p;
  }
  void pop(int chunk, size_t u) { cur = chunk; used = u; }
  ~Arena() { for (int i = 0; i < nchunks; ++i) std::free(chunks[i].mem); }   // at thread exit
};

inline Arena& arena() {
  static thread_local Arena a;
  return a;
}

// A function's frame of buffers, released when the function returns (or unwinds).
struct Frame {
  char* base;
  int chunk; size_t used;
  explicit Frame(size_t bytes) { base = bytes ? arena().push(bytes, chunk, used) : nullptr;
                                 if (!bytes) { chunk = arena().cur; used = arena().used; } }
  ~Frame() { arena().pop(chunk, used); }
  Frame(const Frame&) = delete;
};

// ------------------------------------------------------------------------------------------ closures
// A non-owning reference to a callable (a lambda in an enclosing frame): a continuation or a staged
// function. Two words, no allocation; valid while the lambda's frame is on the stack, which CPS
// guarantees.

template <class Sig> struct fref;
template <class R, class... A> struct fref<R(A...)> {
  void* obj = nullptr;
  R (*fn)(void*, A...) = nullptr;
  fref() = default;
  template <class F, class = std::enable_if_t<!std::is_same<std::decay_t<F>, fref>::value>>
  fref(F& f) : obj((void*)&f), fn([](void* o, A... a) -> R { return (*(F*)o)(a...); }) {}
  R operator()(A... a) const { return fn(obj, a...); }
};

// ------------------------------------------------------------------------------------------ stack
// Recursive programs (loops under grad, tree recursion) keep the tape in native stack frames, so they
// run on a large stack of their own; every closure checks the remaining space first and raises
// RecursionError instead of overflowing.

inline char*& stack_limit() {
  static thread_local char* lim = nullptr;
  return lim;
}

// ------------------------------------------------------------------------------------------ interrupts
// Ctrl-C while a program runs: stage::run (entry.h) installs a SIGINT handler for the duration of a
// call from Python that sets `interrupt_flag`; loops and closures poll it and unwind with
// INTERRUPTED, which the loader raises as KeyboardInterrupt. The poll is one load of a
// process-global flag and a branch the CPU predicts as not taken -- cheaper than counting calls to
// read it every few thousand, which would cost a load, an add and a store (of a thread-local, i.e. a
// call into the TLS resolver in a shared library). `interrupt_thread` makes only the thread that
// installed the handler (Python's main thread) stop: other threads' calls run on, as Python only
// interrupts its main thread.

inline volatile std::sig_atomic_t& interrupt_flag() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}
inline bool& interrupt_thread() {
  static thread_local bool mine = false;
  return mine;
}
[[noreturn]] inline void interrupted() {
  interrupt_flag() = 0;
  fail(INTERRUPTED, "interrupted (SIGINT) while running native code");
}
inline void poll_interrupt() {
  if (__builtin_expect(interrupt_flag() != 0, 0) && interrupt_thread()) interrupted();
}
#define STAGE_POLL_INTERRUPT() ::stage::poll_interrupt()

#define STAGE_CHECK_STACK()                                                                         \
  do {                                                                                              \
    char probe_;                                                                                    \
    if (&probe_ < ::stage::stack_limit())                                                           \
      ::stage::fail(::stage::RECURSION_ERROR,                                                       \
                    "staged recursion too deep for the native stack (%lld MiB; set "               \
                    "STAGE_STACK_MB to raise it)", (long long)::stage::stack_mb());         \
    ::stage::poll_interrupt();                                                                      \
  } while (0)

size_t stack_mb();

// ------------------------------------------------------------------------------------------ profiling
// Only profiling builds (st.compile(fn, profile=True)) call these: nanoseconds and calls per op kind.

struct ProfTable {
  int64_t ns[512] = {};
  long long calls[512] = {};
};
inline ProfTable& prof_table() {
  static thread_local ProfTable t;
  return t;
}
inline int64_t prof_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
inline void prof_add(int op, int64_t t0) {
  ProfTable& t = prof_table();
  t.ns[op & 511] += prof_now() - t0;
  t.calls[op & 511] += 1;
}
inline void prof_read(int n, double* seconds, long long* calls) {
  ProfTable& t = prof_table();
  for (int i = 0; i < n && i < 512; ++i) {
    seconds[i] = t.ns[i] * 1e-9;
    calls[i] = t.calls[i];
    t.ns[i] = 0;
    t.calls[i] = 0;
  }
}

// ------------------------------------------------------------------------------------------ math
// float exp and tanh as branch-free polynomials (Cephes' expf/tanhf, ~2 ulp) so that g++ vectorises
// the loops they appear in; libm's scalar calls cost more than everything else in a recurrent
// step. double keeps libm (the float64 tier is the accurate one, used for gradient checks).

inline float exp(float x) {
  const float xc = std::min(std::max(x, -87.33654475f), 88.72283905f);
  const float fx = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  const float r = xc - fx * 0.693359375f + fx * 2.12194440e-4f;
  const float z = r * r;
  float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
              4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  int32_t bits = ((int32_t)fx + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  y *= scale;
  y = x < -87.33654475f ? 0.0f : y;
  y = x > 88.72283905f ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}
inline double exp(double x) { return std::exp(x); }

inline float tanh(float x) {
  const float a = std::fabs(x);
  const float z = x * x;            // small |x|: odd polynomial, no cancellation
  const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                        1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  const float e = exp(-2.0f * std::min(a, 44.0f));
  const float big = std::copysign((1.0f - e) / (1.0f + e), x);
  return a < 0.625f ? small : big;
}
inline double tanh(double x) { return std::tanh(x); }

template <class T> inline T sigmoid(T x) { return T(1) / (T(1) + exp(-x)); }
// GELU and g times its derivative (stage/ir/ops/gelu.py): x Phi(x), or with tanh_form GPT-2's
// 0.5 x (1 + tanh(c (x + a x^3))), c = sqrt(2 / pi), a = 0.044715
template <class T> inline T gelu(T x, bool tanh_form) {
  if (tanh_form)
    return T(0.5) * x * (T(1) + tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
  return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
}
template <class T> inline T gelu_grad(T x, T g, bool tanh_form) {
  if (tanh_form) {
    const T c = T(0.7978845608028654), a = T(0.044715);
    const T t = tanh(c * (x + a * x * x * x));
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3) * a * x * x));
  }
  return g * (T(0.5) * (T(1) + std::erf(x * T(0.7071067811865476))) +
              x * exp(T(-0.5) * x * x) * T(0.3989422804014327));
}
template <class T> inline T relu(T x) { return x > T(0) ? x : T(0); }
template <class T> inline T sign(T x) { return T((x > T(0)) - (x < T(0))); }
template <class T> inline T clip(T x, T lo, T hi) { return std::min(std::max(x, lo), hi); }
// NumPy's isnan/isinf/isfinite/signbit, also of integers and bools (never NaN or infinite)
template <class T> inline bool is_nan(T x) {
  if constexpr (std::is_floating_point<T>::value) return std::isnan(x); else return false;
}
template <class T> inline bool is_inf(T x) {
  if constexpr (std::is_floating_point<T>::value) return std::isinf(x); else return false;
}
template <class T> inline bool is_finite(T x) {
  if constexpr (std::is_floating_point<T>::value) return std::isfinite(x); else return true;
}
template <class T> inline bool sign_bit(T x) {
  if constexpr (std::is_floating_point<T>::value) return std::signbit(x);
  else if constexpr (std::is_signed<T>::value) return x < 0; else return false;
}
// Python's (and NumPy's) // and % on integers (x // 0 and x % 0 are 0 here, as in NumPy: codegen
// checks the divisor) and on floats, where both come from fmod so that a == (a // b) * b + a % b:
// 1.0 // 0.1 is 9.0, not floor(1.0 / 0.1) = 10.0 (NumPy's npy_divmod).
template <class T> inline T floordiv(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    T q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
  } else {
    if (b == T(0)) return a / b;
    T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
    if (div == T(0)) return std::copysign(T(0), a / b);
    T f = std::floor(div);
    return div - f > T(0.5) ? f + T(1) : f;
  }
}
template <class T> inline T pymod(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    T r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else {
    if (b == T(0)) return std::fmod(a, b);
    T r = std::fmod(a, b);
    if (r == T(0)) return std::copysign(T(0), b);
    return ((r < T(0)) != (b < T(0))) ? r + b : r;
  }
}

}  // namespace stage

#include "parallel.h"   // parallel loops over the thread pool (pool.h)
#include "kernels.h"
#include "deferred.h"
#include "print.h"        // st.print
