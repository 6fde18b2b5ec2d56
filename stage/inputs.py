"""The call boundary: which Python objects are runtime arrays, and turning the user's arrays into
what a compiled program reads, with errors that name the user's argument.

Arrays come in as users have them. NumPy arrays and scalars, and any object with `__dlpack__` or
`__array__` (a PyTorch tensor, a JAX array), are runtime inputs. An input the program only reads may
have any layout: a non-contiguous view (`x.T`, `x[::2]`), Fortran order or a read-only array is copied
into a C-contiguous buffer when it must be, and passed without a copy otherwise. An input the program
writes in place (an `st.assign` target: a parameter or optimizer state of a training step) must be the
user's own writable, C-contiguous memory -- a NumPy array or a DLPack tensor, never a copy, which would
be updated silently instead -- else the call is refused before any native code runs.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np


def is_runtime(x) -> bool:
    """Whether a leaf of the arguments is a runtime array (else it is a static Python value)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return True
    if isinstance(x, type):                      # a class with an __array__ method is not an array
        return False
    return hasattr(x, "__dlpack__") or hasattr(x, "__array__")


def as_array(x, name: str = "x", fn: str = ""):
    """`x` as a NumPy array (or NumPy scalar), without a copy where the object allows it."""
    if isinstance(x, (np.ndarray, np.generic)):
        if isinstance(x, np.ma.MaskedArray):       # its mask would be silently dropped
            raise TypeError(f"{fn + ': ' if fn else ''}argument `{name}` is a masked array; stage "
                            f"reads plain arrays: pass x.filled(value) or x.compressed()")
        return x
    errors = []
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)             # zero-copy by the protocol
        except Exception as e:                  # noqa: BLE001 (any failure: try __array__, then say)
            errors.append(f"{type(e).__name__}: {e}")
    if hasattr(x, "__array__"):
        try:
            return np.asarray(x)
        except Exception as e:                  # noqa: BLE001
            errors.append(f"{type(e).__name__}: {e}")
    raise TypeError(f"{fn + ': ' if fn else ''}argument `{name}` ({type(x).__name__}) cannot be read "
                    f"as an array: {'; '.join(errors) or 'it has no __dlpack__ or __array__'}")


def written_copy_reason(x) -> str:
    """Why `x` cannot be updated in place by a compiled function ("" if it can)."""
    if isinstance(x, np.generic):
        return "it is a NumPy scalar (immutable); pass a 0-d array, np.array(x)"
    if not x.flags.writeable:
        return ("it is read-only (writeable=False: np.frombuffer of bytes, a read-only memmap, a "
                "broadcast view ...); pass a writable array, e.g. np.array(x), and keep using that one")
    if not x.flags.c_contiguous:
        return ("it is not C-contiguous (a view such as x.T or x[::2], or Fortran order), so its "
                "update cannot be written back in place; pass np.ascontiguousarray(x) and keep "
                "using that array")
    return ""


def prepare(program, leaves: Sequence, dtypes: Sequence, shapes: Sequence, written: Sequence[bool]
            ) -> List:
    """The runtime inputs of `program` from the flattened arguments: checked against the program's
    types (a TypeError or ValueError naming the argument otherwise), C-contiguous, written inputs
    the user's own memory."""
    fn = program.name
    out = []
    for k, i in enumerate(program.runtime_leaves):
        orig = leaves[i]
        name = program.leaf_name(i)
        if written[k] and not isinstance(orig, (np.ndarray, np.generic)):
            x = _shared(orig, name, fn)
        else:
            x = as_array(orig, name, fn)
        dt, shape = dtypes[k], shapes[k]
        if x.dtype != dt:
            raise TypeError(f"{fn}: argument `{name}` has dtype {x.dtype}, this specialisation "
                            f"takes {dt}")
        if x.shape != shape:
            raise ValueError(f"{fn}: argument `{name}` has shape {x.shape}, this specialisation "
                             f"takes {shape}")
        if written[k]:
            why = written_copy_reason(x)
            if why:
                raise ValueError(f"{fn}: argument `{name}` is updated in place by the compiled "
                                 f"function (st.assign), but {why}")
        elif isinstance(x, np.ndarray) and not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        out.append(x)
    if any(written):
        _check_aliasing(program, out, written)
    return out


def _check_aliasing(program, arrays: Sequence, written: Sequence[bool]):
    """An input updated in place must not share memory with another input: what the program would
    read of the other one depends on the order of the generated code (never a silent answer)."""
    leaves = program.runtime_leaves
    for k, x in enumerate(arrays):
        if not written[k] or not isinstance(x, np.ndarray):
            continue
        for j, y in enumerate(arrays):
            if j != k and isinstance(y, np.ndarray) and np.may_share_memory(x, y) and \
                    np.shares_memory(x, y, max_work=1 << 20):
                raise ValueError(
                    f"{program.name}: argument `{program.leaf_name(leaves[k])}` is updated in "
                    f"place by the compiled function (st.assign), but argument "
                    f"`{program.leaf_name(leaves[j])}` shares its memory; pass a copy of one")


def _shared(x, name: str, fn: str) -> np.ndarray:
    """A written input that is not a NumPy array: only DLPack shares its memory for certain."""
    try:
        return np.from_dlpack(x)
    except Exception as e:                      # noqa: BLE001
        why = f"{type(e).__name__}: {e}" if hasattr(x, "__dlpack__") else "it has no __dlpack__"
        raise ValueError(f"{fn}: argument `{name}` is updated in place by the compiled function "
                         f"(st.assign), but this {type(x).__name__} cannot be shared without a "
                         f"copy ({why}); pass a NumPy array") from None
