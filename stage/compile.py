"""`st.compile`: specialise a function per signature, build it once, and call it on NumPy arrays."""
from __future__ import annotations

import functools
import os
from typing import Callable, Dict, Optional

import numpy as np

from . import pytree
from .errors import api_boundary, filtered
from .ir.interp import interpret
from .program import Program, signature, trace


class Executable:
    """One specialisation: call it with arguments of exactly its signature."""

    key = None

    def matches(self, leaves) -> bool:
        """Whether flattened arguments fit this specialisation (cheap checks; no errors raised)."""
        checks = self.__dict__.get("_checks")
        if checks is None:
            if self.key is None:
                return False
            checks = self._checks = [(True, np.dtype(k[1]), k[2]) if k[0] == "a" else
                                     (False, k[0], k[1]) for k in self.key[1]]
        for x, (runtime, a, b) in zip(leaves, checks):
            if runtime:
                tx = type(x)
                if tx is np.ndarray or isinstance(x, np.generic):
                    if x.shape != b or not (x.dtype is a or x.dtype == a):
                        return False
                else:
                    return False
            elif not (x is b or (type(x).__name__ == a and x == b)):
                return False
        return True

    def __call__(self, *args):
        """Run on arguments of this specialisation's signature; anything else is a clear error."""
        leaves, td = pytree.flatten(args)
        name = self.program.name
        if td != self.program.in_td:
            raise TypeError(f"{name}: expected arguments structured as {self.program.in_td}, "
                            f"got {td}")
        if self.key is not None:
            got = signature(args)[1]
            for k, (a, b) in enumerate(zip(self.key[1], got)):
                if a == b:
                    continue
                if a[0] == "a" and b[0] == "a":
                    if a[1] != b[1]:
                        raise TypeError(f"{name}: argument leaf {k} has dtype {b[1]}, this "
                                        f"specialisation takes {a[1]}")
                    raise ValueError(f"{name}: argument leaf {k} has shape {b[2]}, this "
                                     f"specialisation takes {a[2]}")
                raise ValueError(f"{name}: argument leaf {k} is {leaves[k]!r}, this "
                                 f"specialisation was staged with a different (static) value")
        return self.run(leaves)


class InterpretedExecutable(Executable):
    """Runs a program with the NumPy interpreter (no compiler needed)."""

    def __init__(self, program: Program):
        self.program = program

    def run(self, leaves):
        p = self.program
        args = [_check_arg(p, k, leaves[i]) for k, i in enumerate(p.runtime_leaves)]
        outs = interpret(p.block, args)
        return pytree.unflatten(p.out_td, [np.array(o) for o in outs])

    call = run


def _check_arg(p: Program, k: int, x):
    t = p.in_types[k]
    a = np.asarray(x)
    if a.dtype.name != t.dtype:
        raise TypeError(f"{p.name}: argument {k} has dtype {a.dtype.name}, expected {t.dtype}")
    if a.shape != t.shape:
        raise ValueError(f"{p.name}: argument {k} has shape {a.shape}, expected {t.shape}")
    return a


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
        functools.update_wrapper(self, fn)

    @api_boundary
    def lower(self, *args):
        """The executable for these arguments' signature (built if needed)."""
        key = signature(args)
        exe = self._cache.get(key)
        if exe is None:
            program = trace(self.fn, args)
            if self.backend == "interp":
                exe = InterpretedExecutable(program)
            else:
                from .codegen.build import build
                exe = build(program, **self.options)
            exe.key = key
            self._cache[key] = exe
        self.last = exe
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
