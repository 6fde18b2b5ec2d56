"""The op table: every op is declared once, with its type rule, NumPy reference, C++ lowering and
gradient rule (or an explicit non-differentiable mark).

- `infer(arg_types, **params)` returns the output `TensorType` or raises `StageTypeError`.
- `ref(*arrays, **params)` is the NumPy reference, used by the interpreter and for constant folding.
- `kind` tells codegen how to lower it: `elementwise` ops give a scalar C++ expression in `cpp`
  (`{0}`, `{1}` name the arguments, `{T}` the output's C++ type) and are fused into loops;
  `reduce`, `matmul` and `view` ops have dedicated lowerings; `kernel` ops give `cpp` as a function
  `(lowering, node) -> list of C++ statements` calling the runtime headers; `effect` ops touch refs.
- `grad(g, out, *args, **params)` returns one cotangent per argument (a `Rep` or `None`), written with
  staged `Rep` code so gradients are optimised, compiled and differentiable again. `NONDIFF` marks an op
  without a gradient (comparisons, integer ops). The CPS step that calls it lives in `stage.cps`.
- `domain` describes valid inputs for the generated tests (e.g. `positive`).
- `sparse_update` marks ops computing `args[0]` plus an update of a few positions (the gradients of
  indexing and gathers), which gradient accumulation and codegen apply in place.
- `into`/`into_effects`/`deferred`/`fuses` tell codegen how an op's result can be computed straight
  into an accumulation or an in-place update (a gemm with beta = 1, a reduction into the target, a
  deferred rank-1 update), and which argument's producer it can compute in its own loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from ..graph import StageTypeError
from ..types import FLOATS, TensorType, broadcast_shapes, result_dtype

NONDIFF = "nondiff"


@dataclass
class OpDef:
    name: str
    infer: Callable[..., Any]
    ref: Optional[Callable[..., Any]]
    kind: str
    cpp: Any
    grad: Any
    pure: bool = True
    simplify: Optional[Callable[..., Any]] = None
    domain: Dict[str, Any] = field(default_factory=dict)
    nargs: Optional[int] = None        # fixed arity (None: variadic)
    # `out = args[0] + (an update of a few positions)`: a cotangent made of such an op on zeros is
    # accumulated by applying the op to the running sum (or into a ref) instead of adding a mostly-zero
    # array, and codegen updates args[0]'s buffer in place when nothing else needs it.
    sparse_update: bool = False
    # `into(lw, node, target, accumulate)`: lower `target (+)= op(args)` straight into an effect's
    # target instead of a buffer, for the effects named in `into_effects` ("accum", "store");
    # `deferred`: that lowering defers the update (runtime deferred.h) until the target is read
    into: Optional[Callable[..., Any]] = None
    into_effects: Tuple[str, ...] = ()
    deferred: bool = False
    # `fuses(node, sym)`: whether an elementwise producer of sym, one of node's arguments, may be
    # computed inside node's own loop (the value setitem_add adds into a slice)
    fuses: Optional[Callable[..., bool]] = None

    def __post_init__(self):
        OPS[self.name] = self


OPS: Dict[str, OpDef] = {}


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


def defunary(name, ref, cpp, grad, *, float_only=True, domain=None, out_dtype=None):
    return OpDef(name, _ew_infer(name, float_only, out_dtype), ref, "elementwise", cpp, grad,
                 domain=domain or {}, nargs=1)


def defbinary(name, ref, cpp, grad, *, float_only=False, domain=None, out_dtype=None,
              simplify=None):
    return OpDef(name, _ew_infer(name, float_only, out_dtype), ref, "elementwise", cpp, grad,
                 domain=domain or {}, nargs=2, simplify=simplify)


def defcompare(name, ref, cpp):
    return OpDef(name, _ew_infer(name, False, out_dtype="bool"), ref, "elementwise", cpp, NONDIFF,
                 nargs=2)


from . import elementwise, reduce, linalg, shape, nn, effects, conv, random  # noqa: E402,F401  (register ops)
