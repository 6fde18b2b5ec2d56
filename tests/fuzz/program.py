"""The fuzzer's program representation and its rendering to Python source.

A generated program is a small typed AST (`Program` of `Block`s of `Stmt`s over SSA `Var`s), so that
it can be rendered twice -- once over `stage` (`target="st"`) and once over the PyTorch shim
(`target="torch"`, the same NumPy-named functions implemented eagerly in torch) -- and shrunk by the
minimiser (statements dropped, their results turned into new inputs). The rendered stage source is
the reproducer: it is plain Python a person can paste.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np


@dataclass(eq=False)
class Var:
    name: str
    shape: Tuple[int, ...]
    dtype: str                       # float64 | float32 | int64 | bool
    lo: Optional[int] = None         # int scalars: the value lies in [lo, hi) (for staged indices)
    hi: Optional[int] = None
    view: bool = False               # made by a view op (no copy): reshape, getitem, broadcast_to...

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_float(self):
        return self.dtype.startswith("float")

    def __repr__(self):
        return f"{self.name}:{self.dtype}{list(self.shape)}"


@dataclass(frozen=True)
class Dyn:
    """A staged index inside a getitem key: the j-th staged argument of the statement."""
    j: int


@dataclass(eq=False)
class Stmt:
    kind: str                        # op | cond | fori | while
    outs: List[Var]
    args: List[Any]                  # Vars or Python literals
    op: str = ""                     # the catalogue entry (kind "op")
    kw: Dict[str, Any] = field(default_factory=dict)
    blocks: List["Block"] = field(default_factory=list)
    tree: Any = None                 # control forms: the pytree of the carry / branch results


@dataclass(eq=False)
class Block:
    params: List[Var]
    stmts: List[Stmt]
    result: List[Var]


@dataclass(eq=False)
class Input:
    var: Var
    value: np.ndarray
    role: str                        # x (float, may be differentiated) | w (loss weight) | i | n | p | a


@dataclass(eq=False)
class Program:
    inputs: List[Input]
    body: Block                      # body.result = [loss] + aux outputs
    groups: List[Any]                # the positional parameters: an input index or a pytree of them
    mode: str = "fwd"                # fwd | vg (value_and_grad, has_aux) | g (grad, loss only)
    argnums: Any = 0
    seed: Any = None
    expect: List[str] = field(default_factory=list)    # deliberate errors (empty_reduce, index)

    def copy(self):
        return dataclasses.replace(self)


# ------------------------------------------------------------------------------------------ pytrees
# A tree is ("tuple", [trees]) | ("list", [trees]) | ("dict", [(key, tree)]) | an int (a leaf index).

def tree_leaves(t):
    if isinstance(t, int):
        return [t]
    if t[0] == "dict":
        return [i for _, c in t[1] for i in tree_leaves(c)]
    return [i for c in t[1] for i in tree_leaves(c)]


def render_tree(t, names):
    if isinstance(t, int):
        return names[t]
    if t[0] == "dict":
        return "{" + ", ".join(f"{k!r}: {render_tree(c, names)}" for k, c in t[1]) + "}"
    inner = ", ".join(render_tree(c, names) for c in t[1])
    if t[0] == "list":
        return f"[{inner}]"
    return f"({inner},)" if len(t[1]) == 1 else f"({inner})"


def unpack_lines(t, src, names, indent):
    """Lines binding the leaves of tree `t` (held in expression `src`) to `names`."""
    if isinstance(t, int):
        return [f"{indent}{names[t]} = {src}"]
    lines = []
    items = t[1] if t[0] == "dict" else list(enumerate(t[1]))
    for k, c in items:
        lines += unpack_lines(c, f"{src}[{k!r}]", names, indent)
    return lines


# ------------------------------------------------------------------------------------------ rendering

def _key_src(key, names, target):
    parts = []
    for k in key:
        if isinstance(k, slice):
            if target == "st":
                parts.append(":".join("" if v is None else str(v) for v in (k.start, k.stop, k.step)))
            else:
                parts.append(f"slice({k.start}, {k.stop}, {k.step})")
        elif k is Ellipsis:
            parts.append("..." if target == "st" else "Ellipsis")
        elif isinstance(k, Dyn):
            parts.append(names[k.j])
        else:
            parts.append(repr(k))
    if target == "st":
        return ", ".join(parts) if len(parts) != 1 else parts[0]
    return "(" + ", ".join(parts) + ",)"


def literal(v):
    if isinstance(v, Var):
        return v.name
    if isinstance(v, float):
        return repr(v)
    return repr(v)


def render_op(s: Stmt, target: str) -> str:
    from .catalog import TEMPLATES
    names = [literal(a) for a in s.args]
    if s.op == "getitem":
        key = _key_src(s.kw["key"], names[1:], target)
        return f"{names[0]}[{key}]" if target == "st" else f"st.getitem({names[0]}, {key})"
    tpl = TEMPLATES[s.op]
    if isinstance(tpl, tuple):
        tpl = tpl[0] if target == "st" else tpl[1]
    return tpl.format(*names, all=", ".join(names), **{k: literal(v) for k, v in s.kw.items()})


class Renderer:
    def __init__(self, target: str):
        self.target = target
        self.lines: List[str] = []
        self.counter = 0

    def fresh(self, base):
        self.counter += 1
        return f"{base}{self.counter}"

    def block(self, b: Block, indent: str):
        for s in b.stmts:
            self.stmt(s, indent)

    def stmt(self, s: Stmt, ind: str):
        out = [v.name for v in s.outs]
        if s.kind == "op":
            self.lines.append(f"{ind}{out[0]} = {render_op(s, self.target)}")
            return
        if s.kind == "cond":
            (pred, *operands) = s.args
            fns = []
            for blk, tag in zip(s.blocks, ("t", "f")):
                name = self.fresh(f"{tag}_")
                fns.append(name)
                self.lines.append(f"{ind}def {name}({', '.join(v.name for v in blk.params)}):")
                self.block(blk, ind + "    ")
                self.lines.append(f"{ind}    return {render_tree(s.tree, [v.name for v in blk.result])}")
            ops = "".join(f", {literal(a)}" for a in operands)
            r = self.fresh("r")
            self.lines.append(f"{ind}{r} = st.cond({literal(pred)}, {fns[0]}, {fns[1]}{ops})")
            self.lines += unpack_lines(s.tree, r, out, ind)
            return
        if s.kind in ("fori", "while"):
            init = render_tree(s.tree, [literal(a) for a in s.args[-len(s.outs):]])
            body = s.blocks[-1]
            c = self.fresh("c")
            if s.kind == "while":
                cname = self.fresh("cond_")
                cblk = s.blocks[0]
                self.lines.append(f"{ind}def {cname}({c}):")
                self.lines += unpack_lines(s.tree, c, [v.name for v in cblk.params], ind + "    ")
                self.block(cblk, ind + "    ")
                self.lines.append(f"{ind}    return {cblk.result[0].name}")
                c = self.fresh("c")
            bname = self.fresh("body_")
            carry_params = body.params[1:] if s.kind == "fori" else body.params
            head = f"{body.params[0].name}, {c}" if s.kind == "fori" else c
            self.lines.append(f"{ind}def {bname}({head}):")
            self.lines += unpack_lines(s.tree, c, [v.name for v in carry_params], ind + "    ")
            self.block(body, ind + "    ")
            self.lines.append(f"{ind}    return {render_tree(s.tree, [v.name for v in body.result])}")
            r = self.fresh("r")
            if s.kind == "fori":
                lo, hi = (literal(a) for a in s.args[:2])
                self.lines.append(f"{ind}{r} = st.fori_loop({lo}, {hi}, {bname}, {init})")
            else:
                self.lines.append(f"{ind}{r} = st.while_loop({cname}, {bname}, {init})")
            self.lines += unpack_lines(s.tree, r, out, ind)
            return
        raise ValueError(s.kind)


def param_src(p: Program):
    """The positional parameters of the program's function: names, or pytrees of names."""
    names = [i.var.name for i in p.inputs]
    srcs = []
    for k, g in enumerate(p.groups):
        srcs.append(names[g] if isinstance(g, int) else f"a{k}")
    return srcs


