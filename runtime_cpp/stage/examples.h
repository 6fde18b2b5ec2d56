// Parallel examples (st.parallel_map): independent examples -- trees, sequences of different
// lengths -- each run by its own thread inside one native call.
//
// Forward only, an example is a plain function of its index, run on a private stack when it
// recurses. Under grad, an example is its own CPS recursion: its forward runs until it reaches its
// continuation `kex` (which stores its outputs), and its backward runs when kex returns -- but kex
// may only return once the rest of the program has run on *every* example's outputs. So each
// example runs on a fiber (a stack of its own): kex suspends it (`example_suspend`); when all
// examples are suspended, the calling thread runs the rest of the program (`middle`), which fills
// the cotangents of the outputs; then every thread resumes its own fibers, last started first, and
// each runs its backward to the end. A fiber never moves between threads (thread-locals: arena,
// deferred products), and each thread's fibers run their forwards in order and their backwards in
// reverse, so every thread's arena stays a stack.
//
// Gradients: examples are split into groups fixed by their number (`example_groups`); each group
// accumulates into its own copy of the gradient refs the examples share, a thread runs whole
// groups, and the copies are added in group order afterwards -- the same sums for any number of
// threads. A failure in any example (or in the rest of the program) cancels the others: their
// fibers are resumed to unwind, and the error of the lowest example is raised.
#pragma once
#include <atomic>
#include <vector>
#include <memory>
#include <linux/futex.h>

