"""The safetensors format (Hugging Face's): read and write named arrays with no dependency but NumPy.

stage saves parameters in this format everywhere -- `Module.save`, the parameters file of
`st.export`, and what an exported library writes back -- so a checkpoint moves between stage,
PyTorch, JAX and the Hugging Face tools without a converter. The layout:

    8 bytes     N, the length of the header, unsigned little-endian
    N bytes     the header: a UTF-8 JSON object. Each tensor's name maps to
                {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, offsets in bytes
                into the data section; the optional key "__metadata__" maps to an object of
                string -> string. Writers pad it with spaces so the data starts 8-byte aligned.
    the rest    the data section: every tensor's elements, row-major, little-endian, back to back
                (no holes, no overlaps: the tensors cover the section exactly)

dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL. BF16, which NumPy lacks, reads as
float32 (exactly: bfloat16 is the upper half of a float32) and cannot be written.

Examples
--------
>>> import numpy as np, stage as st
>>> blob = st.safetensors.save({"w": np.ones((2, 3), np.float32)}, metadata={"note": "hi"})
>>> st.safetensors.load(blob)["w"].shape
(2, 3)
"""
from __future__ import annotations

import json
import mmap
import os
import struct
import tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["save", "load", "save_file", "load_file", "load_metadata", "layout", "DTYPES"]

PathLike = Union[str, "os.PathLike[str]"]

# safetensors dtype name -> NumPy dtype (little-endian); BF16 is decoded separately
DTYPES: Dict[str, str] = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
                          "U8": "u1", "BOOL": "?", "BF16": "<u2"}
_NAMES = {np.dtype(v).newbyteorder("=").name: k for k, v in DTYPES.items() if k != "BF16"}
MAX_HEADER = 100 * 1024 * 1024          # as the reference implementation: refuse larger headers


def dtype_name(dtype) -> str:
    """The safetensors name of a NumPy `dtype` (`float32` -> `F32`); TypeError for others."""
    name = np.dtype(dtype).name
    if name not in _NAMES:
        raise TypeError(f"safetensors: cannot store dtype {name}; supported: "
                        f"{', '.join(sorted(_NAMES))}")
    return _NAMES[name]


def layout(specs: Sequence[Tuple[str, str, Tuple[int, ...]]],
           metadata: Optional[Mapping[str, str]] = None) -> Tuple[bytes, List[Tuple[int, int]]]:
    """The file's prefix (8-byte length and padded JSON header) and each tensor's data offsets.

    The data section holds the tensors sorted by item size, largest first (stable), so each starts
    aligned to its own item size without padding; the header lists them in the order given.
    `save` writes this layout; the exported library bakes the prefix in to write the same bytes.

    Parameters
    ----------
    specs : sequence of (str, str, tuple of int)
        Each tensor's name, NumPy dtype name and shape.
    metadata : mapping of str to str, optional
        The header's ``__metadata__``.

    Returns
    -------
    (bytes, list of (int, int))
        The prefix, and (begin, end) in the data section per tensor, in the order of `specs`.
    """
    names = [s[0] for s in specs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"safetensors: duplicate tensor names {dup}")
    if "__metadata__" in names:
        raise ValueError("safetensors: '__metadata__' is reserved and cannot name a tensor")
    sizes = [int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
             for _, dt, shape in specs]
    order = sorted(range(len(specs)), key=lambda i: -np.dtype(specs[i][1]).itemsize)
    offsets: List[Tuple[int, int]] = [(0, 0)] * len(specs)
    pos = 0
    for i in order:
        offsets[i] = (pos, pos + sizes[i])
        pos += sizes[i]
    header: Dict[str, object] = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"safetensors: metadata must map str to str (bad keys: {bad})")
        header["__metadata__"] = dict(metadata)
    for (name, dt, shape), off in zip(specs, offsets):
        header[name] = {"dtype": dtype_name(dt), "shape": [int(d) for d in shape],
                        "data_offsets": list(off)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text, offsets


def save(arrays: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding `arrays`.

    Parameters
    ----------
    arrays : mapping of str to array_like
        Tensors by name, any dtype of `DTYPES` but BF16 (any byte order; written little-endian).
    metadata : mapping of str to str, optional
        Stored as the header's ``__metadata__``.

    Returns
    -------
    bytes

    Raises
    ------
    TypeError
        An unsupported dtype, a name that is not a string, or metadata that is not str -> str.
    ValueError
        A tensor named ``__metadata__``.
    """
    arrs = {k: np.asarray(v) for k, v in arrays.items()}
    bad = [k for k in arrs if not isinstance(k, str)]
    if bad:
        raise TypeError(f"safetensors: tensor names must be strings, got {bad}")
    prefix, offsets = layout([(k, a.dtype.name, a.shape) for k, a in arrs.items()], metadata)
    data = bytearray(prefix) + bytearray(max((e for _, e in offsets), default=0))
    for a, (b, e) in zip(arrs.values(), offsets):
        le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False)
        data[len(prefix) + b:len(prefix) + e] = le.tobytes()
    return bytes(data)


def save_file(arrays: Mapping[str, np.ndarray], path: PathLike,
              metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write `arrays` to the safetensors file `path`, atomically.

    The bytes go to a temporary file in the same directory, renamed over `path`, so an
    interrupted save never leaves a half-written file (and an old file stays intact).

    Parameters
    ----------
    arrays : mapping of str to array_like
        Tensors by name (see `save`).
    path : str or os.PathLike
        The file, conventionally ``*.safetensors``.
    metadata : mapping of str to str, optional
        Stored as the header's ``__metadata__`` (e.g. ``{"format": "pt"}``).
    """
    blob = save(arrays, metadata)
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _parse_header(buf, size: int, where: str) -> Tuple[dict, int]:
    """The JSON header of a file of `size` bytes whose first bytes are in `buf`, and where its
    data section starts."""
    if size < 8:
        raise ValueError(f"{where}: not a safetensors file ({size} bytes, shorter than the "
                         f"8-byte header length)")
    (n,) = struct.unpack("<Q", bytes(buf[:8]))
    if n > size - 8 or n > MAX_HEADER:
        raise ValueError(f"{where}: not a safetensors file (header length {n} but the file has "
                         f"{size} bytes)")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: the safetensors header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where}: the safetensors header is not a JSON object")
    return header, 8 + n


def _entries(header: dict, data_size: int, where: str) -> Dict[str, Tuple[str, tuple, int, int]]:
    """Validated (dtype, shape, begin, end) per tensor, in header order."""
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            if not isinstance(e, dict) or not all(isinstance(v, str) for v in e.values()):
                raise ValueError(f"{where}: __metadata__ must map strings to strings")
            continue
        if not isinstance(e, dict) or e.get("dtype") not in DTYPES or \
                not isinstance(e.get("shape"), list) or not isinstance(e.get("data_offsets"), list):
            raise ValueError(f"{where}: tensor {name!r} has a malformed entry {e!r}")
        shape, off = e["shape"], e["data_offsets"]
        if not all(type(d) is int and d >= 0 for d in shape) or len(off) != 2 or \
                not all(type(o) is int for o in off) or not 0 <= off[0] <= off[1] <= data_size:
            raise ValueError(f"{where}: tensor {name!r} has a bad shape or offsets {e!r} (the data "
                             f"section has {data_size} bytes)")
        need = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[e["dtype"]]).itemsize
        if off[1] - off[0] != need:
            raise ValueError(f"{where}: tensor {name!r} ({e['dtype']} {shape}) needs {need} bytes, "
                             f"its offsets span {off[1] - off[0]}")
        out[name] = (e["dtype"], tuple(shape), off[0], off[1])
    spans = sorted((b, e) for _, _, b, e in out.values())
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError(f"{where}: the tensors' data {'overlap' if b < pos else 'leave a hole'}"
                             f" at byte {min(b, pos)} of the data section")
        pos = e
    if pos != data_size:
        raise ValueError(f"{where}: the data section has {data_size} bytes, the tensors cover {pos}")
    return out