def render_function(p: Program, target: str = "st", name: str = "f") -> str:
    """`def f(...)` computing the program's (loss, aux) -- or the loss alone in mode `g`; target
    "st" (stage), "torch" (the PyTorch shim) or "python" (stage with plain Python control flow)."""
    r = PythonRenderer() if target == "python" else Renderer(target)
    params = param_src(p)
    r.lines.append(f"def {name}({', '.join(params)}):")
    names = [i.var.name for i in p.inputs]
    for k, g in enumerate(p.groups):
        if not isinstance(g, int):
            r.lines += unpack_lines(g, params[k], names, "    ")
    r.block(p.body, "    ")
    loss, *aux = [v.name for v in p.body.result]
    if p.mode == "g":
        r.lines.append(f"    return {loss}")
    else:
        r.lines.append(f"    return {loss}, ({', '.join(aux)}{',' if len(aux) == 1 else ''})")
    return "\n".join(r.lines) + "\n"


def arg_values(p: Program):
    """The positional arguments (NumPy values) matching `param_src`."""
    vals = [i.value for i in p.inputs]

    def build(t):
        if isinstance(t, int):
            return vals[t]
        if t[0] == "dict":
            return {k: build(c) for k, c in t[1]}
        seq = [build(c) for c in t[1]]
        return seq if t[0] == "list" else tuple(seq)
    return tuple(build(g) for g in p.groups)


