"""The C++ backend's lowering table: how each op of the IR table becomes code.

Every op of `stage.ir.ops.OPS` has exactly one entry here (a completeness test checks it), of one of
these types:

- `Elementwise(expr, cost)`: a scalar C++ expression over the arguments' values (`{0}`, `{1}`, `{T}`
  the output's C++ type, static parameters by name), or a function `(args, T, **params) -> str`. The
  code generator fuses chains of them into one loop (see `codegen.loops`); `cost` (an add is 1) tells
  how much work an element is, which decides whether a loop is worth several threads.
- `Reduction(init, combine, simd)`: a reduction along axes: the identity (`"zero"` or `"lowest"`),
  the C++ combination of `{acc}` and `{x}`, and the `#pragma omp simd reduction` operator; NaNs are
  propagated for max-like reductions (`nan_propagating`).
- `View(layout)`: `layout(ctx, node)` gives the output as a strided view of the input's memory (a
  `codegen.layout.Layout`), or None when the input must be made contiguous first.
- `Kernel(emit)`: `emit(ctx, node)` returns loop-IR statements (`codegen.loopir`), typically one call
  of a runtime kernel (`ctx.call(...)`).
- `Effect(emit)` and `Control(emit)`: the effect forms (refs, in-place updates) and the control forms
  (branches, loops, closures, calls), lowered by the code generator's own rules with the same
  context.

Any entry may say how its result is computed straight into an accumulation or an in-place update
instead of a buffer: `into(ctx, node, target, accumulate)` for the effects whose `combine` is listed
in `into_combine` ("add": gradient accumulation into a ref, "replace": `st.assign`), `deferred` when
that update is deferred until the target is read (rank-1 products), and `fuses(node, sym)` when an
elementwise producer of an argument may be computed inside this op's own loop. `scaled_into(ctx,
node, target, alpha)` adds alpha times the result to a target already holding the other terms of
the sum the result is one term of (a gemm with beta = 1: `p - lr * (x.T @ d)`, `x + h @ w`; see
`codegen.fusion`).

`ctx` is a `codegen.context.Context`: the small documented interface a rule may use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple


@dataclass
class Rule:
    into: Optional[Callable[..., Any]] = field(default=None, kw_only=True)
    into_combine: Tuple[str, ...] = field(default=(), kw_only=True)
    deferred: bool = field(default=False, kw_only=True)
    fuses: Optional[Callable[..., bool]] = field(default=None, kw_only=True)
    scaled_into: Optional[Callable[..., Any]] = field(default=None, kw_only=True)


@dataclass
class Elementwise(Rule):
    expr: Any
    cost: int = 1               # relative to an add: how much work it is in a loop (codegen.parallel)


@dataclass
class Reduction(Rule):
    init: str                   # "zero", "one" or "lowest"
    combine: str                # C++ over {acc} and {x}
    simd: str                   # the omp reduction operator: "+" or "max"
    nan_propagating: bool = False


@dataclass
class View(Rule):
    layout: Callable[..., Any]


@dataclass
class Kernel(Rule):
    emit: Callable[..., Any]


@dataclass
class Effect(Rule):
    emit: Callable[..., Any]


@dataclass
class Control(Rule):
    emit: Callable[..., Any]


LOWERINGS: Dict[str, Rule] = {}


def register(op: str, rule: Rule) -> Rule:
    assert op not in LOWERINGS, f"{op} lowered twice"
    LOWERINGS[op] = rule
    return rule


def lowering(op: str) -> Rule:
    rule = LOWERINGS.get(op)
    if rule is None:
        raise NotImplementedError(f"the C++ backend has no lowering for op {op!r}")
    return rule


from . import (elementwise, reduce, linalg, shape, nn, conv, random,  # noqa: E402,F401
               effects, control, io, checkpoint, collective, parallel,  # (register lowerings)
               ufuncs, scans, lapack, attention)
