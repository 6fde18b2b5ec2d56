"""Executables: one specialisation of a staged function, callable on arrays of its signature.

`Executable` is what every backend's executable shares: the cheap match of a call against the
signature (the fast path of `st.compile`), the strict call with named errors, and the preparation of
the user's arrays (`stage.inputs`). `InterpretedExecutable` runs a program with the NumPy interpreter;
the native one lives with the code generator (`stage.codegen.loader`), which imports this module and
never the public API.
"""
from __future__ import annotations

from typing import List

import numpy as np

from . import pytree
from .inputs import prepare
from .ir.interp import interpret
from .program import Program, signature


class Executable:
    """One specialisation: call it with arguments of exactly its signature.

    Subclasses set `program` and implement `invoke(arrays)` (arrays: the prepared runtime inputs);
    they may override `call(leaves)` with a faster path for leaves that passed `matches`."""

    key = None
    program: Program
    # A faster path for whole calls, set once the key is known (None: there is none). Its
    # `call(args)` and `call_leaves(leaves)` return the result, or NotImplemented for a call it
    # leaves to `call`/`run` (stage.codegen.callpath).
    c_plan = None

    def make_c_plan(self):
        """The C call plan of this executable (its key set), or None."""
        return None

    def _setup_inputs(self):
        p = self.program
        written = set(p.written_inputs())
        self._dtypes = [np.dtype(t.dtype) for t in p.in_types]
        self._shapes = [tuple(t.shape) for t in p.in_types]
        self._written = [k in written for k in range(len(p.in_types))]

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
        p = self.program
        if td != p.in_td:
            raise TypeError(f"{p.name}: expected arguments structured as {p.in_td}, got {td}")
        if self.key is not None:
            got = signature(args)[1]
            for k, (a, b) in enumerate(zip(self.key[1], got)):
                if a == b:
                    continue
                name = p.leaf_name(k)
                if a[0] == "a" and b[0] == "a":
                    if a[1] != b[1]:
                        raise TypeError(f"{p.name}: argument `{name}` has dtype {b[1]}, this "
                                        f"specialisation takes {a[1]}")
                    raise ValueError(f"{p.name}: argument `{name}` has shape {b[2]}, this "
                                     f"specialisation takes {a[2]}")
                raise ValueError(f"{p.name}: argument `{name}` is {leaves[k]!r}, this "
                                 f"specialisation was staged with a different (static) value")
        return self.run(leaves)

    def prepare(self, leaves: List) -> List:
        """The checked, C-contiguous runtime inputs (see stage.inputs.prepare)."""
        return prepare(self.program, leaves, self._dtypes, self._shapes, self._written)

    def run(self, leaves: List):
        """The checked path: prepare every runtime input, then run."""
        return self.invoke(self.prepare(leaves))

    def call(self, leaves: List):
        """Run leaves that passed `matches` (subclasses make this faster)."""
        return self.run(leaves)


class InterpretedExecutable(Executable):
    """Runs a program with the NumPy interpreter (no compiler needed)."""

    def __init__(self, program: Program):
        self.program = program
        self._setup_inputs()

    def invoke(self, arrays: List):
        p = self.program
        outs = interpret(p.block, arrays)
        return pytree.unflatten(p.out_td, [np.array(o) for o in outs])