def wrapper_src(p: Program, fname: str = "f") -> str:
    if p.mode == "fwd":
        return fname
    how = "value_and_grad" if p.mode == "vg" else "grad"
    aux = ", has_aux=True" if p.mode == "vg" else ""
    return f"st.{how}({fname}, argnums={p.argnums!r}{aux})"


def array_src(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return f"np.{a.dtype.name}({a.item()!r})" if a.dtype != bool else f"np.array({a.item()!r})"
    return f"np.array({a.tolist()!r}, dtype=np.{a.dtype.name}).reshape({a.shape})"


def reproducer(p: Program, note: str = "") -> str:
    """A standalone script: the program, its arguments, native vs interpreter."""
    args = arg_values(p)
    names = param_src(p)

    def src(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {src(x)}" for k, x in v.items()) + "}"
        if isinstance(v, (tuple, list)):
            inner = ", ".join(src(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
        return array_src(v)
    lines = ["import numpy as np", "import stage as st", "", render_function(p)]
    lines.append(f"args = ({', '.join(src(a) for a in args)}{',' if len(args) == 1 else ''})"
                 f"   # {', '.join(names)}")
    lines.append(f"g = {wrapper_src(p)}")
    lines.append("print(st.compile(g, backend='interp')(*args))")
    lines.append("print(st.compile(g)(*args))" + (f"   # {note}" if note else ""))
    return "\n".join(lines) + "\n"


class PythonRenderer(Renderer):
    """The control forms as plain Python `if`/`for`/`while` over staged values (the front end,
    stage/frontend, turns them back into st.cond / st.fori_loop / st.while_loop): the same program,
    so its results must be the same as the st-form's."""

    def __init__(self):
        super().__init__("st")

    def stmt(self, s: Stmt, ind: str):
        out = [v.name for v in s.outs]
        if s.kind == "op":
            return super().stmt(s, ind)
        r = self.fresh("r")
        if s.kind == "cond":
            (pred, *operands) = s.args
            for k, blk in enumerate(s.blocks):
                self.lines.append(f"{ind}if {literal(pred)}:" if k == 0 else f"{ind}else:")
                for prm, a in zip(blk.params, operands):
                    self.lines.append(f"{ind}    {prm.name} = {literal(a)}")
                self.block(blk, ind + "    ")
                self.lines.append(f"{ind}    {r} = {render_tree(s.tree, [v.name for v in blk.result])}")
            self.lines += unpack_lines(s.tree, r, out, ind)
            return
        init = render_tree(s.tree, [literal(a) for a in s.args[-len(s.outs):]])
        body = s.blocks[-1]
        self.lines.append(f"{ind}{r} = {init}")
        if s.kind == "fori":
            lo, hi = (literal(a) for a in s.args[:2])
            self.lines.append(f"{ind}for {body.params[0].name} in range({lo}, {hi}):")
            carry = body.params[1:]
        else:
            cblk, cname = s.blocks[0], self.fresh("cond_")
            c = self.fresh("c")
            lines, self.lines = self.lines, []
            self.lines += unpack_lines(s.tree, c, [v.name for v in cblk.params], ind + "    ")
            self.block(cblk, ind + "    ")      # straight-line: a helper, called by the test
            inner, self.lines = self.lines, lines
            self.lines.append(f"{ind}def {cname}({c}):")
            self.lines += inner
            self.lines.append(f"{ind}    return {cblk.result[0].name}")
            self.lines.append(f"{ind}while {cname}({r}):")
            carry = body.params
        self.lines += unpack_lines(s.tree, r, [v.name for v in carry], ind + "    ")
        self.block(body, ind + "    ")
        self.lines.append(f"{ind}    {r} = {render_tree(s.tree, [v.name for v in body.result])}")
        self.lines += unpack_lines(s.tree, r, out, ind)


def render_python(p: Program, name: str = "f") -> str:
    """The program with plain Python control flow (PythonRenderer)."""
    return render_function(p, "python", name)
