"""The C call path of native executables (`runtime_cpp/python/callpath.cpp`): built once per Python
and NumPy version into stage's cache, like any library, and loaded as an extension module.

A compiled call spent ~65 us in the interpreter around a ~450 us native MLP step (matching the
arguments, checking their signature, 12 cffi buffers, taking and keeping the outputs, building the
result), serial and cache-cold at every thread count; the C path does the same in about a
microsecond (a trivial call: 7.5 -> 0.75 us; the MLP step: 70 us less at 1 and at 2 threads). It
takes the clean case only (exact NumPy arrays of the signature, writable where written, no
aliasing) and answers NotImplemented otherwise, so the Python path in `loader.py` stays the one
that copies, refuses and explains: both accept the same calls.

`$STAGE_CALL_PATH=python` turns it off (for comparisons); where the extension cannot be built (no
Python headers) the Python path is used and the reason logged once.
"""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import logging
import os
import sys
import sysconfig
from typing import List, Optional

import numpy as np

from .compiler import RUNTIME_DIR, CompileError, build

log = logging.getLogger("stage.build")

SOURCE = RUNTIME_DIR / "python" / "callpath.cpp"
KINDS = {"leaf": 0, "tuple": 1, "list": 2, "dict": 3, "none": 4, "namedtuple": 5}


def enabled() -> bool:
    """Whether calls take the C path (`$STAGE_CALL_PATH`: "c", the default, or "python")."""
    v = os.environ.get("STAGE_CALL_PATH", "c").strip().lower() or "c"
    if v not in ("c", "python"):
        raise ValueError(f"STAGE_CALL_PATH={v!r}: expected 'c' (the default) or 'python'")
    return v == "c"


@functools.lru_cache(maxsize=None)
def module():
    """The extension module, or None where it cannot be built (the reason is logged)."""
    if sys.implementation.name != "cpython":
        return None
    includes = [sysconfig.get_paths()["include"], np.get_include()]
    # the versions are part of the source, so of the cache key: headers of another Python or
    # NumPy build another library
    source = (f"// Python {sys.version.split()[0]} ({sys.abiflags or 'default'}), "
              f"NumPy {np.__version__}\n" + SOURCE.read_text())
    try:
        path = build(source, "-O2 " + " ".join(f"-I{d}" for d in includes), sanitize="",
                     link=False)
    except (CompileError, OSError) as e:
        log.info("the C call path is not available, calls take the Python path: %s",
                 str(e).splitlines()[0] if str(e) else type(e).__name__)
        return None
    loader = importlib.machinery.ExtensionFileLoader("stage_callpath", str(path))
    spec = importlib.util.spec_from_file_location("stage_callpath", str(path), loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _tree(td) -> List[tuple]:
    """A TreeDef in preorder as (kind, children, meta), the form the C side walks."""
    out = []

    def walk(t):
        out.append((KINDS[t.kind], len(t.children), t.meta))
        for c in t.children:
            walk(c)
    walk(td)
    return out


def plan(exe) -> Optional[object]:
    """The C call plan of a native executable (None: its calls take the Python path)."""
    if not enabled() or exe.program.in_td is None:
        return None
    mod = module()
    if mod is None:
        return None
    p = exe.program
    slot = {leaf: k for k, leaf in enumerate(p.runtime_leaves)}
    key = exe.key[1] if exe.key is not None else None
    inputs = []
    for i in range(p.in_td.num_leaves):
        if i in slot:
            k = slot[i]
            inputs.append((k, None, exe._dtypes[k], exe._shapes[k], exe._written[k]))
        elif key is None:
            return None
        else:
            inputs.append((-1, key[i][1], None, (), False))
    outputs = [(dt, shape, big) for (dt, shape), big in zip(exe.outputs.specs, exe.outputs.big)]
    entry = int(exe.ffi.cast("uintptr_t", exe.lib.stage_entry_packed))
    return mod.Plan(entry, exe.error_raiser(), _tree(p.in_td), inputs, outputs, _tree(p.out_td))

