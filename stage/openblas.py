"""Where scipy-openblas32's shared library is.

Found from the package's location without importing it: its `__init__` reads its version through
importlib.metadata, about 60 ms, which was most of a warm first call (a cache hit) of a compiled
function. The layout (`<package>/lib/libscipy_openblas*.so`) is the one its get_lib_dir() and
get_library() describe; if it ever differs, the package itself is asked.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from typing import Tuple


@functools.lru_cache(maxsize=None)
def library() -> Tuple[str, str]:
    """(lib directory, link name such as "scipy_openblas") of the OpenBLAS stage links against."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("stage needs the scipy-openblas32 package (pip install scipy-openblas32)")
    d = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    names = sorted(f for f in os.listdir(d) if f.startswith("libscipy_openblas") and ".so" in f) \
        if os.path.isdir(d) else []
    if names:
        return d, names[0].split(".so")[0][3:]
    import scipy_openblas32                     # an unexpected layout: the package knows
    return scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library()


def shared_object() -> str:
    """The path of the shared library itself."""
    d, name = library()
    return os.path.join(d, f"lib{name}.so")
