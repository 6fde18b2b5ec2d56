// The thread pool behind stage's parallel loops (the definitions of pool.h's C functions).
//
// Compiled once per process: stage's Python side builds it into a small shared library that every
// generated library links (so all of them share one set of threads), and an exported library
// compiles it into itself. BLAS runs single-threaded on these threads: big products are split by
// stage (kernels.h), so OpenBLAS's own threads never run next to these (no 2 x 2 threads on 2
// cores).
//
// A region is `nparts` independent parts. The caller wakes up to nparts - 1 workers and then claims
// parts itself like any worker (a claim word tagged with the region's generation), so a worker that
// is slow to wake (a busy machine) never holds the caller up: the caller runs the parts nobody has
// claimed. Each thread asks for its own part first (see run_parts). Which thread runs a part never
// changes a result (callers split work the same way for any thread count). Idle workers spin for a
// short while only while a native call is running (the next loop of the same call usually follows
// within microseconds), then sleep on a futex. A worker awake when a call ends polls a little
// longer (200 us) for the next call: back-to-back training steps then find it awake, where a futex
// wake-up costs tens of microseconds (80-90 us on a KVM guest: the MLP's first product ran 1.3x
// faster at 2 threads instead of 1.5x); a call that never woke the pool leaves it asleep. Nested
// regions (a kernel's parallel loop inside a parallel example) and a second caller while the pool
// is busy run serially on the calling thread.
#pragma once
#include "pool.h"
#include <atomic>
#include <new>
#include <algorithm>
#include <ctime>
#include <mutex>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

namespace stage_pool {

constexpr int MAX_THREADS = 256;

inline void futex_wait(std::atomic<uint32_t>* w, uint32_t seen) {
  syscall(SYS_futex, (uint32_t*)w, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}
inline void futex_wake(std::atomic<uint32_t>* w, int n) {
  syscall(SYS_futex, (uint32_t*)w, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// $STAGE_NUM_THREADS, else the CPUs this process may run on
inline int default_threads() {
  const char* s = std::getenv("STAGE_NUM_THREADS");
  if (s && *s) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end && !*end && v >= 1) return (int)std::min<long>(v, MAX_THREADS);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, std::min(CPU_COUNT(&set), MAX_THREADS));
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? (int)std::min<long>(n, MAX_THREADS) : 1;
}

// $STAGE_SPIN_US / $STAGE_LINGER_US: microseconds an idle worker polls for work before it sleeps,
// after its last part while a native call runs (default 50) and after the last call ended
// (default 200)
inline long env_us(const char* name, long fallback) {
  const char* s = std::getenv(name);
  if (s && *s) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end && !*end && v >= 0) return std::min<long>(v, 100000);
  }
  return fallback;
}

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

struct Pool {
  std::mutex admin;                       // size changes and starting workers
  std::atomic<int> size{0};               // threads a region may use, the caller included (0: unset)
  std::atomic<uint32_t> size_word{0};     // futex word of workers beyond the size: +1 per change
  std::atomic<int> workers{0};            // started so far
  std::atomic<int> busy{0};               // a region is running (one at a time)
  std::atomic<int> calls{0};              // native calls running (idle workers may spin meanwhile)
  std::atomic<uint64_t> last_end{0};      // when the last native call ended (now_ns)
  long spin_ns = 50000;                   // polling after a part, while a call runs
  long linger_ns = 200000;                // polling after the last call ended
  // the region
  stage_pool_fn fn = nullptr;
  void* ctx = nullptr;
  std::atomic<int64_t> nparts{0};         // read before a part is claimed: atomic
  std::atomic<uint32_t> gen{0};           // futex word of the workers: +1 per region
  std::atomic<uint64_t> claim{0};         // (generation << 32) | parts claimed (a bit each; more
                                          // than 32 parts: the next part)
  std::atomic<int64_t> done{0};           // parts finished
  std::atomic<uint32_t> done_word{0};     // futex word of the caller
  std::atomic<int> caller_sleeps{0};
  std::atomic<int> sleepers{0};           // workers asleep on gen
};

inline Pool& pool() {
  static Pool* p = new Pool();             // never destroyed: workers may outlive static destructors
  return *p;
}

