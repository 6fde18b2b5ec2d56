"""The C signature of an exported entry: which traced inputs are bound parameters and which are
arguments of the C function, their C names, types and documentation.

Names come from the Python function's parameter names and the pytree paths below them
(`params[0]["w"]` becomes the C name `params_0_w` and the parameter-file name `params.0.w`).
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..ir.inplace import program_writes
from .. import pytree
from ..names import arg_names, py_path as _py_path, tree_paths  # noqa: F401 (arg_names: export)

C_TYPES = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t",
           "bool": "bool"}
C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while bool true false model""".split())


@dataclass
class Param:
    """An array bound into a model handle (saved in the parameters file)."""
    index: int
    name: str                  # file name of the array, e.g. "params.0.w"
    cname: str                 # C identifier, e.g. "params_0_w"
    array: np.ndarray
    mutable: bool = False      # updated in place (st.assign) by some entry

    @property
    def dtype(self) -> str:
        return self.array.dtype.name

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)


@dataclass
class Arg:
    """One input or output of an entry."""
    cname: str
    path: str                  # where it comes from in Python, e.g. "params[0]['w']" or "result[1]"
    dtype: str
    shape: Tuple[int, ...]
    mutable: bool = False
    used: bool = True          # read by the program (unused runtime inputs are left out of the C API)
    param: Optional[Param] = None
    example: str = ""          # a runtime scalar's value in the example arguments

    @property
    def ctype(self) -> str:
        return C_TYPES[self.dtype]

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def type_doc(self) -> str:
        return f"{self.dtype}[{', '.join(map(str, self.shape))}]" if self.shape else \
            f"{self.dtype} scalar"


@dataclass
class EntrySpec:
    name: str                  # the entry's name: the C function is <model>_<name>
    fn_name: str
    program: Any
    inputs: List[Arg]          # every traced input, in the order of the program's stage_entry
    outputs: List[Arg]
    statics: List[Tuple[str, str]] = field(default_factory=list)   # (path, repr) folded in
    source: str = ""           # the C++ stage generated for the program

    @property
    def runtime(self) -> List[Arg]:
        return [a for a in self.inputs if a.param is None and a.used]

    @property
    def bound(self) -> List[Arg]:
        return [a for a in self.inputs if a.param is not None]


def identifier(s: str) -> str:
    """A C identifier from any string."""
    s = re.sub(r"\W", "_", s.encode("ascii", "replace").decode())
    s = re.sub(r"_+", "_", s).strip("_") or "x"
    if s[0].isdigit():
        s = "_" + s
    return s + "_" if s in C_KEYWORDS or keyword.iskeyword(s) else s


class Unique:
    """Hands out distinct C identifiers."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def __call__(self, s: str) -> str:
        base = identifier(s)
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def used_inputs(block) -> set:
    """Ids of the block's inputs that anything reads (a node, a nested block's result, the result)."""
    ids = {s.id for s in block.inputs}
    used = {e.id for e in block.result if getattr(e, "id", None) in ids}
    for n in block.walk():
        used.update(a.id for a in n.args if getattr(a, "id", None) in ids)
        for b in n.blocks:
            used.update(e.id for e in b.result if getattr(e, "id", None) in ids)
    return used


def describe(name: str, fn, args: tuple, program, param_argnums: Sequence[int],
             params: Dict[int, Param], param_names: Unique, roots: Optional[List[str]] = None,
             user_args: Optional[Tuple[int, List[str]]] = None) -> EntrySpec:
    """The C view of one traced entry; new parameters are added to `params` (keyed by the id of the
    example array, so an array passed to several entries is one parameter of the model).

    Leaves are named after `roots` (default: fn's parameter names) and their pytree paths; with
    `user_args = (k, names)`, the leaves under argument k are named after `names` instead (the
    user's own arguments, wrapped by st.train_step / st.eval_step)."""
    leaves, td = pytree.flatten(tuple(args))
    paths = tree_paths(td)
    assert len(paths) == len(leaves)
    roots = roots or arg_names(fn, len(args))
    block = program.block
    mutable = program_writes(block)
    used = used_inputs(block)
    runtime = set(program.runtime_leaves)
    for a in param_argnums:
        if not 0 <= a < len(args):
            raise ValueError(f"export: params argnum {a} is out of range for {len(args)} arguments "
                             f"of {name!r}")

    def parts(path):
        if user_args is not None and path[0] == user_args[0] and len(path) > 1:
            return user_args[1][path[1]], path[2:]
        return roots[path[0]], path[1:]
    unique = Unique()
    inputs = []
    for k, i in enumerate(program.runtime_leaves):
        path = paths[i]
        root, rest = parts(path)
        sym = block.inputs[k]
        x = leaves[i]
        arr = np.asarray(x)
        arg = Arg(unique("_".join([root, *map(str, rest)])), _py_path(root, rest), arr.dtype.name,
                  tuple(arr.shape), sym.id in mutable, used=sym.id in used)
        if path[0] in param_argnums:
            p = params.get(id(x))
            if p is None:
                fname = ".".join([root] + [str(r) for r in rest])
                p = Param(len(params), fname, param_names(fname), arr)
                params[id(x)] = p
            p.mutable |= arg.mutable
            arg.param = p
        elif arr.shape == ():
            arg.example = str(arr)
        inputs.append(arg)
    statics = [(_py_path(*parts(paths[i])), repr(leaves[i]))
               for i in range(len(leaves)) if i not in runtime]
    out_paths = tree_paths(program.out_td)
    outputs = []
    for j, e in enumerate(block.result):
        t = e.type
        op = out_paths[j]
        cname = unique("out" if not op else
                       "out" + ("" if isinstance(op[0], int) else "_") + "_".join(map(str, op)))
        outputs.append(Arg(cname, _py_path("result", out_paths[j]), t.dtype, tuple(t.shape)))
    return EntrySpec(name, getattr(fn, "__name__", name), program, inputs, outputs, statics)
