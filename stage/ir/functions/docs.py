"""Docstrings (and type hints) of the NumPy-named functions, kept in tables apart from their short
definitions, as NumPy keeps its ufuncs' documentation (`ufunc_docstrings.py`): one table per module
of definitions (`docs_elementwise`, `docs_shape`, `docs_reduce`), applied once when the package is
imported. `help(st.exp)` and the API reference read the result; a test fails for a public function
missing here.
"""
from __future__ import annotations

from typing import Dict

from .docs_elementwise import DOCS as _ELEMENTWISE
from .docs_reduce import DOCS as _REDUCE
from .docs_shape import DOCS as _SHAPE
from .docs_ufuncs import DOCS as _UFUNCS
from .docs_stats import DOCS as _STATS
from .docs_scans import DOCS as _SCANS
from .docs_arrays import DOCS as _ARRAYS
from .docs_linalg import DOCS as _LINALG

__all__ = ["document", "DOCS"]

DOCS: Dict[str, str] = {**_ELEMENTWISE, **_SHAPE, **_REDUCE, **_UFUNCS, **_STATS, **_SCANS,
                        **_ARRAYS, **_LINALG}

_HINTS = {"x": "ArrayLike", "y": "ArrayLike", "a": "ArrayLike", "b": "ArrayLike",
          "array": "ArrayLike", "input": "ArrayLike", "target": "ArrayLike",
          "logits": "ArrayLike", "log_probs": "ArrayLike", "indices": "ArrayLike",
          "values": "ArrayLike", "condition": "ArrayLike", "value": "ArrayLike",
          "fill_value": "ArrayLike", "v": "ArrayLike", "shape": "Shape", "axis": "Axis",
          "dtype": "DTypeLike", "keepdims": "bool", "axes": "Optional[Sequence[int]]",
          "arrays": "Sequence[ArrayLike]", "num_classes": "int", "reduction": "str",
          "ignore_index": "int", "ddof": "int", "a_min": "Optional[ArrayLike]",
          "a_max": "Optional[ArrayLike]", "pad_width": "PadWidth", "constant_values": "float",
          "key": "Any"}


def document(namespace: Dict[str, object]) -> None:
    """Set the docstring and, where the definition has none, the type hints of every function of
    `namespace` named in DOCS (their `ArrayLike`, `Shape`, ... are `stage.ir.hints`' aliases,
    made visible in the namespace so the annotations resolve)."""
    import typing
    from .. import hints
    for alias in hints.__all__:
        namespace.setdefault(alias, getattr(hints, alias))
    for alias in ("Any", "Optional", "Sequence"):
        namespace.setdefault(alias, getattr(typing, alias))
    for name, doc in DOCS.items():
        fn = namespace.get(name)
        if not callable(fn):
            continue
        fn.__doc__ = doc
        code = getattr(fn, "__code__", None)
        if code is None or getattr(fn, "__annotations__", None):
            continue
        args = code.co_varnames[:code.co_argcount]
        fn.__annotations__ = {a: _HINTS[a] for a in args if a in _HINTS}
        fn.__annotations__["return"] = "Rep" if name != "assign" else "None"

