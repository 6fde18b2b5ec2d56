// The C interface of stage's thread pool (defined in pool_impl.h, compiled once: a shared library
// every library stage builds links, or into an exported library). See parallel.h for how generated
// code and kernels use it.
#pragma once
#include <cstdint>

#ifndef STAGE_POOL_API
#define STAGE_POOL_API __attribute__((visibility("default")))
#endif

extern "C" {
// one part of a region: fn(ctx, part, nparts)
typedef void (*stage_pool_fn)(void* ctx, int64_t part, int64_t nparts);
// the threads regions may use, the caller included (default: $STAGE_NUM_THREADS, else the CPUs
// this process may run on)
STAGE_POOL_API int stage_pool_size(void);
STAGE_POOL_API void stage_pool_set_size(int n);
// threads a region started here would get: 1 inside a region or while another caller's runs
STAGE_POOL_API int stage_pool_available(void);
// run every part once, on up to nparts threads (the caller included); returns when all are done
STAGE_POOL_API void stage_pool_run(stage_pool_fn fn, void* ctx, int64_t nparts);
// whether a worker is awake (running or polling for the next region) rather than asleep
STAGE_POOL_API int stage_pool_warm(void);
// a native call starts / ends (idle workers spin briefly only while calls run, else sleep)
STAGE_POOL_API void stage_pool_call_begin(void);
STAGE_POOL_API void stage_pool_call_end(void);
}
