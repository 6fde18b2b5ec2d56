"""Collective effect forms: a gradient all-reduce across the processes of a data-parallel job.

A data-parallel training step (`st.train_step(..., distributed=True)`) packs gradients into a
bucket ref as soon as reverse mode has finished them and starts summing it across the ranks;
it waits only before the optimizer update, so the communication overlaps the rest of the backward:

    b = new_var(concatenate(reshape(g1), reshape(g2), ...))  : ref f32[n]
    r = allreduce_start(b, comm)                             : i64   (b is being written)
    ...                                                      (the rest of the backward)
    allreduce_wait(b, r, fault, timeout)                     (b holds the sum over the ranks)
    s = read_var(b)

`comm` and `fault` are communicator handles (runtime int64 scalars, as mpi4py gives them:
`MPI._handleof(comm)`), `timeout` the seconds a wait may take before it fails. Both forms write the
bucket ref: nothing may read it between them. The NumPy references run the collective through
mpi4py (imported only when one runs), so the interpreter runs the same programs.
"""
import itertools
import time

import numpy as np

from ..types import RefType, TensorType
from . import NONDIFF, Effects, OpDef, shape_error

FAULT_TAG = 7401        # the tag of failure notices on the fault communicator
_REQUESTS = {}          # the interpreter's requests in flight, by the handle the start returned
_IDS = itertools.count(1)
I64 = TensorType("int64", ())
F64 = TensorType("float64", ())


def _check_bucket(op, ref):
    if not isinstance(ref, RefType) or len(ref.elem.shape) != 1 or \
            ref.elem.dtype not in ("float32", "float64"):
        raise shape_error(op, "the bucket must be a 1-d float32 or float64 ref", ref)


def _start_infer(ts):
    ref, comm = ts
    _check_bucket("allreduce_start", ref)
    if comm != I64:
        raise shape_error("allreduce_start", "the communicator handle must be an int64 scalar", comm)
    return I64


def _wait_infer(ts):
    ref, req, fault, timeout = ts
    _check_bucket("allreduce_wait", ref)
    if (req, fault, timeout) != (I64, I64, F64):
        raise shape_error("allreduce_wait", "expects (bucket, request: int64, fault communicator: "
                                            "int64, timeout: float64)", req, fault, timeout)
    return ()


def _comm(handle):
    """The mpi4py communicator of a handle (a signed int64, as the step's inputs carry it)."""
    from mpi4py import MPI
    return MPI.Comm.fromhandle(int(handle) & ((1 << 64) - 1))


def _start_ref(buf, comm):
    from mpi4py import MPI
    c = _comm(comm)
    k = next(_IDS)
    _REQUESTS[k] = c.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    return np.int64(k)


def _wait_ref(buf, req, fault, timeout):
    from mpi4py import MPI
    r = _REQUESTS.pop(int(req))
    f = _comm(fault)
    deadline = time.monotonic() + float(timeout)
    status = MPI.Status()
    while not r.Test():
        if f.Iprobe(source=MPI.ANY_SOURCE, tag=FAULT_TAG, status=status):
            raise RuntimeError(f"stage.distributed: rank {status.Get_source()} reported a failure "
                               f"while this rank waited for the gradient all-reduce")
        if time.monotonic() > deadline:
            raise RuntimeError(f"stage.distributed: the gradient all-reduce did not complete "
                               f"within {float(timeout):g} s: another rank stopped or hangs")
        time.sleep(0.0002)
    return ()


OpDef("allreduce_start", _start_infer, _start_ref, "effect", NONDIFF,
      effects=Effects(writes=(0,), target="ref"), nargs=2)
OpDef("allreduce_wait", _wait_infer, _wait_ref, "effect", NONDIFF,
      effects=Effects(writes=(0,), target="ref"), nargs=4)
