// Deferred rank-1 gradient accumulation.
//
// A vector-matrix product y = a @ W inside a recursion (a TreeLSTM node) has the weight gradient
// dW += outer(a, dy), one rank-1 update per call: each one streams the whole of dW through the cache
// and, with dW and W together larger than L2, evicts W that the next node needs. Instead the pairs
// (a, dy) are appended to per-ref row batches and added with a single gemm, dW += A^T B, when the
// gradient is read (or a batch fills). The batches live in a per-thread registry keyed by the ref's
// address; their memory is kept between calls.
#pragma once

namespace stage {

template <class T>
inline void outer(const T* a, const T* b, T* out, int64_t m, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = a[i] * b[j];
  }
}

template <class T>
struct OuterBatch {
  T* ref = nullptr;
  int64_t m = 0, n = 0, count = 0;
  bool blank = false;          // ref not initialised: the first flush overwrites it (beta = 0)
  size_t capA = 0, capB = 0;   // bytes allocated (kept when the slot is reused for another ref)
  T* A = nullptr;              // count x m
  T* B = nullptr;              // count x n
};

template <class T>
struct OuterRegistry {
  static constexpr int MAX = 32;
  OuterBatch<T> batches[MAX];
  int used = 0;
  ~OuterRegistry() { for (int i = 0; i < MAX; ++i) { std::free(batches[i].A); std::free(batches[i].B); } }
};

template <class T>
inline OuterRegistry<T>& outer_registry() {
  static thread_local OuterRegistry<T> r;
  return r;
}

// a slot for a new ref: one whose ref was flushed or forgotten, else a new one (null: full)
template <class T>
inline OuterBatch<T>* free_slot(OuterRegistry<T>& r) {
  for (int i = 0; i < r.used; ++i)
    if (!r.batches[i].ref) return &r.batches[i];
  return r.used < OuterRegistry<T>::MAX ? &r.batches[r.used++] : nullptr;
}

template <class T>
inline void flush_batch(OuterBatch<T>& b) {
  if (b.count)
    matmul<T>(true, false, b.m, b.n, b.count, b.A, b.m, b.B, b.n, T(b.blank ? 0 : 1), b.ref, b.n);
  else if (b.blank)
    std::fill(b.ref, b.ref + b.m * b.n, T(0));
  b.count = 0;
  b.blank = false;
}

// ref[m,n] += A^T B for A (k x m) and B (k x n) given as contiguous rows, deferred: the k row pairs
// join the ref's batch (an outer product is k = 1; the weight gradient of a batch of 20 in a
// recurrent step is k = 20, whose 20 time steps then make one gemm of 400 rows)
template <class T>
inline void defer_rows(T* ref, const T* a, const T* b, int64_t m, int64_t n, int64_t k) {
  OuterRegistry<T>& r = outer_registry<T>();
  OuterBatch<T>* e = nullptr;
  for (int i = 0; i < r.used; ++i)
    if (r.batches[i].ref == ref) { e = &r.batches[i]; break; }
  if (!e) {
    e = free_slot(r);
    if (!e) {                                     // full: apply this one immediately
      matmul<T>(true, false, m, n, k, a, m, b, n, T(1), ref, n);
      return;
    }
    e->ref = ref; e->m = m; e->n = n; e->count = 0; e->blank = false;
  }
  if (e->count + k > 1024) flush_batch(*e);       // bounded memory: apply what is there
  const size_t needA = sizeof(T) * (e->count + k) * m, needB = sizeof(T) * (e->count + k) * n;
  if (needA > e->capA || needB > e->capB) {
    const size_t rows = std::max<int64_t>(32, 2 * (e->count + k));
    T* A = (T*)std::realloc(e->A, std::max(needA, sizeof(T) * rows * m));
    if (A) { e->A = A; e->capA = std::max(needA, sizeof(T) * rows * m); }
    T* B = A ? (T*)std::realloc(e->B, std::max(needB, sizeof(T) * rows * n)) : nullptr;
    if (B) { e->B = B; e->capB = std::max(needB, sizeof(T) * rows * n); }
    if (!A || !B) fail(MEMORY_ERROR, "out of memory deferring a gradient update");
  }
  std::memcpy(e->A + e->count * m, a, sizeof(T) * m * k);
  std::memcpy(e->B + e->count * n, b, sizeof(T) * n * k);
  e->count += k;
}

template <class T>
inline void defer_outer(T* ref, const T* a, const T* b, int64_t m, int64_t n) {
  defer_rows(ref, a, b, m, n, 1);
}

// apply the deferred updates of ref (before it is read)
template <class T>
inline void flush_outer(T* ref) {
  OuterRegistry<T>& r = outer_registry<T>();
  for (int i = 0; i < r.used; ++i)
    if (r.batches[i].ref == ref) { flush_batch(r.batches[i]); r.batches[i].ref = nullptr; }
}

// a new ref at this address: no stale updates from a buffer that lived here before
template <class T>
inline void forget_outer(T* ref) {
  OuterRegistry<T>& r = outer_registry<T>();
  for (int i = 0; i < r.used; ++i)
    if (r.batches[i].ref == ref) { r.batches[i].count = 0; r.batches[i].ref = nullptr; }
}

// A new ref all of whose updates are deferred: instead of zero-filling it now, its first flush
// overwrites it (a weight gradient accumulated only by a recursion's rank-1 updates)
template <class T>
inline void defer_blank(T* ref, int64_t m, int64_t n) {
  OuterRegistry<T>& r = outer_registry<T>();
  for (int i = 0; i < r.used; ++i)
    if (r.batches[i].ref == ref) { r.batches[i].count = 0; r.batches[i].ref = nullptr; }
  OuterBatch<T>* slot = free_slot(r);
  if (!slot) {                                           // no slot: initialise it after all
    std::fill(ref, ref + m * n, T(0));
    return;
  }
  OuterBatch<T>& e = *slot;
  e.ref = ref; e.m = m; e.n = n; e.count = 0; e.blank = true;
}

inline void reset_deferred() {
  outer_registry<float>().used = 0;
  outer_registry<double>().used = 0;
}

}  // namespace stage