namespace stage {

constexpr int FIBER_CANCELLED = 100;          // unwinds a cancelled fiber (never reported)

struct FiberStack {
  char* mem = nullptr;
  size_t size = 0;
};

// Stacks are kept per thread between calls (their touched pages stay mapped)
struct FiberStacks {
  std::vector<FiberStack> free;
  ~FiberStacks() { for (auto& s : free) munmap(s.mem, s.size); }
};
inline FiberStacks& fiber_stacks() {
  static thread_local FiberStacks s;
  return s;
}

inline FiberStack take_fiber_stack() {
  FiberStacks& c = fiber_stacks();
  if (!c.free.empty()) {
    FiberStack s = c.free.back();
    c.free.pop_back();
    return s;
  }
  if (stack_mb() == 0)
    fail(VALUE_ERROR, "STAGE_STACK_MB: expected a whole number of MiB between 1 and 16777216");
  const size_t size = stack_mb() << 20;
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (m == MAP_FAILED)
    fail(MEMORY_ERROR, "cannot map a %lld MiB stack for a parallel example (STAGE_STACK_MB sets "
                       "the size)", (long long)stack_mb());
  return FiberStack{(char*)m, size};
}

struct Fiber {
  ucontext_t self, back;
  FiberStack stack;
  void (*fn)(void*, int64_t, int64_t) = nullptr;
  void* env = nullptr;
  int64_t i = 0, group = 0;
  int code = OK;
  char msg[512];
  bool started = false, done = false, cancel = false;
  const void* back_bottom = nullptr;         // the scheduler's stack (AddressSanitizer)
  size_t back_size = 0;
};

inline Fiber*& current_fiber() {
  static thread_local Fiber* f = nullptr;
  return f;
}

inline void fiber_main() {
  Fiber* f = current_fiber();
  asan_finish_switch(nullptr, &f->back_bottom, &f->back_size);
  try {
    f->fn(f->env, f->i, f->group);
  } catch (const Error& e) {
    f->code = e.code;
    std::snprintf(f->msg, sizeof f->msg, "%s", error_message());
  } catch (const std::bad_alloc&) {
    f->code = MEMORY_ERROR;
    std::snprintf(f->msg, sizeof f->msg, "out of memory");
  } catch (...) {
    f->code = RUNTIME_ERROR;
    std::snprintf(f->msg, sizeof f->msg, "unexpected native exception");
  }
  f->done = true;
  asan_start_switch(nullptr, f->back_bottom, f->back_size);
}   // returns to uc_link: the scheduler

// Run fiber f until it suspends or ends (first call: from its start).
inline void fiber_run(Fiber& f) {
  if (!f.started) {
    f.started = true;
    getcontext(&f.self);
    f.self.uc_stack.ss_sp = f.stack.mem;
    f.self.uc_stack.ss_size = f.stack.size;
    f.self.uc_link = &f.back;
    makecontext(&f.self, fiber_main, 0);
  }
  Fiber* saved = current_fiber();
  char* saved_limit = stack_limit();
  current_fiber() = &f;
  stack_limit() = f.stack.mem + 256 * 1024;
  void* fake = nullptr;
  asan_start_switch(&fake, f.stack.mem, f.stack.size);
  swapcontext(&f.back, &f.self);
  asan_finish_switch(fake, nullptr, nullptr);
  current_fiber() = saved;
  stack_limit() = saved_limit;
}

// Inside an example under grad (its continuation kex): wait until every example's forward and the
// rest of the program have run. Throws (unwinding the example) when the call is being cancelled.
inline void example_suspend() {
  Fiber* f = current_fiber();
  if (!f) fail(RUNTIME_ERROR, "parallel example: suspended outside a fiber");
  void* fake = nullptr;
  asan_start_switch(&fake, f->back_bottom, f->back_size);
  swapcontext(&f->self, &f->back);
  asan_finish_switch(fake, &f->back_bottom, &f->back_size);
  if (f->cancel) throw Error{FIBER_CANCELLED};
}

// Groups of examples whose gradients are summed separately (then in group order): fixed by the
// number of examples, so results do not depend on the number of threads.
constexpr int64_t MAX_EXAMPLE_GROUPS = 8;
inline int64_t group_begin(int64_t n, int64_t groups, int64_t g) { return n * g / groups; }

// Wait until ready(): spin for up to 50 us (the other threads are busy with the same call), then
// sleep on the futex `word`, which whoever makes ready() true bumps.
template <class Pred>
inline void wait_for(std::atomic<uint32_t>& word, Pred&& ready) {
  const int64_t t0 = prof_now();
  while (prof_now() - t0 < 50000) {
    for (int k = 0; k < 64; ++k) {
      if (ready()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  while (true) {
    const uint32_t w = word.load(std::memory_order_seq_cst);
    if (ready()) return;
    syscall(SYS_futex, (uint32_t*)&word, FUTEX_WAIT_PRIVATE, w, nullptr, nullptr, 0);
  }
}
inline void bump(std::atomic<uint32_t>& word) {
  word.fetch_add(1, std::memory_order_seq_cst);
  syscall(SYS_futex, (uint32_t*)&word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

template <class F>
struct ExampleFn {
  static void run(void* env, int64_t i, int64_t g) { (*(F*)env)(i, g); }
};

// Forward only: f(i) for every example, examples shared out one at a time; with BIG, each on a
// private stack (the example recurses).
template <bool BIG, class F>
inline void parallel_examples(int64_t n, F&& f) {
  if (n <= 0) return;
  std::atomic<int64_t> next{0};
  PartError err;
  auto one = [&](int64_t i, int64_t) { f(i); };
  using One = decltype(one);
  run_parts(std::min<int64_t>(n, threads_available()), [&](int64_t) {
    Fiber fiber;
    bool have_stack = false;
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      if (!BIG) {
        try {
          f(i);
        } catch (const Error& e) {
          err.record(i, e.code, error_message());
        } catch (const std::bad_alloc&) {
          err.record(i, MEMORY_ERROR, "out of memory");
        }
        continue;
      }
      if (!have_stack) {
        fiber.stack = take_fiber_stack();
        have_stack = true;
      }
      fiber.fn = &ExampleFn<One>::run;
      fiber.env = &one;
      fiber.i = i;
      fiber.started = fiber.done = false;
      fiber.code = OK;
      fiber_run(fiber);
      if (fiber.code) err.record(i, fiber.code, fiber.msg);
    }
    if (have_stack) fiber_stacks().free.push_back(fiber.stack);
  });
  err.rethrow();
}

// Under grad: ex(i, g) runs example i (of group g) as a CPS recursion whose continuation calls
// example_suspend(); middle() is the rest of the program; flush(g) applies group g's deferred
// products (on the thread that made them).
template <class EX, class MID, class FLUSH>
inline void parallel_examples_grad(int64_t n, int64_t groups, EX&& ex, MID&& middle, FLUSH&& flush) {
  groups = std::max<int64_t>(1, std::min(groups, n));
  std::atomic<int64_t> next_group{0};
  std::atomic<uint32_t> forwarded{0}, middle_done{0};
  std::atomic<int> middle_claimed{0}, failed{0};
  PartError err;
  const pthread_t caller = pthread_self();
  using Ex = std::remove_reference_t<EX>;
  run_parts(std::min<int64_t>(groups, threads_available()), [&](int64_t) {
    const bool is_caller = pthread_equal(pthread_self(), caller);
    if (!is_caller) reset_deferred();           // a worker's registry holds nothing of its own
    std::vector<std::unique_ptr<Fiber>> mine;   // this thread's fibers, in the order started
    std::vector<int64_t> my_groups;
    try {
      for (int64_t g; (g = next_group.fetch_add(1)) < groups;) {
        my_groups.push_back(g);
        for (int64_t i = group_begin(n, groups, g); i < group_begin(n, groups, g + 1); ++i) {
          if (failed.load()) break;
          const FiberStack stack = take_fiber_stack();
          mine.emplace_back(new Fiber());
          Fiber& f = *mine.back();
          f.stack = stack;
          f.fn = &ExampleFn<Ex>::run;
          f.env = (void*)&ex;
          f.i = i;
          f.group = g;
          fiber_run(f);
          if (f.done && f.code != OK) {
            err.record(i, f.code, f.msg);
            failed.store(1);
          } else if (f.done) {
            err.record(i, RUNTIME_ERROR, "parallel example: ended without reaching its continuation");
            failed.store(1);
          }
        }
        bump(forwarded);
      }
    } catch (const Error& e) {                   // e.g. no stack for a fiber
      err.record(n, e.code, error_message());
      failed.store(1);
      bump(forwarded);
    }
    if (is_caller && !middle_claimed.exchange(1)) {
      // every group is claimed by now (this thread claimed until none was left), and each is
      // counted once its claimer has started (or given up on) its examples
      wait_for(forwarded, [&] { return int64_t(forwarded.load()) >= groups; });
      if (!failed.load()) {
        try {
          middle();
        } catch (const Error& e) {
          err.record(n, e.code, error_message());
          failed.store(1);
        } catch (const std::bad_alloc&) {
          err.record(n, MEMORY_ERROR, "out of memory");
          failed.store(1);
        }
      }
      bump(middle_done);
    } else {
      wait_for(middle_done, [&] { return middle_done.load() != 0; });
    }
    const bool cancel = failed.load() != 0;
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
      Fiber& f = **it;
      if (!f.done) {
        f.cancel = cancel;
        fiber_run(f);
        if (f.code != OK && f.code != FIBER_CANCELLED) {
          err.record(f.i, f.code, f.msg);
          failed.store(1);
        }
      }
      fiber_stacks().free.push_back(f.stack);
    }
    for (int64_t g : my_groups) {
      try {
        flush(g);
      } catch (const Error& e) {
        err.record(n, e.code, error_message());
        failed.store(1);
      }
    }
  });
  err.rethrow();
}

}  // namespace stage
