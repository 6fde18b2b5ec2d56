"""Tracing a Python function over example arguments into a whole program (a `Block`).

NumPy arrays, NumPy scalars and other array objects (`__dlpack__`/`__array__`: PyTorch tensors) are
runtime values (the program's inputs); Python scalars, tuples of them and other Python objects are
static: their values are part of the signature and fold at staging.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from . import pytree
from .inputs import as_array, is_runtime
from .names import leaf_names
from .frontend import convert
from .ir import functions as F
from .ir.graph import Block, Trace, reify
from .ir.inplace import check as check_inplace, program_writes
from .ir.passes import dce, verify
from .ir.printer import format_block
from .ir.rep import Rep
from .ir.types import TensorType, canonical_dtype


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
        elif is_runtime(x):
            a = as_array(x)
            key.append(("a", a.dtype.name, tuple(a.shape)))
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
    leaf_names: Optional[List[str]] = None   # the user's name of each argument leaf (`params[0]['w']`)

    def leaf_name(self, i: int) -> str:
        """The user's name of argument leaf i, for messages."""
        return self.leaf_names[i] if self.leaf_names and i < len(self.leaf_names) else f"#{i}"

    def written_inputs(self) -> List[int]:
        """Positions (among the program's inputs) of the inputs the program writes in place (the
        targets of st.assign, at any depth)."""
        ids = program_writes(self.block)
        return [k for k, s in enumerate(self.block.inputs) if s.id in ids]

    @property
    def ir(self) -> str:
        return format_block(self.block, self.name)

    def __str__(self):
        return self.ir


def trace(fn: Callable, args, name=None) -> Program:
    leaves, td = pytree.flatten(args)
    runtime = [i for i, x in enumerate(leaves) if is_runtime(x)]
    name = name or getattr(fn, "__name__", "f")
    names = leaf_names(fn, tuple(args), td)
    types = []
    for i in runtime:
        a = as_array(leaves[i], names[i], name)
        types.append(TensorType(canonical_dtype(a.dtype), tuple(a.shape)))
    out = {}

    def body(*syms):
        full = list(leaves)
        for i, s in zip(runtime, syms):
            full[i] = Rep(s)
        res = convert(fn)(*pytree.unflatten(td, full))      # Python control flow -> staged
        outs, out["td"] = pytree.flatten(res)
        return [F.as_rep(o).exp for o in outs]
    block = reify(body, types, trace=Trace(), root=True)
    dce(block)
    verify(block)
    check_inplace(block)          # the same rules for every backend
    return Program(block, types, runtime, out["td"], name, td, names)
