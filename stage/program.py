"""Tracing a Python function over example arguments into a whole program (a `Block`).

NumPy arrays and NumPy scalars are runtime values (the program's inputs); Python scalars, tuples of
them and other Python objects are static: their values are part of the signature and fold at staging.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

import numpy as np

from . import pytree
from .ir import functions as F
from .ir.graph import Block, Trace, reify
from .ir.passes import dce, verify
from .ir.printer import format_block
from .ir.rep import Rep
from .ir.types import TensorType, canonical_dtype


def is_runtime(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def _static_key(x):
    try:
        hash(x)
        return (type(x).__name__, x)
    except TypeError:
        return (type(x).__name__, id(x))


def signature(args) -> Tuple:
    """The specialisation key of a call: structure, runtime types and static values."""
    leaves, td = pytree.flatten(args)
    key = []
    for x in leaves:
        if isinstance(x, np.ndarray):
            key.append(("a", x.dtype.name, x.shape))
        elif isinstance(x, np.generic):
            key.append(("a", x.dtype.name, ()))
        else:
            key.append(_static_key(x))
    return td, tuple(key)


@dataclass
class Program:
    block: Block
    in_types: List[TensorType]
    runtime_leaves: List[int]       # positions (among the flattened arguments) of runtime inputs
    out_td: Any
    name: str
    in_td: Any = None               # structure of the arguments

    @property
    def ir(self) -> str:
        return format_block(self.block, self.name)

    def __str__(self):
        return self.ir


def trace(fn: Callable, args, name=None) -> Program:
    leaves, td = pytree.flatten(args)
    runtime = [i for i, x in enumerate(leaves) if is_runtime(x)]
    types = []
    for i in runtime:
        a = np.asarray(leaves[i])
        types.append(TensorType(canonical_dtype(a.dtype), tuple(a.shape)))
    out = {}

    def body(*syms):
        full = list(leaves)
        for i, s in zip(runtime, syms):
            full[i] = Rep(s)
        res = fn(*pytree.unflatten(td, full))
        outs, out["td"] = pytree.flatten(res)
        return [F.as_rep(o).exp for o in outs]
    block = reify(body, types, trace=Trace(), root=True)
    dce(block)
    verify(block)
    return Program(block, types, runtime, out["td"], name or getattr(fn, "__name__", "f"), td)
