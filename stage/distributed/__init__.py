"""Data-parallel training over MPI: one process per rank, launched by ``mpiexec -n N python train.py``.

Every rank holds the whole model and trains on its own shard of the data;
``st.train_step(loss, model, opt, distributed=True)`` averages the gradients across the ranks
inside the native step (an MPI all-reduce per bucket of gradients, started while the backward is
still running) so that the parameters stay identical everywhere. This module is the rest: the
process group (`init`, `rank`, `world_size`, `barrier`), collectives on NumPy arrays for user code
(`all_reduce`, `broadcast`, `all_gather`), a sampler sharding a data set by rank, and checkpoints
that only rank 0 writes, atomically.

MPI comes from mpi4py with an MPI implementation from PyPI (``pip install 'stage[mpi]'``: the
mpich wheel), or a system MPI that mpi4py was built for. Collectives wait by polling: a rank that
raises tells the others, which raise `DistributedError` naming it; a hang ends after `timeout`
seconds (see `stage.distributed.comm`).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional

import numpy as np

from .comm import DistributedError, group
from .comm import init as _init
from .sampler import DistributedSampler

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "all_reduce", "broadcast",
           "all_gather", "DistributedSampler", "DistributedError", "save_checkpoint", "sync_buffers"]


def init(timeout: Optional[float] = None) -> None:
    """Join the job's process group (MPI through mpi4py); idempotent.

    Called by the first collective or distributed step when not called before. With more than one
    rank it installs an exception hook: a rank with an uncaught exception reports it to the others
    (which raise `DistributedError` naming it) and exits instead of waiting in MPI_Finalize.

    Parameters
    ----------
    timeout : float, optional
        Seconds any collective may wait before it raises `DistributedError` (a rank that hangs or
        died silently); default ``$STAGE_DIST_TIMEOUT`` or 300.

    Raises
    ------
    ImportError
        mpi4py (or an MPI library) is not installed: ``pip install 'stage[mpi]'``.
    """
    _init(timeout)


def is_initialized() -> bool:
    """Whether `init` has run in this process."""
    from . import comm
    return comm.GROUP is not None


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1."""
    return group().rank


def world_size() -> int:
    """The number of processes of the job (1 without mpiexec)."""
    return group().size


def barrier() -> None:
    """Wait until every rank has reached this call (fails like every collective, see `init`)."""
    g = group()
    g.wait(g.comm.Ibarrier(), "barrier")


_OPS = {"sum": "SUM", "mean": "SUM", "max": "MAX", "min": "MIN", "prod": "PROD"}


def _array(x, what):
    a = np.ascontiguousarray(x)
    if a.dtype == object:
        raise TypeError(f"{what}: expected a numeric NumPy array, got {type(x).__name__}")
    return a


def all_reduce(x: Any, op: str = "sum") -> np.ndarray:
    """The elementwise reduction of `x` over all ranks, returned on every rank.

    Parameters
    ----------
    x : array_like
        The same shape and dtype on every rank.
    op : {"sum", "mean", "max", "min", "prod"}
        The reduction ("mean" is the sum divided by the number of ranks, in x's dtype).

    Returns
    -------
    numpy.ndarray
        A new array (x is not modified).

    Raises
    ------
    ValueError
        An unknown `op`.
    DistributedError
        Another rank failed, or the wait timed out.
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: unknown op {op!r} (use one of {', '.join(_OPS)})")
    g = group()
    out = _array(x, "all_reduce").copy()
    g.wait(g.comm.Iallreduce(g.MPI.IN_PLACE, out, op=getattr(g.MPI, _OPS[op])), "all_reduce")
    if op == "mean":
        out = (out / g.size).astype(out.dtype, copy=False)
    return out


def broadcast(x: np.ndarray, root: int = 0) -> np.ndarray:
    """Overwrite `x` in place with rank `root`'s values (returns x).

    Parameters
    ----------
    x : numpy.ndarray
        A contiguous array of the same shape and dtype on every rank.
    root : int, default 0
        The rank whose values everybody gets.

    Returns
    -------
    numpy.ndarray
        `x` itself.

    Raises
    ------
    ValueError
        `x` is not a writable contiguous array, or `root` is not a rank.
    """
    g = group()
    if not isinstance(x, np.ndarray) or not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("broadcast: x must be a writable C-contiguous NumPy array (updated in "
                         "place)")
    if not 0 <= root < g.size:
        raise ValueError(f"broadcast: root {root} is not a rank of {g.size}")
    g.wait(g.comm.Ibcast(x, root=root), "broadcast")
    return x


def all_gather(x: Any) -> np.ndarray:
    """Every rank's `x`, stacked along a new first axis (rank order), on every rank.

    Parameters
    ----------
    x : array_like
        The same shape and dtype on every rank.

    Returns
    -------
    numpy.ndarray
        Shape ``(world_size(),) + x.shape``.
    """
    g = group()
    a = _array(x, "all_gather")
    out = np.empty((g.size,) + a.shape, a.dtype)
    g.wait(g.comm.Iallgather(a, out), "all_gather")
    return out


def _gather_objects(obj):
    """A small picklable object from every rank (list in rank order)."""
    g = group()
    blob = np.frombuffer(__import__("pickle").dumps(obj), np.uint8)
    sizes = all_gather(np.array([blob.size], np.int64))[:, 0]
    buf = np.zeros((g.size, int(sizes.max())), np.uint8)
    buf[g.rank, :blob.size] = blob
    buf = all_reduce(buf, "max")
    return [__import__("pickle").loads(buf[r, :sizes[r]].tobytes()) for r in range(g.size)]


def save_checkpoint(path: Any, model, optimizer=None,
                    metadata: Optional[Mapping[str, str]] = None) -> None:
    """Save the model (and optimizer) once for the job: every rank calls it, rank 0 writes.

    A barrier first makes sure every rank finished its steps (a failed rank makes it raise, so no
    checkpoint of a broken job is written); rank 0 then writes a safetensors file atomically (a
    temporary file renamed over `path`: a crash never leaves half a file). Parameters are the
    same on every rank, so rank 0's are the job's.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    model : Module
        Its parameters and buffers are saved under their names.
    optimizer : Optimizer, optional
        Its state is saved as ``optim.<param>.<slot>`` and its step count in the metadata.
    metadata : mapping of str to str, optional
        Extra metadata.
    """
    from ..safetensors import save_file
    barrier()
    if rank() != 0:
        return
    arrays = dict(model.state_dict())
    meta = dict(metadata or {})
    if optimizer is not None:
        for k, slots in optimizer.state.items():
            for s, v in slots.items():
                arrays[f"optim.{k}.{s}"] = v
        meta["optim.steps"] = str(optimizer.steps)
    meta["world_size"] = str(world_size())
    save_file(arrays, os.fspath(path), meta)


def sync_buffers(model) -> None:
    """Average the model's floating-point buffers (BatchNorm running statistics) across ranks, in
    place. A distributed step leaves them per rank (each from its own batches); call this before
    evaluating or saving when every rank should hold the same statistics.

    Parameters
    ----------
    model : Module
        Every rank's copy of the same model.
    """
    for _, b in model.named_buffers():
        if b.dtype.kind == "f":
            np.copyto(b, all_reduce(b, "mean"))
