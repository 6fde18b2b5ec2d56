// The extern "C" entry of a generated library: runs the program (on a large private stack when it
// recurses), turns stage::Error into a return code and keeps the message for stage_last_error().
#pragma once
#include <ucontext.h>
#include <sys/mman.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <cerrno>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#include "runtime.h"

extern "C" void STAGE_BLAS(openblas_set_num_threads)(int);

namespace stage {

// $STAGE_STACK_MB: MiB of the private stack of recursive programs; unset or empty means 1024.
// Anything but a whole number in [1, 2^24] is refused (returned as 0; run() reports it), never
// silently replaced by the default.
inline size_t stack_mb() {
  static size_t mb = [] {
    const char* s = std::getenv("STAGE_STACK_MB");
    if (!s || !*s) return size_t(1024);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s, &end, 10);
    if (errno || *s < '0' || *s > '9' || *end || v < 1 || v > (1LL << 24)) return size_t(0);
    return size_t(v);
  }();
  return mb;
}

// Lowest usable address of the calling thread's own stack (plus a safety margin).
inline char* thread_stack_limit() {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
  }
  return addr ? (char*)addr + 256 * 1024 : nullptr;
}

struct BigStack {
  char* mem = nullptr;
  size_t size = 0;
  ~BigStack() { if (mem) munmap(mem, size); }
};

struct Job {
  void (*fn)(void*);
  void* ctx;
  int code;
  ucontext_t caller, callee;
  const void* caller_bottom;     // the caller's stack, for AddressSanitizer's fiber annotations
  size_t caller_size;
};

// ------------------------------------------------------------------------------------------ SIGINT
// Only a library loaded by stage's Python loader catches Ctrl-C (the loader calls
// stage_catch_interrupts(1)); an exported library leaves the host program's signals alone. Only
// the process's main thread (where Python delivers KeyboardInterrupt) installs the handler, for the
// duration of its call; the previous handler is restored afterwards, and a SIGINT that arrived
// without stopping anything (the call finished first) is passed on to it, so Python still sees it.

inline bool& catch_interrupts() {
  static bool on = false;
  return on;
}

inline void on_sigint(int) { interrupt_flag() = 1; }

inline bool is_main_thread() {
  static thread_local int is_main = -1;
  if (is_main < 0) is_main = (long)getpid() == (long)syscall(SYS_gettid);
  return is_main == 1;
}

struct SigintScope {
  struct sigaction old;
  bool active = false;
  SigintScope() {
    if (!catch_interrupts() || interrupt_thread() || !is_main_thread()) return;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    interrupt_flag() = 0;
    if (sigaction(SIGINT, &sa, &old) != 0) return;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) {   // ignored: keep it so
      sigaction(SIGINT, &old, nullptr);
      return;
    }
    active = true;
    interrupt_thread() = true;
  }
  ~SigintScope() {
    if (!active) return;
    sigaction(SIGINT, &old, nullptr);
    interrupt_thread() = false;
    if (interrupt_flag()) {
      interrupt_flag() = 0;
      raise(SIGINT);
    }
  }
  SigintScope(const SigintScope&) = delete;
};

// AddressSanitizer follows a switch to and from the private stack only when told (else an exception
// unwinding on it is reported as a bad stack access: a false positive).
#if defined(__SANITIZE_ADDRESS__)
inline void asan_start_switch(void** fake, const void* bottom, size_t size) {
  __sanitizer_start_switch_fiber(fake, bottom, size);
}
inline void asan_finish_switch(void* fake, const void** bottom, size_t* size) {
  __sanitizer_finish_switch_fiber(fake, bottom, size);
}
#else
inline void asan_start_switch(void**, const void*, size_t) {}
inline void asan_finish_switch(void*, const void**, size_t*) {}
#endif

