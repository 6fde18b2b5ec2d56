"""`st.compile`: specialise a function per signature, build it once, and call it on NumPy arrays."""
from __future__ import annotations

import functools
import os
import threading
import time
from typing import Callable, Dict, Optional

import numpy as np

from . import pytree
from .errors import api_boundary, filtered
from .executable import Executable, InterpretedExecutable  # noqa: F401 (public names)
from .logs import Specialisations, logger
from .program import signature, trace


class Compiled:
    """A staged function: traced and built once per signature, then called on NumPy arrays.

    `backend="native"` (default) generates C++, compiles it and runs the shared library;
    `backend="interp"` runs the NumPy interpreter. `.ir`, `.source` and `.library_path` describe the
    most recent specialisation.
    """

    def __init__(self, fn: Callable, backend: Optional[str] = None, **options):
        self.fn = fn
        self.backend = backend or os.environ.get("STAGE_BACKEND", "native")
        if self.backend not in ("native", "interp"):
            raise ValueError(f"unknown backend {self.backend!r} (use 'native' or 'interp')")
        self.options = options
        self._cache: Dict = {}
        self.last = None
        self._lock = threading.RLock()     # one thread stages and builds a signature at a time
        self._why = Specialisations(fn)
        functools.update_wrapper(self, fn)

    @api_boundary
    def lower(self, *args):
        """The executable for these arguments' signature (built if needed)."""
        key = signature(args)
        exe = self._cache.get(key)
        if exe is None:
            with self._lock:
                exe = self._cache.get(key)
                if exe is None:
                    exe = self._specialise(key, args)
        self.last = exe
        return exe

    def _specialise(self, key, args):
        previous = self.last.key if self.last is not None else \
            next(reversed(self._cache), None)
        reason = self._why.new(key, previous, len(self._cache) + 1, args)
        t0 = time.perf_counter()
        program = trace(self.fn, args)
        t1 = time.perf_counter()
        if self.backend == "interp":
            exe = InterpretedExecutable(program)
        else:
            from .codegen.build import build
            exe = build(program, **self.options)
        logger.info("%s: specialisation %d (%s): staged in %.1f ms, %s in %.1f ms", program.name,
                    len(self._cache) + 1, reason, (t1 - t0) * 1e3,
                    "built" if self.backend == "native" else "ready", (time.perf_counter() - t1) * 1e3)
        exe.key = key
        self._cache[key] = exe
        return exe

    def __call__(self, *args):
        try:                               # (free in Python 3.11 unless something is raised)
            fast = self.last
            if fast is not None:           # the common case: the same signature as last time
                leaves = pytree.match_leaves(fast.program.in_td, args)
                if leaves is not None and fast.matches(leaves):
                    return fast.call(leaves)
            exe = self.lower(*args)
            return exe.run(pytree.flatten(args)[0])
        except Exception as e:
            raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them

    def _need_last(self):
        if self.last is None:
            raise RuntimeError("nothing compiled yet: call the function (or .lower(*args)) first")
        return self.last

    @property
    def ir(self) -> str:
        return self._need_last().program.ir

    @property
    def source(self) -> str:
        return self._need_last().source

    @property
    def library_path(self) -> str:
        return self._need_last().library_path

    @property
    def num_specializations(self) -> int:
        return len(self._cache)

    @property
    def converted_source(self) -> str:
        """The function's source as stage stages it (Python control flow over staged values
        rewritten, see stage.frontend), then that of the user functions it called while staged."""
        from .frontend import converted_source
        return converted_source(self.fn)

    def profile(self) -> dict:
        """With `st.compile(fn, profile=True)`: native seconds and calls per op kind of the latest
        specialisation since the last read, `{op: (seconds, calls)}`, largest first."""
        return self._need_last().profile()


def compile(fn: Callable = None, *, backend: Optional[str] = None, **options):
    """Stage `fn` on its first call for each signature, compile once, then run natively."""
    if fn is None:
        return lambda f: compile(f, backend=backend, **options)
    hook = getattr(fn, "__stage_compile__", None)    # objects that are compiled functions already
    if hook is not None:
        return hook(backend=backend, **options)
    return Compiled(fn, backend, **options)


def eager(fn: Callable, args):
    """Run a staged-only function (e.g. `st.grad(f)` called on NumPy arrays) with the interpreter."""
    args = tuple(np.asarray(a) if isinstance(a, (float, int)) and not isinstance(a, bool) and False
                 else a for a in args)
    return Compiled(fn, backend="interp")(*args)


from .cps import api as _cps_api  # noqa: E402

_cps_api.EAGER["run"] = eager      # st.grad(f)(arrays) outside staging runs the interpreter
