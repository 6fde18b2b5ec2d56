"""The parameters file of an exported model: named arrays in a small, documented binary format.

Every integer is little-endian; there is no padding anywhere.

    magic     8 bytes   b"STGPARAM"
    version   u32       1
    count     u32       number of arrays
    count times:
      name_len  u32       length of the name in bytes
      name      bytes     UTF-8, not NUL-terminated (e.g. "params.0.w")
      dtype     u32       1 float32, 2 float64, 3 int32, 4 int64, 5 bool (one byte, 0 or 1)
      ndim      u32
      dims      ndim x u64
      nbytes    u64       product(dims) * itemsize (redundant, checked)
      data      nbytes    the elements in C (row-major) order, little-endian

The exported library reads this format (checking every name, dtype and shape against the arrays it
was compiled for) and writes it back (`<name>_save_params`); `save_params` / `load_params` are the
Python side.
"""
from __future__ import annotations

import struct
from typing import Dict

import numpy as np

MAGIC = b"STGPARAM"
VERSION = 1
DTYPE_CODES = {"float32": 1, "float64": 2, "int32": 3, "int64": 4, "bool": 5}
CODE_DTYPES = {v: k for k, v in DTYPE_CODES.items()}


def encode(arrays: Dict[str, np.ndarray]) -> bytes:
    """The file's bytes for an ordered mapping name -> array."""
    parts = [MAGIC, struct.pack("<II", VERSION, len(arrays))]
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype.name not in DTYPE_CODES:
            raise TypeError(f"params: {name} has dtype {a.dtype.name}; supported: "
                            f"{', '.join(DTYPE_CODES)}")
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        nm = name.encode()
        parts += [struct.pack("<I", len(nm)), nm,
                  struct.pack("<II", DTYPE_CODES[a.dtype.name], a.ndim),
                  struct.pack(f"<{a.ndim}Q", *a.shape), struct.pack("<Q", len(data)), data]
    return b"".join(parts)


def decode(buf: bytes) -> Dict[str, np.ndarray]:
    """The arrays of a parameters file's bytes, in file order."""
    view = memoryview(buf)
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(view):
            raise ValueError(f"params: truncated file (needed {n} bytes at offset {pos})")
        pos += n
        return view[pos - n:pos]
    if bytes(take(8)) != MAGIC:
        raise ValueError("params: not a stage parameters file (bad magic)")
    version, count = struct.unpack("<II", take(8))
    if version != VERSION:
        raise ValueError(f"params: unsupported version {version} (this stage reads {VERSION})")
    out = {}
    for _ in range(count):
        (n,) = struct.unpack("<I", take(4))
        name = bytes(take(n)).decode()
        code, ndim = struct.unpack("<II", take(8))
        if code not in CODE_DTYPES:
            raise ValueError(f"params: {name} has unknown dtype code {code}")
        shape = struct.unpack(f"<{ndim}Q", take(8 * ndim))
        (nbytes,) = struct.unpack("<Q", take(8))
        dt = np.dtype(CODE_DTYPES[code]).newbyteorder("<")
        if nbytes != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"params: {name}: {nbytes} bytes do not match shape {shape}")
        out[name] = np.frombuffer(take(nbytes), dt).reshape(shape).astype(dt.newbyteorder("="))
    return out


def save_params(path, arrays: Dict[str, np.ndarray]):
    """Write an ordered mapping name -> array as a stage parameters file."""
    with open(path, "wb") as f:
        f.write(encode(arrays))


def load_params(path) -> Dict[str, np.ndarray]:
    """Read a stage parameters file (e.g. one written by an exported library) as name -> array."""
    with open(path, "rb") as f:
        return decode(f.read())
