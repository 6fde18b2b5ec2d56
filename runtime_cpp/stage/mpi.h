// stage runtime: gradient all-reduce over MPI inside a compiled training step (stage.distributed).
//
// Included only by programs with collective ops (a data-parallel `st.train_step`), which are built
// against the MPI implementation mpi4py runs on (its <mpi.h> and libmpi, found through its compiler
// wrapper): every other library, exported ones included, neither includes nor links MPI.
//
// Handles come from mpi4py as integers (`MPI._handleof(comm)`): an int in MPICH's ABI, a pointer in
// Open MPI's; `from_handle` converts either way. A started all-reduce lives in a slot of a small
// per-thread table until it is waited for; starting one also tests the others, because MPI advances
// non-blocking collectives only inside MPI calls (no progress thread): the buckets started earlier in
// the backward move on while later ones are being computed.
//
// Waiting polls (MPI_Test) instead of blocking in MPI_Wait, so that a failure elsewhere ends it: a
// notice on the fault communicator (a rank that raised tells the others before it exits), the
// deadline (a rank that hangs or vanished), or Ctrl-C. Each becomes a Python exception naming the
// cause; the job cannot go on after one (the collective is left unfinished), which stage.distributed
// enforces.
#pragma once
#include <mpi.h>
#include <sched.h>
#include <time.h>
#include <type_traits>

#include "runtime.h"

namespace stage {
namespace mpi {

template <class H>
inline H from_handle(int64_t h) {
  if constexpr (std::is_pointer<H>::value) return reinterpret_cast<H>(static_cast<intptr_t>(h));
  else return static_cast<H>(h);
}

template <class T> inline MPI_Datatype datatype();
template <> inline MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <> inline MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

constexpr int SLOTS = 256;       // all-reduces in flight at once (buckets of one step: a few)
constexpr int FAULT_TAG = 7401;  // stage.distributed.comm.FAULT_TAG: "rank r failed: ..."

struct Table {
  MPI_Request req[SLOTS];
  bool busy[SLOTS];
  int next = 0;
  Table() {
    for (int i = 0; i < SLOTS; ++i) { req[i] = MPI_REQUEST_NULL; busy[i] = false; }
  }
};

inline Table& table() {
  static thread_local Table t;
  return t;
}

inline void check(int rc, const char* what, const char* where) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = 0;
  std::snprintf(error_message(), 512, "%s failed (%s): %s", what, where, text);
  throw Error{RUNTIME_ERROR};
}

// advance every all-reduce in flight (completed requests become MPI_REQUEST_NULL)
inline void progress() {
  Table& t = table();
  for (int i = 0; i < SLOTS; ++i) {
    if (t.busy[i] && t.req[i] != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&t.req[i], &done, MPI_STATUS_IGNORE);
    }
  }
}

// buf (n elements) summed over the ranks of comm, in place, started now; returns the request's slot
template <class T>
inline int64_t allreduce_start(T* buf, int64_t n, int64_t comm, const char* where) {
  Table& t = table();
  int slot = -1;
  for (int k = 0; k < SLOTS; ++k) {
    int i = (t.next + k) % SLOTS;
    if (!t.busy[i]) { slot = i; break; }
  }
  if (slot < 0) fail(RUNTIME_ERROR, "too many all-reduces in flight (%lld of %lld) (%s)", SLOTS, SLOTS, where);
  t.next = (slot + 1) % SLOTS;
  check(MPI_Iallreduce(MPI_IN_PLACE, buf, static_cast<int>(n), datatype<T>(), MPI_SUM,
                       from_handle<MPI_Comm>(comm), &t.req[slot]),
        "MPI_Iallreduce", where);
  t.busy[slot] = true;
  progress();
  return slot;
}

inline double now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// wait for the all-reduce in `slot`: fails on a fault notice, after `timeout` seconds, or on Ctrl-C
inline void allreduce_wait(int64_t slot, int64_t fault, double timeout, const char* where) {
  Table& t = table();
  if (slot < 0 || slot >= SLOTS || !t.busy[slot])
    fail(RUNTIME_ERROR, "no all-reduce in slot %lld of %lld (%s)", slot, SLOTS, where);
  MPI_Comm fc = from_handle<MPI_Comm>(fault);
  const double deadline = now() + timeout;
  for (long spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&t.req[slot], &done, MPI_STATUS_IGNORE), "MPI_Test", where);
    if (done) break;
    if (spins % 64 == 63) {
      int notice = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, FAULT_TAG, fc, &notice, &st);
      if (notice) {
        std::snprintf(error_message(), 512, "stage.distributed: rank %d reported a failure while "
                      "this rank waited for the gradient all-reduce (%s)", st.MPI_SOURCE, where);
        throw Error{RUNTIME_ERROR};
      }
      if (now() > deadline) {
        std::snprintf(error_message(), 512, "stage.distributed: the gradient all-reduce did not "
                      "complete within %g s: another rank stopped or hangs (%s)", timeout, where);
        throw Error{RUNTIME_ERROR};
      }
      poll_interrupt();
      sched_yield();     // ranks may share cores: let the others run
    }
  }
  t.busy[slot] = false;
}

}  // namespace mpi
}  // namespace stage
