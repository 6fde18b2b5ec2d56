"""The graph IR: expressions (`Sym`, `Const`), `Node`s, `Block`s, and the two builders `reflect`/`reify`.

A `Node(syms, op, args, params, blocks)` binds the outputs `syms` to `op` applied to `args`; `op` is a
string looked up in the op table (or one of the control-flow special forms, whose sub-programs sit in
`blocks`). A `Block(inputs, nodes, result)` is a nested scope: a branch, a loop body, a function or a
continuation. Blocks may refer to symbols of enclosing scopes (lexical scoping).

While a program is being staged there is a current `Scope`: `reflect` appends a node to it (after
constant folding and CSE by hash-consing pure nodes along the scope chain) and `reify` runs a Python
function in a fresh scope and returns the `Block` it built.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .locations import (at_location, current_origin, location, origin,  # noqa: F401 (re-exported)
                        user_location)
from .types import TensorType, Type, canonical_dtype


class StageError(Exception):
    """Base class of errors raised while staging."""


class StageTypeError(StageError, TypeError):
    """A shape or dtype mismatch found while staging (names the op, the shapes and the user's line)."""


class StageValueError(StageError, ValueError):
    """A value no program may compute, found while staging (the maximum of an empty array)."""


# ----------------------------------------------------------------------------------------- expressions

class Exp:
    __slots__ = ()


class Sym(Exp):
    __slots__ = ("id", "type", "trace")

    def __init__(self, id: int, type: Type, trace: Optional["Trace"] = None):
        self.id = id
        self.type = type
        self.trace = trace            # the staging session that made it (ids are per session)

    @property
    def name(self) -> str:
        return f"x{self.id}"

    def __repr__(self):
        return self.name


class Const(Exp):
    """A value known at staging time (a NumPy scalar or array of a supported dtype)."""
    __slots__ = ("value", "type", "_key")

    def __init__(self, value, dtype=None):
        arr = np.asarray(value, dtype=dtype)
        dt = canonical_dtype(arr.dtype)
        arr = np.array(arr, order="C", copy=True)
        arr.setflags(write=False)
        self.value = arr
        self.type = TensorType(dt, tuple(int(d) for d in arr.shape))
        self._key = ("const", dt, arr.shape, arr.tobytes())

    def key(self):
        return self._key

    @property
    def name(self) -> str:
        if self.type.shape == ():
            return repr(self.value.item())
        return f"const{list(self.type.shape)}"

    def __repr__(self):
        return self.name


def defining_node(e: Exp) -> Optional["Node"]:
    """The node that bound `e` in the current staging session (None for constants and inputs)."""
    sc = current_scope()
    return sc.trace.defs.get(e.id) if isinstance(e, Sym) and sc is not None else None


def is_zeros(e: Exp) -> bool:
    """Whether `e` is known to be all zeros (a zero constant, or a view of zeros: broadcast,
    reshaped, transposed, indexed)."""
    if isinstance(e, Const):
        return not e.value.any()
    n = defining_node(e)
    return n is not None and bool(n.args) and _op_table()[n.op].kind == "view" and is_zeros(n.args[0])


def exp_key(e: Exp):
    return e.key() if isinstance(e, Const) else e.id


def freeze(v):
    """A hashable form of a static parameter value."""
    if isinstance(v, (list, tuple)):
        return tuple(freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, freeze(x)) for k, x in v.items()))
    if isinstance(v, np.ndarray):
        return ("nd", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, np.generic):
        return v.item()
    return v


# ----------------------------------------------------------------------------------------- nodes, blocks

class Node:
    __slots__ = ("syms", "op", "args", "params", "blocks", "loc", "origin")

    def __init__(self, syms, op, args, params, blocks=(), loc=None, origin=None):
        self.syms: Tuple[Sym, ...] = tuple(syms)
        self.op: str = op
        self.args: Tuple[Exp, ...] = tuple(args)
        self.params: Dict[str, Any] = params
        self.blocks: Tuple[Block, ...] = tuple(blocks)
        self.loc: Optional[str] = loc          # the user's file:line that staged it
        self.origin: Optional[str] = origin    # e.g. "backward of x7 = mul(x3, x5)"

    @property
    def sym(self) -> Sym:
        assert len(self.syms) == 1, self
        return self.syms[0]

    def __repr__(self):
        return f"{', '.join(map(repr, self.syms)) or '()'} = {self.op}({', '.join(map(repr, self.args))})"


