// Parallel loops over stage's thread pool (pool.h): what generated code and the kernels call.
//
// Work is split into parts by its size, never by who is free: `parallel_for` gives each thread a
// contiguous range of an index space whose iterations are independent (elementwise loops, a batch
// of images, rows), so the split cannot change a result; work whose parts are combined (a sum of
// partial sums) uses `fixed_chunks`, a split that depends on the work alone, and combines the
// chunks in order -- results are then identical for any number of threads. A region's errors are
// raised on the calling thread (the lowest failing part's). Inside a region (a kernel called from
// a parallel loop) everything runs serially on the thread already running it.
#pragma once
#include <mutex>
#include "pool.h"
#if defined(STAGE_PARALLEL_OPENMP)
#include <omp.h>
#endif

namespace stage {

// Work (elements times operations; multiply-adds for products) below which waking a thread costs
// more than it saves: generated code gets the same number from stage/codegen/parallel.py (which
// defines STAGE_PARALLEL_GRAIN when a test sets $STAGE_PARALLEL_GRAIN to split everything).
#if defined(STAGE_PARALLEL_GRAIN)
constexpr int64_t PARALLEL_GRAIN = STAGE_PARALLEL_GRAIN;
#else
constexpr int64_t PARALLEL_GRAIN = int64_t(1) << 15;
#endif

inline int threads_available() {
#if defined(STAGE_PARALLEL_OPENMP)          // benchmarks/parallel_dispatch.cpp: OpenMP instead
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return stage_pool_available();
#endif
}

// The error of the lowest part that failed, raised on the caller's thread after the region.
struct PartError {
  std::mutex m;
  int64_t part = -1;
  int code = 0;
  char msg[512];
  void record(int64_t p, int c, const char* text) {
    std::lock_guard<std::mutex> lock(m);
    if (part < 0 || p < part) {
      part = p;
      code = c;
      std::snprintf(msg, sizeof msg, "%s", text);
    }
  }
  void rethrow() {
    if (part < 0) return;
    std::snprintf(error_message(), 512, "%s", msg);
    throw Error{code};
  }
};

template <class F>
struct PartJob {
  F* f;
  PartError err;
  static void run(void* p, int64_t part, int64_t) {
    PartJob* j = (PartJob*)p;
    try {
      (*j->f)(part);
    } catch (const Error& e) {
      j->err.record(part, e.code, error_message());
    } catch (const std::bad_alloc&) {
      j->err.record(part, MEMORY_ERROR, "out of memory");
    } catch (...) {
      j->err.record(part, RUNTIME_ERROR, "unexpected native exception");
    }
  }
};

// f(part) once for each part in [0, nparts), on the pool's threads
template <class F>
inline void run_parts(int64_t nparts, F&& f) {
  if (nparts <= 1) {
    if (nparts == 1) f(int64_t(0));
    return;
  }
  using Fn = std::remove_reference_t<F>;
  PartJob<Fn> job{&f, {}};
#if defined(STAGE_PARALLEL_OPENMP)
#pragma omp parallel for schedule(static, 1) num_threads((int)nparts)
  for (int64_t p = 0; p < nparts; ++p) PartJob<Fn>::run(&job, p, nparts);
#else
  stage_pool_run(&PartJob<Fn>::run, &job, nparts);
#endif
  job.err.rethrow();
}

// body(lo, hi) over [0, n) in contiguous ranges of at least `grain` iterations, at most one range
// per available thread
template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& body) {
  if (n <= 0) return;
  int64_t parts = n / std::max<int64_t>(grain, 1);
  if (parts > 1) parts = std::min<int64_t>(parts, threads_available());
  if (parts <= 1) {
    body(int64_t(0), n);
    return;
  }
  run_parts(parts, [&](int64_t p) { body(n * p / parts, n * (p + 1) / parts); });
}

// Generated loops (`grain` iterations are one PARALLEL_GRAIN of work, so n / grain counts grains)
// with fewer than COLD_GRAINS grains run on the caller alone while the pool's workers sleep:
// waking one (a futex wake, then the kernel scheduling it) costs more than such a loop saves.
// Once a bigger loop or a kernel has woken them, they poll for a while (STAGE_SPIN_US) and the
// small loops that follow are shared out. Either way the parts and the results are the same.
// 16: the char-LSTM's and min-char-rnn's Adagrad updates (9 grains, 2-5 us of vector work) made
// their steps 2-4% slower at 2 threads with 8 (benchmarks/bench_scaling.py).
#if defined(STAGE_COLD_GRAINS)
constexpr int64_t COLD_GRAINS = STAGE_COLD_GRAINS;
#else
constexpr int64_t COLD_GRAINS = 16;
#endif

template <class F>
inline void parallel_loop(int64_t n, int64_t grain, F&& body) {
#if !defined(STAGE_PARALLEL_OPENMP)
  if (n < COLD_GRAINS * std::max<int64_t>(grain, 1) && !stage_pool_warm()) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
#endif
  parallel_for(n, grain, static_cast<F&&>(body));
}

// An in-place update of the caller's arrays smaller than the cores' caches
// (stage/codegen/parallel.py: UPDATE_WAKE_BYTES): shared out only when the pool's threads are
// awake, so a step that otherwise runs on one thread keeps its parameters in that core's cache.
template <class F>
inline void parallel_loop_awake(int64_t n, int64_t grain, F&& body) {
#if !defined(STAGE_PARALLEL_OPENMP)
  if (!stage_pool_warm()) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
#endif
  parallel_for(n, grain, static_cast<F&&>(body));
}

// Iterations per part for a loop whose iterations cost `work` each (see PARALLEL_GRAIN)
inline int64_t grain_for(double work) {
  return std::max<int64_t>(1, (int64_t)(double(PARALLEL_GRAIN) / std::max(work, 1.0)));
}

// How many chunks to combine a reduction of n items from: a function of the work alone (at least
// `min_items` items a chunk, at most `max_chunks` chunks), so the combination -- and the rounding
// -- is the same whatever the number of threads.
inline int64_t fixed_chunks(int64_t n, int64_t min_items, int64_t max_chunks) {
  return std::max<int64_t>(1, std::min<int64_t>(max_chunks, n / std::max<int64_t>(min_items, 1)));
}

// The range of items of chunk c of n split into `chunks`
inline int64_t chunk_begin(int64_t n, int64_t chunks, int64_t c) { return n * c / chunks; }

}  // namespace stage
