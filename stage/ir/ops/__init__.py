"""The op table: every op is declared once, with its type rule, NumPy reference, gradient rule (or an
explicit non-differentiable mark) and effects. The table knows no backend: how an op becomes native
code is registered by each backend in a table of its own, as every other interpretation (the
interpreter, CPS, the printer) registers its rules keyed by the op's name.

- `infer(arg_types, **params)` returns the output type(s) or raises `StageTypeError`. Control forms
  also receive their `blocks` (the branches, the loop body, the function body).
- `ref(*arrays, **params)` is the NumPy reference, used by the interpreter and for constant folding.
  Effect forms have references too (`accum` adds into its ref in place); control forms have none:
  their meaning is the interpreter's rule.
- `kind` is what the op is, for every interpretation: `elementwise` (same-shape, per element: fusable),
  `reduce` (along `axis`, with `keepdims`), `view` (the output aliases the input's elements: reshape,
  transpose, broadcast, basic indexing), `general` (any other computation), `control` (runs its
  blocks: `cond`, loops), `closure` (binds a staged function without running it), `call`, `effect`
  (touches mutable memory: refs and in-place updates).
- `grad(g, out, *args, **params)` returns one cotangent per argument (a `Rep` or `None`), written with
  staged `Rep` code so gradients are optimised, compiled and differentiable again. `NONDIFF` marks an
  op without a gradient (comparisons, integer ops); control forms are differentiated by the rules of
  `stage.cps.control`, keyed by this table.
- `effects` says what an op reads and writes besides its arguments' values (see `Effects`); a pure op
  (no effects, no blocks) is CSE'd and may be removed when unused.
- `domain` describes valid inputs for the generated tests (e.g. `positive`).
- `signs` marks an elementwise op whose output is the sum of its arguments times these signs (add
  (1, 1), subtract (1, -1), negative (-1,)), and `product` one whose output is the product of its
  two arguments (multiply): a backend may regroup such sums (add a matrix product that is one term
  of a sum, scaled, straight into the sum's buffer).
- `sparse_update` marks ops computing `args[0]` plus an update of a few positions (the gradients of
  indexing and gathers), which gradient accumulation applies to the running sum instead of adding a
  mostly-zero array.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from ..graph import StageTypeError
from ..types import FLOATS, TensorType, broadcast_shapes, result_dtype

NONDIFF = "nondiff"
KINDS = ("elementwise", "reduce", "view", "general", "control", "closure", "call", "effect")


@dataclass(frozen=True)
class Effects:
    """What an op does to mutable memory.

    `writes`: argument positions updated in place (a ref, or an input array of the program);
    `value`: the argument whose value is written there; `combine`: how it is written, "add" (`d +=
    v`, gradient accumulation) or "replace" (`x[...] = v`, an in-place update of an input);
    `reads`: ref arguments whose current contents are read; `allocates`: creates a mutable buffer;
    `target`: what may be written, "ref" or "input" (an array argument of the compiled program);
    `io`: does input/output (a staged print): kept, in order, and never differentiated;
    `unknown`: may do anything (a call of a staged function).
    """
    writes: Tuple[int, ...] = ()
    value: Optional[int] = None
    combine: Optional[str] = None
    reads: Tuple[int, ...] = ()
    allocates: bool = False
    target: Optional[str] = None
    io: bool = False
    unknown: bool = False

    @property
    def none(self) -> bool:
        return self == PURE


PURE = Effects()


@dataclass
class OpDef:
    name: str
    infer: Callable[..., Any]
    ref: Optional[Callable[..., Any]]
    kind: str
    grad: Any
    effects: Effects = PURE
    blocks: Tuple[str, ...] = ()       # names of the nested blocks (control forms)
    simplify: Optional[Callable[..., Any]] = None
    domain: Dict[str, Any] = field(default_factory=dict)
    nargs: Optional[int] = None        # fixed arity (None: variadic)
    # `out = args[0] + (an update of a few positions)`: a cotangent made of such an op on zeros is
    # accumulated by applying the op to the running sum (or into a ref) instead of adding a mostly-zero
    # array (a backend may update args[0]'s buffer in place when nothing else needs it).
    sparse_update: bool = False
    # A loop: (position of the first carry among the args, of the first carry among each block's
    # inputs); its results are the final carries, its last block the body returning the next ones.
    # Passes read it to drop carries nothing needs (`stage.ir.carries`).
    loop_carries: Optional[Tuple[int, int]] = None
    # out = sum of signs[i] * args[i] (add, subtract, negative); out = args[0] * args[1] (multiply)
    signs: Optional[Tuple[int, ...]] = None
    product: bool = False

    def __post_init__(self):
        assert self.kind in KINDS, (self.name, self.kind)
        assert self.name not in OPS, f"op {self.name} declared twice"
        OPS[self.name] = self

    @property
    def pure(self) -> bool:
        """No effects and no blocks: may be CSE'd, folded and removed when unused."""
        return self.effects.none and not self.blocks and self.kind not in ("closure", "call")

    @property
    def runs_blocks(self) -> bool:
        """Whether evaluating the node runs its blocks (a closure's body runs when it is called)."""
        return self.kind == "control"


OPS: Dict[str, OpDef] = {}


def opdef(node) -> OpDef:
    """The table entry of a node's op."""
    return OPS[node.op]


def shape_error(op, msg, *types):
    return StageTypeError(f"{op}: {msg}" + (f" (got {', '.join(str(t) for t in types)})" if types else ""))


# ------------------------------------------------------------------------------------- helper makers

def _ew_infer(name, float_only, out_dtype=None, same_dtype=True):
    def infer(ts, **params):
        try:
            shape = broadcast_shapes(*[t.shape for t in ts])
        except ValueError:
            raise shape_error(name, "shapes cannot be broadcast together", *ts) from None
        dts = [t.dtype for t in ts]
        if same_dtype and len(set(dts)) > 1:
            raise shape_error(name, "arguments must have the same dtype", *ts)
        if float_only and any(d not in FLOATS for d in dts):
            raise shape_error(name, "needs floating-point arguments", *ts)
        return TensorType(out_dtype or result_dtype(*dts), shape)
    return infer


def defunary(name, ref, grad, *, float_only=True, domain=None, out_dtype=None, **linear):
    return OpDef(name, _ew_infer(name, float_only, out_dtype), ref, "elementwise", grad,
                 domain=domain or {}, nargs=1, **linear)


def defbinary(name, ref, grad, *, float_only=False, domain=None, out_dtype=None, simplify=None,
              **linear):
    return OpDef(name, _ew_infer(name, float_only, out_dtype), ref, "elementwise", grad,
                 domain=domain or {}, nargs=2, simplify=simplify, **linear)


def defcompare(name, ref):
    return OpDef(name, _ew_infer(name, False, out_dtype="bool"), ref, "elementwise", NONDIFF,
                 nargs=2)


from . import (elementwise, reduce, linalg, shape, nn, effects, conv, random,  # noqa: E402,F401
               control, io, checkpoint, collective, parallel,                # (register ops)
               ufuncs, scans, lapack, attention, gelu)
