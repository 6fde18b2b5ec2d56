"""How many threads compiled code may use.

Every library stage builds links one small shared library, stage's thread pool
(`runtime_cpp/stage/pool_impl.h`), so this is one process-wide setting: the threads that run the
parallel loops of generated code (elementwise loops, reductions, the images of a convolution, the
examples of `st.parallel_map`) and the blocks of big matrix products. OpenBLAS itself runs
single-threaded on those threads, so its own thread pool never competes with stage's.

The default is every CPU this process may run on (``os.sched_getaffinity``), or
``$STAGE_NUM_THREADS``. It is an upper bound: each loop wakes only as many threads as its work
pays for (a loop over 64 floats stays on the calling thread), and idle threads sleep.
"""
from __future__ import annotations

import ctypes
import functools
import os

from . import openblas

_chosen = None


@functools.lru_cache(maxsize=None)
def _blas():
    lib = ctypes.CDLL(openblas.shared_object())
    lib.scipy_openblas_set_num_threads.argtypes = [ctypes.c_int]
    lib.scipy_openblas_get_num_threads.restype = ctypes.c_int
    return lib


@functools.lru_cache(maxsize=None)
def _pool():
    from .codegen.compiler import pool_library
    lib = ctypes.CDLL(str(pool_library()))
    lib.stage_pool_set_size.argtypes = [ctypes.c_int]
    lib.stage_pool_size.restype = ctypes.c_int
    return lib


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """``$STAGE_NUM_THREADS`` when set, else `usable_cpus()`.

    Raises
    ------
    ValueError
        ``$STAGE_NUM_THREADS`` is not a positive whole number.
    """
    v = os.environ.get("STAGE_NUM_THREADS", "").strip()
    if not v:
        return usable_cpus()
    if not (v.isascii() and v.isdigit() and int(v) >= 1):
        raise ValueError(f"STAGE_NUM_THREADS={v!r}: expected a positive whole number of threads")
    return int(v)


def set_num_threads(n: int) -> None:
    """Let compiled code use up to `n` threads (process-wide).

    The default is every CPU the process may run on (or ``$STAGE_NUM_THREADS``). Each parallel
    loop wakes only as many of them as its work pays for; results do not depend on `n`.

    Parameters
    ----------
    n : int
        A positive thread count (1: everything runs on the calling thread).

    Raises
    ------
    ValueError
        `n` < 1.
    """
    global _chosen
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads needs a positive count, not {n}")
    _blas().scipy_openblas_set_num_threads(1)
    _pool().stage_pool_set_size(n)
    _chosen = n


def get_num_threads() -> int:
    """The number of threads compiled code may use (see `set_num_threads`)."""
    return int(_pool().stage_pool_size())


def apply_default():
    """Called when the first compiled library is loaded: OpenBLAS single-threaded (stage's pool
    runs its products), the pool at its default size unless `set_num_threads` chose one."""
    if _chosen is None:
        set_num_threads(default_threads())
