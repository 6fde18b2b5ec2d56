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

    Made by `st.compile` (see there for the options). Calling it with arguments of a signature it
    has seen (runtime shapes and dtypes, static values, structure) runs the existing
    specialisation; a new signature is staged, built and cached first.

    Attributes
    ----------
    fn : callable
        The Python function being staged.
    backend : str
        ``"native"`` or ``"interp"``.
    options : dict
        The compiler options given to `st.compile` (``cxxflags``, ``profile``).
    last : Executable or None
        The most recently used specialisation.
    ir, source, library_path : str
        The printed IR, the generated C++ and the path of the built library of the most recent
        specialisation (`source` and `library_path` for the native backend only).
    num_specializations : int
        How many signatures have been staged so far.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> f = st.compile(lambda x: st.tanh(x) * 2, backend="interp")
    >>> f(np.zeros(3, np.float32))
    array([0., 0., 0.], dtype=float32)
    >>> f.num_specializations
    1
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
    def lower(self, *args) -> Executable:
        """The specialisation for these arguments' signature, staged and built if needed.

        Parameters
        ----------
        *args
            Arguments as the function would be called with (only their signature matters).

        Returns
        -------
        Executable
            Callable on arguments of exactly this signature (anything else raises
            `TypeError`/`ValueError` naming the argument), with `.program`, `.source` (native)
            and `.library_path` (native).
        """
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
        exe.c_plan = exe.make_c_plan()
        self._cache[key] = exe
        return exe

    def __call__(self, *args):
        try:                               # (free in Python 3.11 unless something is raised)
            fast = self.last
            if fast is not None:           # the common case: the same signature as last time
                if fast.c_plan is not None:
                    out = fast.c_plan.call(args)
                    if out is not NotImplemented:
                        return out
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
        """Native time per op kind of the latest specialisation since the last read.

        Needs ``st.compile(fn, profile=True)``.

        Returns
        -------
        dict
            ``{op: (seconds, calls)}``, largest first.
        """
        return self._need_last().profile()


def compile(fn: Optional[Callable] = None, *, backend: Optional[str] = None, **options) -> Compiled:
    """Stage `fn` on its first call for each signature, build it once, then run it natively.

    The signature of a call is the structure of its arguments (nested tuples, lists, dicts and
    namedtuples), the shape and dtype of each runtime array, and the value of each static one:
    NumPy arrays and NumPy scalars (`np.float32(0.1)`) are runtime values, Python scalars and other
    Python objects are static -- folded into the code, so a new value is a new specialisation.
    Results are NumPy arrays in the structure the function returned. Built libraries are cached on
    disk (``$STAGE_CACHE_DIR``), so a later process reuses them.

    Parameters
    ----------
    fn : callable, optional
        A function of staged values (`Rep`): NumPy-named functions (`st.exp`, `st.sum`, ...),
        operators, `st.nn`, `st.grad`, staged control flow. Without it, `compile` returns a
        decorator: ``@st.compile(backend="interp")``.
    backend : {"native", "interp"}, optional
        ``"native"`` (the default, or ``$STAGE_BACKEND``) generates one C++ translation unit,
        compiles it with ``$STAGE_CXX``/``$CXX``/``g++`` and runs the shared library through cffi;
        ``"interp"`` runs the NumPy interpreter of the IR (no compiler needed; slow; the oracle of
        the tests).
    cxxflags : str, optional
        Optimisation flags replacing the default ``-O3 -march=native`` (or
        ``$STAGE_CXXFLAGS``), e.g. ``"-O1"`` or ``"-O3 -march=x86-64-v2"``. Part of the cache key.
    profile : bool, default False
        Build the library with a timer around every op kind; read the totals with
        `Compiled.profile()`.
    sanitize : str, optional
        A sanitizer build, e.g. ``"address,undefined"`` (as ``$STAGE_SANITIZE``): undefined
        behaviour is reported as it happens; AddressSanitizer needs ``libasan`` preloaded into the
        Python process (``LD_PRELOAD``).

    Returns
    -------
    Compiled
        The compiled function. Objects that are compiled functions already (`st.train_step`,
        `st.eval_step`) are returned as they are (rebuilt with the given backend or options).

    Raises
    ------
    StageTypeError
        On the first call of a signature, a shape or dtype mismatch in `fn` (naming the op, the
        shapes and your line).
    CompileError
        The C++ compiler failed or is missing (the message holds its output and the kept source).
    TypeError, ValueError
        Arguments that cannot be runtime inputs (unsupported dtype, a non-contiguous array that
        must be updated in place, ...).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> def loss(w, x):
    ...     return st.sum(st.tanh(x @ w) ** 2)
    >>> step = st.compile(st.value_and_grad(loss), backend="interp")
    >>> l, dw = step(np.ones((3, 2), np.float32), np.ones((4, 3), np.float32))
    >>> dw.shape
    (3, 2)
    """
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
