"""How many threads BLAS calls in compiled code may use.

Every compiled library links the same OpenBLAS, so this is one process-wide setting. The default is
one thread (or `$STAGE_NUM_THREADS`): stage's programs make many small products -- one per time step
or tree node -- and waking BLAS worker threads for each costs more than the product (on a busy
machine, tens of times more). Large convolutions and matrix products do gain from more threads:
`st.set_num_threads(n)`.
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


def set_num_threads(n: int) -> None:
    """Let BLAS in compiled code use up to `n` threads (process-wide).

    The default is 1 (or ``$STAGE_NUM_THREADS``): stage's programs make many small products, for
    which waking worker threads costs more than it gains; large convolutions and matrix products
    gain from more.

    Parameters
    ----------
    n : int
        A positive thread count.

    Raises
    ------
    ValueError
        `n` < 1.
    """
    global _chosen
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads needs a positive count, not {n}")
    _blas().scipy_openblas_set_num_threads(n)
    _chosen = n


def get_num_threads() -> int:
    """The number of threads BLAS in compiled code may use (see `set_num_threads`)."""
    return int(_blas().scipy_openblas_get_num_threads())


def apply_default():
    """Called when the first compiled library is loaded: one BLAS thread unless told otherwise."""
    if _chosen is None:
        v = os.environ.get("STAGE_NUM_THREADS", "1").strip() or "1"
        if not (v.isascii() and v.isdigit() and int(v) >= 1):
            raise ValueError(f"STAGE_NUM_THREADS={v!r}: expected a whole number of BLAS threads "
                             f"(1 or more)")
        set_num_threads(int(v))