inline int guarded(void (*fn)(void*), void* ctx) {
  try {
    fn(ctx);
    return OK;
  } catch (const Error& e) {
    return e.code;
  } catch (const std::bad_alloc&) {
    std::snprintf(error_message(), 512, "out of memory");
    return MEMORY_ERROR;
  } catch (...) {
    std::snprintf(error_message(), 512, "unexpected native exception");
    return RUNTIME_ERROR;
  }
}

inline Job*& current_job() {
  static thread_local Job* j = nullptr;
  return j;
}

inline void trampoline() {
  Job* j = current_job();
  asan_finish_switch(nullptr, &j->caller_bottom, &j->caller_size);
  j->code = guarded(j->fn, j->ctx);
  asan_start_switch(nullptr, j->caller_bottom, j->caller_size);   // this stack is done with
}   // returning resumes uc_link (the caller)

// While a call runs, the pool's idle workers may spin briefly between its parallel loops; between
// calls they sleep. BLAS itself runs single-threaded on the pool's threads (kernels.h splits big
// products), so OpenBLAS's own threads stay idle.
struct PoolCall {
  PoolCall() {
    static const bool single_threaded_blas = (STAGE_BLAS(openblas_set_num_threads)(1), true);
    (void)single_threaded_blas;
    stage_pool_call_begin();
  }
  ~PoolCall() { stage_pool_call_end(); }
  PoolCall(const PoolCall&) = delete;
};

template <class F>
inline int run(F&& f, bool big_stack) {
  PoolCall pool_call;
  error_message()[0] = 0;
  reset_deferred();
  SigintScope sigint;
  void (*call)(void*) = [](void* c) { (*(F*)c)(); };
  if (!big_stack) {
    char*& lim = stack_limit();
    if (!lim) lim = thread_stack_limit();
    return guarded(call, (void*)&f);
  }
  static thread_local BigStack stack;
  if (!stack.mem) {
    if (stack_mb() == 0) {
      std::snprintf(error_message(), 512, "STAGE_STACK_MB=%.64s: expected a whole number of MiB "
                    "between 1 and 16777216 (the size of the stack of recursive programs)",
                    std::getenv("STAGE_STACK_MB"));
      return VALUE_ERROR;
    }
    size_t size = stack_mb() << 20;
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED) {
      std::snprintf(error_message(), 512, "cannot map a %zu MiB stack for staged recursion", stack_mb());
      return MEMORY_ERROR;
    }
    stack.mem = (char*)m;
    stack.size = size;
  }
  Job job{call, (void*)&f, OK, {}, {}, nullptr, 0};
  Job* saved_job = current_job();
  char* saved_limit = stack_limit();
  current_job() = &job;
  stack_limit() = stack.mem + 256 * 1024;
  getcontext(&job.callee);
  job.callee.uc_stack.ss_sp = stack.mem;
  job.callee.uc_stack.ss_size = stack.size;
  job.callee.uc_link = &job.caller;
  makecontext(&job.callee, trampoline, 0);
  void* fake_stack = nullptr;
  asan_start_switch(&fake_stack, stack.mem, stack.size);
  swapcontext(&job.caller, &job.callee);
  asan_finish_switch(fake_stack, nullptr, nullptr);
  current_job() = saved_job;
  stack_limit() = saved_limit;
  return job.code;
}

}  // namespace stage

#include "examples.h"   // parallel examples (st.parallel_map): fibers on the thread pool

#define STAGE_EXPORT __attribute__((visibility("default")))
extern "C" {
STAGE_EXPORT const char* stage_last_error() { return stage::error_message(); }
// the threads of stage's pool (parallel loops and BLAS products alike); OpenBLAS keeps one
STAGE_EXPORT void stage_set_num_threads(int n) {
  STAGE_BLAS(openblas_set_num_threads)(1);
  stage_pool_set_size(n);
}
STAGE_EXPORT int stage_get_num_threads() { return stage_pool_size(); }
STAGE_EXPORT void stage_catch_interrupts(int on) { stage::catch_interrupts() = on != 0; }
}
