// The extern "C" entry of a generated library: runs the program (on a large private stack when it
// recurses), turns stage::Error into a return code and keeps the message for stage_last_error().
#pragma once
#include <ucontext.h>
#include <sys/mman.h>
#include <pthread.h>
#include <cerrno>
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
};

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
  j->code = guarded(j->fn, j->ctx);
}   // returning resumes uc_link (the caller)

template <class F>
inline int run(F&& f, bool big_stack) {
  error_message()[0] = 0;
  reset_deferred();
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
  Job job{call, (void*)&f, OK, {}, {}};
  Job* saved_job = current_job();
  char* saved_limit = stack_limit();
  current_job() = &job;
  stack_limit() = stack.mem + 256 * 1024;
  getcontext(&job.callee);
  job.callee.uc_stack.ss_sp = stack.mem;
  job.callee.uc_stack.ss_size = stack.size;
  job.callee.uc_link = &job.caller;
  makecontext(&job.callee, trampoline, 0);
  swapcontext(&job.caller, &job.callee);
  current_job() = saved_job;
  stack_limit() = saved_limit;
  return job.code;
}

}  // namespace stage

#define STAGE_EXPORT __attribute__((visibility("default")))
extern "C" {
STAGE_EXPORT const char* stage_last_error() { return stage::error_message(); }
STAGE_EXPORT void stage_set_num_threads(int n) { STAGE_BLAS(openblas_set_num_threads)(n); }
}