inline thread_local bool in_region = false;

// Claim and run parts of region `g` until none is left. A region of at most 32 parts claims a bit
// per part and every thread first asks for its own part (`home`: the caller 0, worker i part
// i + 1), so loop after loop the same thread works on the same range of the data: the rows it
// wrote in the last loop are in its own cache. (Taking the next free part, the worker got part 0
// whenever it saw the region first, about 1 region in 20: the MLP's forward product then read
// weights the other core had just updated.) Parts their thread has not claimed go to whoever is
// free.
inline void run_parts(Pool& p, uint32_t g, int home) {
  for (;;) {
    uint64_t c = p.claim.load(std::memory_order_acquire);
    if (uint32_t(c >> 32) != g) return;
    const int64_t n = p.nparts.load(std::memory_order_relaxed);
    int64_t part;
    uint64_t next;
    if (n <= 32) {
      const uint32_t mask = uint32_t(c), all = n == 32 ? ~0u : (1u << n) - 1;
      if ((mask & all) == all) return;
      part = home < n && !((mask >> home) & 1) ? home : __builtin_ctz(~mask);
      next = c | (uint64_t(1) << part);
    } else {
      part = int64_t(c & 0xffffffffu);
      if (part >= n) return;
      next = c + 1;
    }
    if (!p.claim.compare_exchange_weak(c, next, std::memory_order_acq_rel)) continue;
    p.fn(p.ctx, part, n);
    if (p.done.fetch_add(1, std::memory_order_seq_cst) + 1 == n) {
      p.done_word.fetch_add(1, std::memory_order_seq_cst);
      if (p.caller_sleeps.load(std::memory_order_seq_cst)) futex_wake(&p.done_word, 1);
    }
  }
}

inline void* worker_main(void* arg) {
  Pool& p = pool();
  const int index = (int)(intptr_t)arg;    // workers 0 .. size - 2 take part in regions
  in_region = true;                        // a worker's own loops never start a nested region
  uint32_t seen = p.gen.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t sw = p.size_word.load(std::memory_order_seq_cst);
    if (index >= p.size.load(std::memory_order_seq_cst) - 1) {   // not needed at this size
      futex_wait(&p.size_word, sw);
      seen = p.gen.load(std::memory_order_acquire);
      continue;
    }
    uint32_t g = p.gen.load(std::memory_order_acquire);
    if (g == seen) {
      const uint64_t t0 = now_ns();
      int k = 0;
      while ((g = p.gen.load(std::memory_order_acquire)) == seen) {
        cpu_relax();
        if (++k == 64) {
          k = 0;
          const uint64_t t = now_ns();
          if (p.calls.load(std::memory_order_relaxed) > 0) {
            if (t - t0 > (uint64_t)p.spin_ns) break;
          } else if (t - p.last_end.load(std::memory_order_relaxed) > (uint64_t)p.linger_ns) {
            break;
          }
        }
      }
      if (g == seen) {
        p.sleepers.fetch_add(1, std::memory_order_seq_cst);
        futex_wait(&p.gen, seen);
        p.sleepers.fetch_sub(1, std::memory_order_seq_cst);
        continue;
      }
    }
    seen = g;
    run_parts(p, g, index + 1);
  }
  return nullptr;
}

inline void start_workers(Pool& p, int want) {
  std::lock_guard<std::mutex> lock(p.admin);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);     // signals go to the application's own threads
  while (p.workers.load() < want) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    const int rc = pthread_create(&t, &attr, worker_main, (void*)(intptr_t)p.workers.load());
    pthread_attr_destroy(&attr);
    if (rc != 0) break;                          // fewer threads: the caller runs the rest
    p.workers.fetch_add(1);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// In a child process after fork() only the forking thread exists: start afresh.
inline void after_fork_child() {
  Pool& p = pool();
  new (&p.admin) std::mutex();
  p.workers.store(0);
  p.busy.store(0);
  p.calls.store(0);
  p.sleepers.store(0);
  p.caller_sleeps.store(0);
  in_region = false;
}