class Block:
    __slots__ = ("inputs", "nodes", "result")

    def __init__(self, inputs, nodes, result):
        self.inputs: Tuple[Sym, ...] = tuple(inputs)
        self.nodes: List[Node] = list(nodes)
        self.result: Tuple[Exp, ...] = tuple(result)

    @property
    def result_types(self):
        return tuple(e.type for e in self.result)

    def walk(self):
        """Every node of this block and of the blocks nested in it, outer first (iterative)."""
        stack = [iter(self.nodes)]
        while stack:
            for n in stack[-1]:
                yield n
                if n.blocks:
                    stack.append(iter([m for b in n.blocks for m in b.nodes]))
                    break
            else:
                stack.pop()


def free_syms(block: Block) -> List[Sym]:
    """Symbols used in `block` (at any depth) but defined outside it, in order of first use."""
    defined = set(s.id for s in block.inputs)
    for n in block.walk():
        defined.update(s.id for s in n.syms)
        for b in n.blocks:
            defined.update(s.id for s in b.inputs)
    seen, out = set(), []

    def use(e):
        if isinstance(e, Sym) and e.id not in defined and e.id not in seen:
            seen.add(e.id)
            out.append(e)
    for n in block.walk():
        for a in n.args:
            use(a)
        for b in n.blocks:
            for r in b.result:
                use(r)
    for r in block.result:
        use(r)
    return out


# ----------------------------------------------------------------------------------------- scopes

class Trace:
    """One staging session: the symbol counter and the root scope."""

    def __init__(self):
        self.counter = itertools.count()
        self.root: Optional[Scope] = None
        self.defs: Dict[int, Node] = {}   # symbol id -> the node that binds it
        self.probing = 0          # > 0 while inferring a recursive function's result type
        # the float dtype a Python float returned by the base case of each function being probed
        # takes (the widest float among that function's arguments)
        self.probe_floats: List[str] = []

    def fresh(self, type: Type) -> Sym:
        return Sym(next(self.counter), type, self)


class Scope:
    """A block under construction."""

    def __init__(self, trace: Trace, parent: Optional["Scope"], is_function: bool):
        self.trace = trace
        self.parent = parent
        self.is_function = is_function
        self.nodes: List[Node] = []
        self.cse: Dict[Any, Tuple[Sym, ...]] = {}
        self.defined: set = set()          # ids of the symbols bound in this scope
        self.depth = 0 if parent is None else parent.depth + 1
        self.is_root = parent is None     # a staging root: compile's and grad's traces
        self.functions: Dict[Any, Any] = {}   # @st.function specialisations placed here
        self.cse_barrier = False          # pure nodes here are not shared with enclosing scopes

    def staging_root(self) -> "Scope":
        s = self
        while not s.is_root:
            s = s.parent
        return s

    def lookup(self, key):
        s = self
        while s is not None:
            hit = s.cse.get(key)
            if hit is not None or s.cse_barrier:
                return hit
            s = s.parent
        return None


_state = threading.local()


def current_scope() -> Optional[Scope]:
    return getattr(_state, "scope", None)


def current_trace() -> Trace:
    sc = current_scope()
    if sc is None:
        raise StageError("no staging in progress (this needs to run inside a staged function)")
    return sc.trace


class _enter:
    def __init__(self, scope):
        self.scope = scope

    def __enter__(self):
        self.prev = current_scope()
        _state.scope = self.scope
        return self.scope

    def __exit__(self, *exc):
        _state.scope = self.prev


def in_scope(scope: Scope):
    """Context manager making `scope` current (used to emit into an enclosing scope)."""
    return _enter(scope)


# ----------------------------------------------------------------------------------------- builders

