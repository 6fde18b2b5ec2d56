// stage's thread pool against OpenMP (libgomp) on the same kernels: which should run stage's
// parallel loops. Built twice by parallel_dispatch.py: with runtime_cpp/stage/pool_impl.h, and with
// -fopenmp -DSTAGE_PARALLEL_OPENMP (the runtime's parallel_for then uses `omp parallel for`).
// Prints one JSON object: microseconds per call (median of repetitions) at each thread count.
#include "stage/runtime.h"
#if !defined(STAGE_PARALLEL_OPENMP)
#include "stage/pool_impl.h"
#endif
#include <sys/resource.h>
#include <chrono>
#include <string>
#include <vector>

extern "C" void scipy_openblas_set_num_threads(int);

static double now_us() {
  return std::chrono::duration<double, std::micro>(
      std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double cpu_s() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + 1e-6 * (r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static void set_threads(int n) {
#if defined(STAGE_PARALLEL_OPENMP)
  omp_set_num_threads(n);
#else
  stage_pool_set_size(n);
#endif
}

// median microseconds of `reps` timings of `inner` calls of f
// one native call as generated code makes it (stage::run tells the pool a call is running: its
// idle workers may spin between the call's loops)
template <class F>
static void call(F&& f) {
#if !defined(STAGE_PARALLEL_OPENMP)
  stage_pool_call_begin();
#endif
  f();
#if !defined(STAGE_PARALLEL_OPENMP)
  stage_pool_call_end();
#endif
}

template <class F>
static double time_us(F&& f, int inner, int reps) {
  std::vector<double> t;
  for (int i = 0; i < 3; ++i) call(f);
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_us();
    for (int i = 0; i < inner; ++i) call(f);
    t.push_back((now_us() - t0) / inner);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// a fused elementwise loop as generated code writes it: y = tanh(2 x) + b
static void fused(const float* x, const float* b, float* y, int64_t n) {
  stage::parallel_for(n, stage::grain_for(12), [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) y[i] = stage::tanh(2.0f * x[i]) + b[i];
  });
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 15;
  scipy_openblas_set_num_threads(1);
  std::string out = "{";
  std::vector<float> x(1 << 22), b(1 << 22), y(1 << 22);
  for (size_t i = 0; i < x.size(); ++i) { x[i] = float(i % 97) / 97.0f; b[i] = 0.5f; }
  bool first = true;
  auto put = [&](const std::string& key, double v) {
    out += (first ? "\"" : ", \"") + key + "\": " + std::to_string(v);
    first = false;
  };
  for (int threads : {1, 2}) {
    set_threads(threads);
    const std::string t = "@" + std::to_string(threads);
    for (int64_t n : {int64_t(1) << 12, int64_t(1) << 14, int64_t(1) << 16, int64_t(1) << 18,
                      int64_t(1) << 20}) {
      const int inner = (int)std::max<int64_t>(1, (int64_t(1) << 22) / n);
      put("fused_" + std::to_string(n) + t, time_us([&] { fused(x.data(), b.data(), y.data(), n); },
                                                     inner, reps));
    }
    // ten loops of 32K elements back to back (a training step's elementwise work)
    put("ten_loops_32k" + t, time_us([&] {
      for (int k = 0; k < 10; ++k) fused(x.data() + k * 32768, b.data(), y.data() + k * 32768, 32768);
    }, 20, reps));
    // the CNN's convolutions (forward, and both gradients) at batch 100 and 500
    for (int64_t N : {int64_t(100), int64_t(500)}) {
      auto s1 = [N] { return stage::Conv2dShape{N, 1, 28, 28, 10, 5, 5, 1, 1, 0, 0, 24, 24, 1, 1}; };
      auto s2 = [N] { return stage::Conv2dShape{N, 10, 12, 12, 20, 5, 5, 1, 1, 0, 0, 8, 8, 1, 1}; };
      std::vector<float> in1(N * 28 * 28, 0.1f), w1(250, 0.01f), o1(N * 10 * 24 * 24), g1(N * 10 * 24 * 24, 0.1f);
      std::vector<float> in2(N * 10 * 144, 0.1f), w2(20 * 250, 0.01f), o2(N * 20 * 64), g2(N * 20 * 64, 0.1f),
          dx2(N * 10 * 144), dw2(20 * 250), dw1(250);
      const std::string b_ = "_b" + std::to_string(N) + t;
      put("conv_fwd" + b_, time_us([&] {
        stage::conv2d(s1, in1.data(), w1.data(), o1.data());
        stage::conv2d(s2, in2.data(), w2.data(), o2.data());
      }, 5, reps));
      put("conv_bwd" + b_, time_us([&] {
        stage::conv2d_grad_weight(s1, in1.data(), g1.data(), dw1.data());
        stage::conv2d_grad_input(s2, g2.data(), w2.data(), dx2.data());
        stage::conv2d_grad_weight(s2, in2.data(), g2.data(), dw2.data());
      }, 5, reps));
    }
    // CPU time burnt by idle threads in the 100 ms after a region (spinning)
    call([&] { fused(x.data(), b.data(), y.data(), int64_t(1) << 20); });
    const double c0 = cpu_s(), w0 = now_us();
    while (now_us() - w0 < 100000) usleep(1000);
    put("idle_cpu_ms_after_region" + t, (cpu_s() - c0) * 1e3);
  }
  out += "}";
  std::printf("%s\n", out.c_str());
  return 0;
}