inline int ensure_init() {
  Pool& p = pool();
  int s = p.size.load(std::memory_order_acquire);
  if (s) return s;
  static std::once_flag once;
  std::call_once(once, [&] {
    p.spin_ns = env_us("STAGE_SPIN_US", 50) * 1000;
    p.linger_ns = env_us("STAGE_LINGER_US", 200) * 1000;
    pthread_atfork(nullptr, nullptr, after_fork_child);
    int expected = 0;
    p.size.compare_exchange_strong(expected, default_threads());
  });
  return p.size.load(std::memory_order_acquire);
}

}  // namespace stage_pool

extern "C" {

STAGE_POOL_API int stage_pool_size(void) { return stage_pool::ensure_init(); }

STAGE_POOL_API void stage_pool_set_size(int n) {
  stage_pool::ensure_init();
  n = std::max(1, std::min(n, stage_pool::MAX_THREADS));
  stage_pool::Pool& p = stage_pool::pool();
  p.size.store(n, std::memory_order_seq_cst);
  p.size_word.fetch_add(1, std::memory_order_seq_cst);
  stage_pool::futex_wake(&p.size_word, INT_MAX);
}

STAGE_POOL_API int stage_pool_available(void) {
  if (stage_pool::in_region || stage_pool::pool().busy.load(std::memory_order_relaxed)) return 1;
  return stage_pool::ensure_init();
}

STAGE_POOL_API int stage_pool_warm(void) {
  stage_pool::Pool& p = stage_pool::pool();
  return p.workers.load(std::memory_order_relaxed) > p.sleepers.load(std::memory_order_relaxed);
}

STAGE_POOL_API void stage_pool_call_begin(void) {
  stage_pool::pool().calls.fetch_add(1, std::memory_order_relaxed);
}
STAGE_POOL_API void stage_pool_call_end(void) {
  stage_pool::pool().last_end.store(stage_pool::now_ns(), std::memory_order_relaxed);
  stage_pool::pool().calls.fetch_sub(1, std::memory_order_relaxed);
}

STAGE_POOL_API void stage_pool_run(stage_pool_fn fn, void* ctx, int64_t nparts) {
  using namespace stage_pool;
  if (nparts <= 0) return;
  Pool& p = pool();
  const int size = ensure_init();
  int zero = 0;
  if (nparts == 1 || size <= 1 || in_region ||
      !p.busy.compare_exchange_strong(zero, 1, std::memory_order_acquire)) {
    const bool was = in_region;            // serially, here (nested, single thread, or pool busy)
    in_region = true;
    for (int64_t i = 0; i < nparts; ++i) fn(ctx, i, nparts);
    in_region = was;
    return;
  }
  const int helpers = (int)std::min<int64_t>(nparts - 1, size - 1);
  if (p.workers.load(std::memory_order_relaxed) < size - 1) start_workers(p, size - 1);
  p.fn = fn;
  p.ctx = ctx;
  p.nparts.store(nparts, std::memory_order_relaxed);
  p.done.store(0, std::memory_order_relaxed);
  const uint32_t g = p.gen.load(std::memory_order_relaxed) + 1;
  p.claim.store(uint64_t(g) << 32, std::memory_order_release);
  p.gen.store(g, std::memory_order_seq_cst);
  if (p.sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(&p.gen, helpers);
  in_region = true;
  run_parts(p, g, 0);
  in_region = false;
  // wait for parts other threads claimed: spin a little, then sleep
  const uint64_t t0 = now_ns();
  while (p.done.load(std::memory_order_acquire) != nparts) {
    const uint32_t w = p.done_word.load(std::memory_order_seq_cst);
    if (p.done.load(std::memory_order_seq_cst) == nparts) break;
    if (now_ns() - t0 < (uint64_t)p.spin_ns + 20000) {   // the other parts are running: soon done
      for (int i = 0; i < 64; ++i) cpu_relax();
      continue;
    }
    p.caller_sleeps.fetch_add(1, std::memory_order_seq_cst);
    if (p.done.load(std::memory_order_seq_cst) != nparts) futex_wait(&p.done_word, w);
    p.caller_sleeps.fetch_sub(1, std::memory_order_seq_cst);
  }
  p.busy.store(0, std::memory_order_release);
}

}  // extern "C"
