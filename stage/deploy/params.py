"""The parameters file of an exported model: a safetensors file (see `stage.safetensors`).

`st.export` writes `<name>.safetensors` holding the arrays bound into the model handle, named after
the exported function's parameters and pytree paths (`params.0.w`); the exported library reads it
(checking every name, dtype and shape against the arrays it was compiled for) and writes the same
layout back (`<name>_save_params`). Any safetensors tool reads and writes it too.

stage 0.1 wrote its own format (magic `STGPARAM`); `load_params` still reads such a file, with a
DeprecationWarning, until stage 0.2. Nothing writes it any more, and exported libraries read only
safetensors.
"""
from __future__ import annotations

import os
import struct
import warnings
from typing import Dict, Mapping, Optional

import numpy as np

from .. import safetensors

__all__ = ["save_params", "load_params"]

_LEGACY_MAGIC = b"STGPARAM"
_LEGACY_DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "int64", 5: "bool"}


def save_params(path, arrays: Mapping[str, np.ndarray],
                metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write `arrays` (name -> array) as a parameters file (safetensors), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (conventionally `<name>.safetensors`).
    arrays : mapping of str to numpy.ndarray
        The arrays, e.g. `{p.name: p.array for p in exp.params}` or a library's saved file.
    metadata : mapping of str to str, optional
        Stored in the header's `__metadata__`.
    """
    safetensors.save_file(arrays, path, metadata)


def load_params(path) -> Dict[str, np.ndarray]:
    """Read a parameters file (e.g. one an exported library wrote with `<name>_save_params`).

    Parameters
    ----------
    path : str or os.PathLike
        A safetensors file, or (deprecated, until stage 0.2) a stage 0.1 `STGPARAM` file.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays by name.

    Raises
    ------
    ValueError
        The file is neither format, or is truncated or inconsistent.
    """
    with open(os.fspath(path), "rb") as f:
        magic = f.read(8)
    if magic == _LEGACY_MAGIC:
        warnings.warn(f"{path}: the STGPARAM parameters format of stage 0.1 is deprecated and "
                      f"will not be read after stage 0.2; re-save it with save_params "
                      f"(safetensors)", DeprecationWarning, stacklevel=2)
        with open(os.fspath(path), "rb") as f:
            return _decode_legacy(f.read())
    return safetensors.load_file(path)


def _decode_legacy(buf: bytes) -> Dict[str, np.ndarray]:
    """The arrays of a stage 0.1 parameters file: magic, u32 version 1, u32 count, then per array
    u32 name length, the name, u32 dtype code, u32 ndim, ndim x u64 dims, u64 nbytes, the data."""
    view = memoryview(buf)
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(view):
            raise ValueError(f"params: truncated file (needed {n} bytes at offset {pos})")
        pos += n
        return view[pos - n:pos]
    if bytes(take(8)) != _LEGACY_MAGIC:
        raise ValueError("params: not a stage parameters file (bad magic)")
    version, count = struct.unpack("<II", take(8))
    if version != 1:
        raise ValueError(f"params: unsupported version {version} (this stage reads 1)")
    out = {}
    for _ in range(count):
        (n,) = struct.unpack("<I", take(4))
        name = bytes(take(n)).decode()
        code, ndim = struct.unpack("<II", take(8))
        if code not in _LEGACY_DTYPES:
            raise ValueError(f"params: {name} has unknown dtype code {code}")
        shape = struct.unpack(f"<{ndim}Q", take(8 * ndim))
        (nbytes,) = struct.unpack("<Q", take(8))
        dt = np.dtype(_LEGACY_DTYPES[code]).newbyteorder("<")
        if nbytes != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"params: {name}: {nbytes} bytes do not match shape {shape}")
        out[name] = np.frombuffer(take(nbytes), dt).reshape(shape).astype(dt.newbyteorder("="))
    return out