def _array(buf, offset: int, dtype: str, shape: tuple) -> np.ndarray:
    """A copy of one tensor, in native byte order (BF16 widened to float32)."""
    dt = np.dtype(DTYPES[dtype])
    count = int(np.prod(shape, dtype=np.int64))
    a = np.frombuffer(buf, dt, count, offset) if count else np.zeros(0, dt)
    if dtype == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return a.astype(dt.newbyteorder("="), copy=True).reshape(shape)


def load(data: bytes, where: str = "safetensors") -> Dict[str, np.ndarray]:
    """The arrays of a safetensors file's bytes.

    Parameters
    ----------
    data : bytes
        The whole file.
    where : str, default "safetensors"
        Names the source in error messages.

    Returns
    -------
    dict of str to numpy.ndarray
        Copies in native byte order, in header order (BF16 widened to float32).

    Raises
    ------
    ValueError
        Not a safetensors file, or an inconsistent one (bad JSON, an unknown dtype, offsets out
        of range, overlapping, or leaving holes): the message says which tensor.
    """
    header, start = _parse_header(data, len(data), where)
    view = memoryview(data)[start:]
    return {k: _array(view, b, dt, shape)
            for k, (dt, shape, b, _) in _entries(header, len(view), where).items()}


def load_file(path: PathLike) -> Dict[str, np.ndarray]:
    """The arrays of the safetensors file `path` (e.g. a PyTorch or Hugging Face checkpoint).

    The file is memory-mapped and each tensor copied once.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict of str to numpy.ndarray
        By name, in header order; float16 stays float16, bfloat16 becomes float32.

    Raises
    ------
    ValueError
        Not a valid safetensors file (see `load`).
    OSError
        The file cannot be read.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            return load(f.read(), path)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            header, start = _parse_header(mm, size, path)
            entries = _entries(header, size - start, path)
            return {k: _array(mm, start + b, dt, shape) for k, (dt, shape, b, _) in entries.items()}


def load_metadata(path: PathLike) -> Dict[str, str]:
    """The ``__metadata__`` of the safetensors file `path` ({} when it has none), read without
    loading the tensors.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict of str to str
    """
    with open(os.fspath(path), "rb") as f:
        head = f.read(8)
        size = os.fstat(f.fileno()).st_size
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        header, _ = _parse_header(head + f.read(min(n, MAX_HEADER)), size, os.fspath(path))
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: __metadata__ must map strings to strings")
    return meta