_OPS = None


def _op_table():
    global _OPS
    if _OPS is None:
        from .ops import OPS
        _OPS = OPS
    return _OPS


def reflect(op: str, *args: Exp, blocks=(), out_types=None, scope: Optional[Scope] = None,
            syms: Optional[Tuple[Sym, ...]] = None, **params) -> Tuple[Exp, ...]:
    """Append `op(args)` to the current scope (or `scope`) and return its output expressions.

    Pure table ops are constant-folded (small results), simplified by their op's rule and CSE'd.
    Control forms pass their `blocks`, which their type rule reads (and `out_types` and `syms` when
    the output symbol must exist before the node, as for a recursive closure).
    """
    sc = scope or current_scope()
    if sc is None:
        raise StageError(f"{op}: no staging in progress")
    for a in args:
        assert isinstance(a, Exp), (op, a)
        if isinstance(a, Sym) and a.trace is not sc.trace:
            loc = location()
            raise StageError(f"{op}: {a} is a staged value of a staging that has ended (a Rep kept "
                             f"from an earlier trace, e.g. in a global or a closure); compute it "
                             f"inside the function being staged, or pass it as an argument"
                             + (f" (at {loc})" if loc else ""))
    opdef = _op_table()[op]
    if out_types is None:
        try:
            types = [a.type for a in args]
            out_types = opdef.infer(types, blocks=blocks, **params) if opdef.blocks else \
                opdef.infer(types, **params)
        except StageError as e:
            loc = location()
            raise type(e)(f"{e} (at {loc})" if loc else str(e)) from None
        if not isinstance(out_types, tuple):
            out_types = (out_types,)
    pure = opdef.pure
    if pure:
        if opdef.simplify is not None:
            s = opdef.simplify(args, params, out_types)
            if s is not None:
                return (s,)
        if args and all(isinstance(a, Const) for a in args) and opdef.ref is not None and \
                all(t.shape == () for t in out_types):
            val = opdef.ref(*[a.value for a in args], **params)
            return (Const(np.asarray(val, dtype=out_types[0].dtype)),)
        key = (op, tuple(exp_key(a) for a in args), freeze(params))
        hit = sc.lookup(key)
        if hit is not None:
            return hit
    if syms is None:
        syms = tuple(sc.trace.fresh(t) for t in out_types)
    node = Node(syms, op, args, params, blocks, location(), current_origin())
    sc.nodes.append(node)
    for s in syms:
        sc.trace.defs[s.id] = node
    sc.defined.update(s.id for s in syms)
    if pure:
        sc.cse[key] = syms
    return syms


def reify(fn: Callable[..., Sequence[Exp]], input_types: Sequence[Type], *,
          is_function: bool = False, parent: Optional[Scope] = None,
          trace: Optional[Trace] = None, root: bool = False, cse_barrier: bool = False) -> Block:
    """Run `fn(*input_syms)` in a fresh scope and return the `Block` it built.

    `fn` returns the sequence of `Exp` that becomes the block's result. `parent` is the scope whose
    symbols the block may see (default: the current one); `is_function` marks blocks that become
    separate native functions (closures), as opposed to branches and loop bodies; `root` marks a new
    staging root (a traced program: `st.compile`'s function, or the function `st.grad` differentiates).
    With `cse_barrier`, nodes of the block are not shared with identical ones of enclosing scopes (a
    loop body that updates an input in place must re-read it in every iteration).
    """
    outer = current_scope()
    if trace is None:
        trace = outer.trace if outer is not None else Trace()
    if parent is None:
        parent = outer
    scope = Scope(trace, parent, is_function or parent is None)
    scope.is_root = scope.is_root or root
    scope.cse_barrier = cse_barrier
    if trace.root is None:
        trace.root = scope
    with in_scope(scope):
        inputs = [trace.fresh(t) for t in input_types]
        scope.defined.update(s.id for s in inputs)
        result = fn(*inputs)
    for e in result:
        assert isinstance(e, Exp), e
    return Block(inputs, scope.nodes, tuple(result))
