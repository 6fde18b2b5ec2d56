"""The op table's test cases, their inputs, and the batched programs that run them.

Every op of `stage.ir.ops.OPS` has a list of `Case`s: argument specs (shapes with broadcasting and
size-1 dims, dtypes), static params, and per-case notes. `F` stands for the float dtype under test
(each case with a float argument runs in float32 and float64). Inputs follow the op's `domain` hints
(positive, nonzero, away_from kinks, distinct values, log-probabilities), overridable per argument.

To keep compile time low, the cases of one op module are staged as ONE program per (dtype, mode)
returning a tuple (every case's output, or every case's gradient), compiled once (at -O1; cases
marked `o3` go to a batch built with the default flags).

A new op needs cases here (`test_op_is_complete` fails until it has some) and, if PyTorch has it,
an entry in `_torch_table`. A case that hits a known bug gets `xfail={check: reason}` with check one
of infer, interp, native, grad, grad_native, hvp, hvp_native, torch: it then runs alone (outside its
batch) as `xfail(strict=True)`, so the suite stays green and reports when the bug is fixed.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import stage as st
from stage.ir.functions import apply
from stage.ir.ops import OPS

F = "F"                                  # the float dtype under test
FLOATS = ("float32", "float64")
LIGHT_FLAGS = "-O1"
EFFECT_OPS = ("new_var", "accum", "read_var", "store",
              "allreduce_start", "allreduce_wait")   # tested by tests/test_distributed.py

# ------------------------------------------------------------------------------------------ specs

@dataclass(frozen=True)
class Arg:
    shape: Tuple[int, ...]
    dtype: str = F
    kind: str = "real"       # real | ints (uniform in [lo, hi)) | nzints | bool | index (in [-n, n))
    lo: int = 0              # | target (classes in [0, hi), some = lo as ignore_index) | small
    hi: int = 0              # (small integer-valued floats, for ties)
    dom: Optional[Dict[str, Any]] = None     # overrides the op's domain for this argument
    view: Optional[str] = None   # passed as a view of a runtime array: T (reversed axes), step
    value: Any = None            # (x[..., ::2]), rev (x[..., ::-1]), bcast (of a size-1 dim 0);
    #                              kind const: a staged constant `value` (not a runtime input)

    @property
    def source_shape(self):
        if self.view == "T":
            return tuple(reversed(self.shape))
        if self.view == "step":
            return self.shape[:-1] + (2 * self.shape[-1],)
        if self.view == "bcast":
            return (1,) + self.shape[1:]
        return self.shape


def f(*shape, dom=None, view=None):
    return Arg(tuple(shape), F, dom=dom, view=view)


def const(value, dtype=F):
    return Arg((), dtype, "const", value=value)


def apply_view(x, view, shape, staged):
    """The view of a source array (NumPy, or staged with the user-facing functions)."""
    if view is None:
        return x
    if view == "T":
        return st.transpose(x) if staged else np.transpose(x)
    if view == "step":
        return x[..., ::2]
    if view == "rev":
        return x[..., ::-1]
    if view == "bcast":
        return st.broadcast_to(x, shape) if staged else np.broadcast_to(x, shape)
    raise ValueError(view)


def small(*shape):
    return Arg(tuple(shape), F, "small", -2, 3)


def special(*shape):
    """NaN, infinities, signed zeros and a few ordinary values (forward checks only)."""
    return Arg(tuple(shape), F, "special")


def fixed(*values, dtype=F):
    """Given values (a 1-d runtime input)."""
    return Arg((len(values),), dtype, "fixed", value=tuple(values))


def ints(shape, lo=-5, hi=6, dtype="int64", view=None):
    return Arg(tuple(shape), dtype, "ints", lo, hi, view=view)


def nzints(shape, lo=-5, hi=6, dtype="int64"):
    return Arg(tuple(shape), dtype, "nzints", lo, hi)


def bools(*shape):
    return Arg(tuple(shape), "bool", "bool")


def index(n, shape=(), dtype="int64", view=None):
    return Arg(tuple(shape), dtype, "index", -n, n, view=view)


def target(shape, classes, ignore=-100, dtype="int64"):
    return Arg(tuple(shape), dtype, "target", ignore, classes)


@dataclass
class Case:
    op: str
    args: Tuple[Arg, ...]
    params: Dict[str, Any] = field(default_factory=dict)
    xfail: Dict[str, str] = field(default_factory=dict)   # check -> reason (run alone, strict)
    o3: bool = False          # native checks built with the default flags instead of -O1
    grad: bool = True         # gradient checks (for cases with float arguments)
    fd: bool = True           # finite differences apply (not at a kink, no float32 rounding)
    torch: bool = True        # compare with PyTorch when it has the op
    index: int = 0

    @property
    def id(self):
        return f"{self.op}-{self.index}"

    @property
    def has_float(self):
        return any(a.dtype == F for a in self.args) or self.params.get("dtype") == F

    @property
    def dtypes(self):
        return FLOATS if self.has_float else ("float64",)

    @property
    def fd_ok(self):
        return self.fd and not any(a.kind == "small" for a in self.args)   # small: on the kinks

    @property
    def runtime(self):
        """The arguments that are runtime inputs (not constants)."""
        return [a for a in self.args if a.kind != "const"]

    @property
    def grad_args(self):
        """Positions, among the runtime inputs, of the float arguments (differentiated)."""
        return tuple(i for i, a in enumerate(self.runtime) if a.dtype == F)

    def resolved(self, dt):
        """(argument dtypes, params) with F replaced by dt."""
        dts = tuple(dt if a.dtype == F else a.dtype for a in self.args)
        params = {k: (dt if v == F else v) for k, v in self.params.items()}
        return dts, params


def C(op, *args, **kw):
    return Case(op, tuple(args), **kw)


def _cases():
    out: Dict[str, List[Case]] = {}

    def add(*cs):
        for c in cs:
            lst = out.setdefault(c.op, [])
            c.index = len(lst)
            lst.append(c)

    # -- elementwise: arithmetic ----------------------------------------------------------------
    bshapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 3)), ((5,), ()),
               ((1,), (4, 1))]
    for op in ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum"):
        add(*[C(op, f(*a), f(*b)) for a, b in bshapes])
    for op in ("add", "subtract", "multiply", "maximum", "minimum"):
        add(C(op, ints((3, 4)), ints((1, 4))), C(op, ints((2, 3), dtype="int32"), ints((3,), dtype="int32")))
    add(C("multiply", f(3, 4), f(3, 4), o3=True), C("divide", f(2, 3), f(3,), o3=True))
    for op in ("floor_divide", "mod"):
        add(C(op, ints((3, 4), -10, 11), nzints((3, 4))),
            C(op, ints((2, 3), -10, 11, "int32"), nzints((3,), dtype="int32")),
            C(op, ints((5,), -10, 11), nzints(())),
            C(op, f(3, 4, dom={}), f(3, 4)), C(op, f(2, 3, dom={}), f(1, 3)))
    add(C("floor_divide", ints((3, 4), -10, 11), ints((3, 4), -2, 3), torch=False),  # x // 0 == 0
        C("mod", ints((3, 4), -10, 11, "int32"), ints((3, 4), -2, 3, "int32"), torch=False))
    ushapes = [(3, 4), (), (2, 1, 3)]
    for op in ("exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "floor", "square", "negative",
               "relu", "abs", "sign", "log1p", "expm1", "tan"):
        add(*[C(op, f(*s)) for s in ushapes])
    for op in ("square", "negative", "relu", "abs", "sign"):
        add(C(op, ints((5,), -3, 4)), C(op, ints((2, 3), -3, 4, "int32")))
    add(C("sign", small(2, 5)), C("floor", small(2, 5)), C("tanh", f(4, 5), o3=True),
        C("exp", f(7,), o3=True))
    add(C("logical_not", bools(3, 4)), C("logical_not", bools()))
    # -- comparisons and logic ------------------------------------------------------------------
    for op in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"):
        add(C(op, small(3, 4), small(3, 4)), C(op, small(3, 1), small(4,)),
            C(op, ints((2, 3), -2, 3), ints((3,), -2, 3)),
            C(op, ints((4,), -2, 3, "int32"), ints((), -2, 3, "int32")))
    for op in ("logical_and", "logical_or"):
        add(C(op, bools(3, 4), bools(3, 4)), C(op, bools(3, 1), bools(1, 4)), C(op, bools(), bools(2,)))
    # -- where, clip, astype, iota, stop_gradient -----------------------------------------------
    add(C("where", bools(3, 4), f(3, 4), f(3, 4)), C("where", bools(3, 1), f(1, 4), f()),
        C("where", bools(), f(2, 2), f(2, 2)), C("where", bools(4,), ints((4,)), ints((1,))),
        C("where", bools(2, 3), f(2, 3), f(2, 3), o3=True))
    add(C("clip", f(3, 4), params={"lo": -0.5, "hi": 0.5}),
        C("clip", f(2, 5, dom={"away_from": (0.3,)}), params={"lo": None, "hi": 0.3}),
        C("clip", f(6, dom={"away_from": (-0.2,)}), params={"lo": -0.2, "hi": None}),
        C("clip", ints((3, 4)), params={"lo": -1, "hi": 2}),
        C("clip", ints((5,), dtype="int32"), params={"lo": None, "hi": 2}),
        C("clip", ints((5,)), params={"lo": -2, "hi": None}))
    add(C("astype", f(3, 4), params={"dtype": "float64"}),
        C("astype", f(3, 4), params={"dtype": "float32"}, fd=False),
        C("astype", f(2, 3, dom={"scale": 3.0}), params={"dtype": "int32"}),
        C("astype", f(2, 3, dom={"scale": 3.0}), params={"dtype": "int64"}),
        C("astype", small(2, 3), params={"dtype": "bool"}),
        C("astype", ints((4,)), params={"dtype": F}),
        C("astype", bools(2, 2), params={"dtype": F}),
        C("astype", ints((4,)), params={"dtype": "int32"}),
        C("astype", ints((4,), -2, 3, "int32"), params={"dtype": "bool"}))
    add(C("iota", params={"shape": (2, 3), "axis": 0, "dtype": "int64"}),
        C("iota", params={"shape": (2, 3), "axis": 1, "dtype": "int32"}),
        C("iota", params={"shape": (4,), "axis": 0, "dtype": F}),
        C("iota", params={"shape": (2, 3, 4), "axis": 1, "dtype": F}))
    add(C("stop_gradient", f(3, 4)), C("stop_gradient", ints((3,))))

    # -- reductions -----------------------------------------------------------------------------
    for op in ("sum", "max"):
        add(C(op, f(3, 4), params={"axis": (0,), "keepdims": False}),
            C(op, f(3, 4), params={"axis": (1,), "keepdims": True}),
            C(op, f(3, 4), params={"axis": (0, 1), "keepdims": False}),
            C(op, f(2, 3, 4), params={"axis": (0, 2), "keepdims": True}),
            C(op, f(2, 3, 4), params={"axis": (1,), "keepdims": False}),
            C(op, f(2, 1, 3), params={"axis": (1,), "keepdims": False}),
            C(op, f(1, 1), params={"axis": (0, 1), "keepdims": True}),
            C(op, f(5,), params={"axis": (0,), "keepdims": False}),
            C(op, f(3, 4), params={"axis": (), "keepdims": False}, torch=False),   # torch reduces all
            C(op, ints((3, 4)), params={"axis": (1,), "keepdims": False}),
            C(op, ints((3, 4), dtype="int32"), params={"axis": (0, 1), "keepdims": False}),
            C(op, f(16, 33), params={"axis": (1,), "keepdims": False}, o3=True))
    add(C("sum", bools(3, 4), params={"axis": (0,), "keepdims": False}),
        C("sum", f(0, 3), params={"axis": (0,), "keepdims": False}),
        C("sum", f(), params={"axis": (), "keepdims": False}, torch=False))
    add(C("argmax", f(3, 4), params={"axis": 0}), C("argmax", f(3, 4), params={"axis": 1}),
        C("argmax", f(3, 4), params={"axis": None}), C("argmax", ints((2, 3, 4)), params={"axis": 2}),
        C("argmax", f(5,), params={"axis": None}), C("argmax", f(), params={"axis": None}))

    # -- matmul ---------------------------------------------------------------------------------
    for a, b, o3 in [((3, 4), (4, 5), False), ((4,), (4, 5), False), ((3, 4), (4,), False),
                     ((4,), (4,), False), ((2, 3, 4), (4, 5), False), ((2, 3, 4), (2, 4, 5), False),
                     ((2, 1, 3, 4), (3, 4, 5), False), ((3, 4), (2, 4, 5), False),
                     ((3, 1), (1, 4), False), ((1, 4), (4, 1), False), ((2, 3, 4), (4,), False),
                     ((4,), (2, 4, 3), False), ((16, 16), (16, 16), True), ((40, 60), (60,), True),
                     ((60,), (60, 40), True), ((3, 20, 30), (30, 10), True)]:
        add(C("matmul", f(*a), f(*b), o3=o3))

    add(C("outer", f(3), f(4)), C("outer", f(1), f(5)), C("outer", f(4, view="rev"), f(3, view="step")),
        C("outer", f(40), f(50), o3=True))

    # -- shape ops ------------------------------------------------------------------------------
    add(C("reshape", f(3, 4), params={"shape": (12,)}), C("reshape", f(2, 3, 4), params={"shape": (6, 4)}),
        C("reshape", f(12), params={"shape": (3, 1, 4)}), C("reshape", f(), params={"shape": (1, 1)}),
        C("reshape", f(3, 4), params={"shape": (4, 3)}), C("reshape", ints((6,)), params={"shape": (2, 3)}))
    add(C("transpose", f(3, 4), params={"axes": (1, 0)}), C("transpose", f(2, 3, 4), params={"axes": (2, 0, 1)}),
        C("transpose", f(2, 3, 4), params={"axes": (0, 2, 1)}),
        C("transpose", f(2, 1, 3), params={"axes": (1, 2, 0)}),
        C("transpose", ints((2, 3)), params={"axes": (1, 0)}),
        C("transpose", f(5, 6), params={"axes": (1, 0)}, o3=True))
    add(C("broadcast_to", f(3, 1), params={"shape": (2, 3, 4)}), C("broadcast_to", f(), params={"shape": (3,)}),
        C("broadcast_to", f(4), params={"shape": (3, 4)}), C("broadcast_to", f(1, 4), params={"shape": (3, 4)}),
        C("broadcast_to", bools(3), params={"shape": (2, 3)}))
    full5 = ("slice", 0, 5, 1)
    add(C("getitem", f(4, 5), params={"spec": (("int", 1), full5)}),
        C("getitem", f(4, 5), params={"spec": (("slice", 1, 4, 2), ("slice", 4, -1, -1))}, torch=False),
        C("getitem", f(4, 5), params={"spec": (("new",), ("slice", 0, 4, 1), ("new",), ("slice", 0, 5, 2))}),
        C("getitem", f(4, 5), index(4), params={"spec": (("dyn", 0), full5)}),
        C("getitem", f(4, 5), index(5, dtype="int32"), params={"spec": (("slice", 0, 4, 1), ("dyn", 0))}),
        C("getitem", f(3, 4, 5), index(4), params={"spec": (("slice", 0, 3, 1), ("dyn", 0), ("int", 2))}),
        C("getitem", f(3, 4, 5), index(3), index(4),
          params={"spec": (("dyn", 0), ("dyn", 1), ("slice", 1, 5, 3))}),
        C("getitem", f(6), params={"spec": (("slice", 5, -1, -2),)}, torch=False),
        C("getitem", f(6), params={"spec": (("slice", 2, 2, 1),)}),
        C("getitem", f(4, 5), params={"spec": (("int", 3), ("int", 4))}),
        C("getitem", ints((4, 5)), index(4), params={"spec": (("dyn", 0), full5)}),
        C("getitem", f(6, 7), index(6), params={"spec": (("dyn", 0), ("slice", 1, 7, 2))}, o3=True))
    add(C("setitem_add", f(4, 5), f(5), params={"spec": (("int", 1), full5)}),
        C("setitem_add", f(4, 5), f(1), params={"spec": (("slice", 1, 4, 2), full5)}),
        C("setitem_add", f(4, 5), f(2, 5), params={"spec": (("slice", 1, 4, 2), full5)}),
        C("setitem_add", f(3, 4), f(), index(3), params={"spec": (("dyn", 0), ("int", 2))}),
        C("setitem_add", f(6), f(3), params={"spec": (("slice", 5, -1, -2),)}, torch=False),
        C("setitem_add", f(3, 4), f(3, 1, 4), params={"spec": (("slice", 0, 3, 1), ("new",), ("slice", 0, 4, 1))}),
        C("setitem_add", ints((3, 4)), ints((4,)), index(3), params={"spec": (("dyn", 0), ("slice", 0, 4, 1))}))
    add(C("concatenate", f(2, 3), f(4, 3), params={"axis": 0}),
        C("concatenate", f(2, 3), f(2, 1), f(2, 2), params={"axis": 1}),
        C("concatenate", f(2, 3, 1), f(2, 3, 2), params={"axis": 2}),
        C("concatenate", f(3), f(0), params={"axis": 0}),
        C("concatenate", ints((2,)), ints((3,)), params={"axis": 0}),
        C("concatenate", bools(2, 2), bools(2, 1), params={"axis": 1}),
        C("concatenate", f(8, 3), f(8, 5), params={"axis": 1}, o3=True))
    add(C("take", f(5, 3), index(5, (4,)), params={"axis": 0}),
        C("take", f(3, 5), index(5, (2, 2)), params={"axis": 1}),
        C("take", f(5), index(5), params={"axis": 0}),
        C("take", f(2, 5, 3), index(5, (6,), "int32"), params={"axis": 1}),
        C("take", ints((4, 2)), index(4, (3,)), params={"axis": 0}),
        C("take", f(10, 4), index(10, (7,)), params={"axis": 0}, o3=True))
    add(C("scatter_add", f(5, 3), index(5, (6,)), f(6, 3), params={"axis": 0}),
        C("scatter_add", f(3, 5), index(5, (2, 2)), f(3, 2, 2), params={"axis": 1}),
        C("scatter_add", f(5), index(5), f(), params={"axis": 0}),
        C("scatter_add", ints((4, 2)), index(4, (5,), "int32"), ints((5, 2)), params={"axis": 0}),
        C("scatter_add", f(6, 4), index(6, (9,)), f(9, 4), params={"axis": 0}, o3=True))

    # -- nn -------------------------------------------------------------------------------------
    for op in ("softmax", "log_softmax"):
        add(C(op, f(3, 5), params={"axis": 1}), C(op, f(3, 5), params={"axis": 0}),
            C(op, f(2, 3, 4), params={"axis": 1}), C(op, f(5), params={"axis": 0}),
            C(op, f(1, 4), params={"axis": 1}), C(op, f(3, 1), params={"axis": 1}),
            C(op, f(), params={"axis": 0}, torch=False),
            C(op, f(8, 10), params={"axis": 1}, o3=True))
    for red in ("mean", "sum", "none"):
        add(C("nll_loss", f(6, 5), target((6,), 5), params={"reduction": red, "ignore_index": -100}),
            C("nll_loss", f(5), target((), 5, ignore=7), params={"reduction": red, "ignore_index": 7}),
            C("nll_loss", f(6, 4), target((6,), 4, ignore=2, dtype="int32"),
              params={"reduction": red, "ignore_index": 2}))
    for red in ("mean", "sum", "none"):
        add(C("softmax_cross_entropy", f(6, 5), target((6,), 5),
              params={"reduction": red, "ignore_index": -100}),
            C("softmax_cross_entropy", f(5), target((), 5, ignore=7),
              params={"reduction": red, "ignore_index": 7}),
            C("softmax_cross_entropy", f(6, 4), target((6,), 4, ignore=2, dtype="int32"),
              params={"reduction": red, "ignore_index": 2}))
    add(C("softmax_cross_entropy", f(20, 26), target((20,), 26),
          params={"reduction": "sum", "ignore_index": -100}, o3=True),
        C("cross_entropy_grad", f(6, 5), target((6,), 5), f(6), params={"ignore_index": -100},
          torch=False),
        C("cross_entropy_grad", f(4, 3), target((4,), 3, ignore=1), f(4), params={"ignore_index": 1},
          torch=False),
        C("cross_entropy_grad", f(5), target((), 5), f(), params={"ignore_index": -100}, torch=False))
    add(C("nll_loss", f(6, 5), target((6,), 5), params={"reduction": "mean", "ignore_index": -100}, o3=True),
        C("nll_loss", f(3, 4), target((3,), 1, ignore=0),            # every target ignored: 0/0
          params={"reduction": "mean", "ignore_index": 0}, grad=False))

    # -- GELU (one op; its derivative another): both forms, around the kinks of nothing ----------
    for mode in ("none", "tanh"):
        add(C("gelu", f(4, 5, dom={"scale": 3.0}), params={"approximate": mode}),
            C("gelu_grad", f(4, 5, dom={"scale": 3.0}), f(4, 5), params={"approximate": mode},
              torch=False),
            C("gelu", f(3, 4, view="T"), params={"approximate": mode}))

    # -- fused attention: blocks of 64 query rows (130 rows: three blocks, the last partial) ------
    for qs, ks, vs, causal, o3 in [((5, 4), (7, 4), (7, 3), False, False),
                                   ((2, 6, 3), (2, 4, 3), (2, 4, 2), True, False),
                                   ((2, 1, 4, 3), (2, 1, 6, 3), (2, 1, 6, 5), True, False),
                                   ((130, 4), (70, 4), (70, 3), True, True),
                                   ((2, 70, 3), (2, 130, 3), (2, 130, 2), False, True)]:
        prm = {"causal": causal, "scale": 0.6}
        add(C("attention", f(*qs), f(*ks), f(*vs), params=prm, o3=o3),
            C("attention_grad", f(*qs), f(*ks), f(*vs), f(*qs[:-1], vs[-1]), params=prm, o3=o3,
              torch=False))

    # -- convolution and pooling (NCHW) -----------------------------------------------------------
    from stage.ir.ops.conv import out_size

    def cp(stride, padding, **kw):
        return dict(stride=stride, padding=padding, **kw)
    for xs, ws, prm, o3 in [((2, 3, 7, 6), (4, 3, 3, 2), cp((1, 1), (0, 0)), False),
                            ((2, 3, 8, 6), (4, 3, 3, 2), cp((2, 2), (1, 0)), False),
                            ((1, 1, 5, 5), (2, 1, 5, 5), cp((3, 3), (2, 2)), False),
                            ((2, 2, 4, 3), (3, 2, 1, 1), cp((1, 2), (0, 1)), False),
                            ((2, 3, 10, 10), (5, 3, 3, 3), cp((1, 1), (1, 1)), True),
                            ((2, 2, 9, 8), (3, 2, 3, 2), cp((1, 2), (2, 1), dilation=(2, 3)), False),
                            ((1, 3, 11, 10), (4, 3, 3, 3), cp((2, 1), (0, 2), dilation=(3, 2)), True)]:
        ohw = tuple(out_size(xs[2 + d], ws[2 + d], prm["stride"][d], prm["padding"][d],
                             prm.get("dilation", (1, 1))[d]) for d in range(2))
        gs = (xs[0], ws[0]) + ohw
        add(C("conv2d", f(*xs), f(*ws), params=prm, o3=o3),
            C("conv2d_grad_input", f(*gs), f(*ws), params=dict(prm, input_hw=xs[2:]), o3=o3),
            C("conv2d_grad_weight", f(*xs), f(*gs), params=dict(prm, kernel_hw=ws[2:]), o3=o3))
    for xs, k, stride, pad, o3 in [((2, 3, 6, 6), (2, 2), (2, 2), (0, 0), False),
                                   ((1, 2, 5, 7), (3, 3), (2, 2), (1, 1), False),
                                   ((1, 2, 5, 6), (3, 2), (1, 2), (0, 0), False),
                                   ((2, 1, 7, 7), (2, 2), (2, 2), (0, 0), False),
                                   ((2, 4, 12, 12), (2, 2), (2, 2), (0, 0), True),
                                   ((1, 2, 7, 9), (3, 3), (3, 3), (0, 0), False)]:
        prm = dict(kernel_size=k, stride=stride, padding=pad)
        ohw = tuple(out_size(xs[2 + d], k[d], stride[d], pad[d]) for d in range(2))
        add(C("max_pool2d", f(*xs), params=prm, o3=o3),
            C("max_pool2d_indices", f(*xs), params=prm, o3=o3),
            C("max_pool2d_grad", f(*xs), f(*xs[:2], *ohw), params=prm, o3=o3),
            C("avg_pool2d", f(*xs), params=prm, o3=o3),
            C("avg_pool2d_grad", f(*xs[:2], *ohw), params=dict(prm, input_hw=xs[2:]), o3=o3))

    # -- constant operands (staged constants, as Python scalars become) --------------------------
    add(C("maximum", ints((5,)), const(0, "int64")), C("minimum", f(3, 4), const(0.5)),
        C("floor_divide", ints((5,), -9, 10), const(2, "int64")), C("mod", ints((5,), -9, 10), const(3, "int64")),
        C("mod", f(2, 3), const(1.5)), C("power", f(3, 2), const(2.5)), C("add", ints((4,)), const(1, "int64")),
        C("where", bools(3, 4), ints((3, 4)), const(0, "int64")), C("divide", const(1.0), f(2, 3, dom={"nonzero": True})),
        C("clip", f(3, 4, view="T"), params={"lo": -0.5, "hi": 0.5}),
        C("max", ints((3, 4), view="T"), params={"axis": (0,), "keepdims": False}))

    # -- operands that are views (transposed, strided, reversed, broadcast): layouts and copies ----
    add(C("matmul", f(3, 4, view="T"), f(4, 5)), C("matmul", f(3, 4), f(4, 5, view="T")),
        C("matmul", f(3, 4, view="T"), f(4, 5, view="T")), C("matmul", f(3, 4, view="step"), f(4, 2)),
        C("matmul", f(3, 4), f(4, view="rev")), C("matmul", f(2, 3, 4, view="bcast"), f(4, 5)),
        C("matmul", f(2, 3, 4, view="T"), f(2, 4, 5, view="step")),
        C("matmul", f(20, 30, view="T"), f(30, 10), o3=True), C("matmul", f(30, view="step"), f(30, 20, view="T"), o3=True))
    add(C("take", f(5, 3, view="T"), index(5, (4,)), params={"axis": 0}),
        C("take", f(4, 6, view="step"), index(6, (5,)), params={"axis": 1}),
        C("take", f(5, 3), index(5, (2, 3), view="T"), params={"axis": 0}),
        C("scatter_add", f(5, 3, view="T"), index(5, (6,)), f(6, 3, view="T"), params={"axis": 0}))
    add(C("softmax", f(3, 5, view="T"), params={"axis": 1}), C("log_softmax", f(3, 5, view="step"), params={"axis": 0}),
        C("nll_loss", f(6, 5, view="T"), target((6,), 5), params={"reduction": "sum", "ignore_index": -100}),
        C("argmax", f(3, 4, view="T"), params={"axis": 1}),
        C("concatenate", f(2, 3, view="T"), f(4, 3, view="rev"), params={"axis": 0}),
        C("sum", f(3, 4, view="T"), params={"axis": (1,), "keepdims": False}),
        C("max", f(2, 3, 4, view="step"), params={"axis": (2,), "keepdims": True}),
        C("sum", f(3, 4, view="bcast"), params={"axis": (0,), "keepdims": False}),
        C("reshape", f(3, 4, view="T"), params={"shape": (12,)}),
        C("reshape", f(2, 6, view="step"), params={"shape": (3, 4)}),
        C("transpose", f(3, 4, view="step"), params={"axes": (1, 0)}),
        C("broadcast_to", f(1, 4, view="rev"), params={"shape": (3, 4)}),
        C("getitem", f(4, 5, view="T"), index(4), params={"spec": (("dyn", 0), ("slice", 1, 5, 2))}),
        C("setitem_add", f(4, 5, view="T"), f(5, view="rev"), params={"spec": (("int", 1), full5)}),
        C("add", f(3, 4, view="T"), f(3, 4, view="step")), C("exp", f(3, 4, view="rev")),
        C("getitem", f(4, 5, view="bcast"), index(4), params={"spec": (("dyn", 0), ("slice", 0, 5, 2))}),
        C("reshape", f(3, 4, view="bcast"), params={"shape": (12,)}),
        C("concatenate", f(3, 4, view="bcast"), f(2, 4), params={"axis": 0}),
        C("take", f(4, 3, view="bcast"), index(4, (5,)), params={"axis": 0}),
        C("add", f(), f()), C("where", bools(), f(), f()), C("maximum", f(), f(1)),
        C("where", bools(3, 4), f(3, 4, view="T"), f(3, 4, view="bcast")),
        C("conv2d", f(2, 3, 7, 6, view="step"), f(4, 3, 3, 2, view="T"), params=cp((1, 1), (1, 0))),
        C("max_pool2d", f(2, 3, 6, 6, view="T"), params=dict(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))),
        C("avg_pool2d", f(2, 3, 6, 6, view="step"), params=dict(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))))

    # -- special values: NaN propagates as in NumPy, infinities, signed zeros ----------------------
    # (torch=False: here NumPy is the oracle; e.g. torch.sign(nan) is 0)
    for op in ("maximum", "minimum", "add", "multiply", "divide", "less", "equal", "not_equal", "mod"):
        add(C(op, special(4, 6), special(4, 6), grad=False, torch=False))
    for op in ("relu", "sign", "abs", "floor", "exp", "log", "sqrt", "tanh", "sigmoid", "negative",
               "log1p", "expm1", "tan"):
        add(C(op, special(4, 6), grad=False, torch=False))
    add(C("clip", special(4, 6), params={"lo": -1.0, "hi": 1.0}, grad=False, torch=False),
        C("where", bools(4, 6), special(4, 6), special(4, 6), grad=False, torch=False),
        C("softmax", special(4, 6), params={"axis": 1}, grad=False, torch=False),
        C("sum", special(4, 6), params={"axis": (1,), "keepdims": False}, grad=False, torch=False),
        C("max", special(4, 6), params={"axis": (1,), "keepdims": False}, grad=False, torch=False),
        C("max", special(4, 6), params={"axis": (0,), "keepdims": False}, grad=False, torch=False),
        C("max", special(4, 6), params={"axis": (0, 1), "keepdims": False}, grad=False, torch=False),
        C("max", special(4, 40), params={"axis": (1,), "keepdims": False}, grad=False, torch=False, o3=True),
        C("max", special(64), params={"axis": (0,), "keepdims": False}, grad=False, torch=False, o3=True),
        C("argmax", special(4, 6), params={"axis": 1}, grad=False, torch=False),
        C("argmax", special(4, 6), params={"axis": None}, grad=False, torch=False),
        C("floor_divide", special(4, 6), special(4, 6), grad=False, torch=False),
        # ordinary values where floor(a / b) rounds across an integer: NumPy (and Python) give 9.0
        C("floor_divide", fixed(1.0, 3.0, -1.0, 7.0, 2.0, 5.5), fixed(0.1, 0.1, 0.1, 0.7, 0.2, -1.1),
          fd=False),
        C("mod", fixed(1.0, 3.0, -1.0, 7.0, 2.0, 5.5), fixed(0.1, 0.1, 0.1, 0.7, 0.2, -1.1), fd=False))

    # -- ties and kinks: the subgradient conventions, checked against PyTorch's (no FD there) ------
    add(C("max", small(3, 4), params={"axis": (1,), "keepdims": False}),
        C("max", small(2, 3), params={"axis": (0, 1), "keepdims": False}),
        C("maximum", small(3, 4), small(3, 4)), C("minimum", small(3, 4), small(4,)),
        C("relu", small(3, 4)), C("abs", small(3, 4)),
        C("clip", small(3, 4), params={"lo": -1.0, "hi": 1.0}))

    # -- zero-size arrays -------------------------------------------------------------------------
    add(C("add", f(0, 3), f(3)), C("exp", f(0)), C("matmul", f(3, 0), f(0, 4)), C("matmul", f(0, 4), f(4, 5)),
        C("sum", f(3, 0), params={"axis": (1,), "keepdims": False}),
        C("max", f(0, 3), params={"axis": (1,), "keepdims": True}),
        C("take", f(5, 3), index(5, (0,)), params={"axis": 0}), C("softmax", f(0, 5), params={"axis": 1}),
        C("transpose", f(0, 3), params={"axes": (1, 0)}), C("concatenate", f(0, 2), f(0, 3), params={"axis": 1}),
        C("getitem", f(3, 4), params={"spec": (("slice", 3, 3, 1), ("slice", 0, 4, 1))}),
        C("nll_loss", f(0, 4), target((0,), 4), params={"reduction": "sum", "ignore_index": -100}),
        C("where", bools(0, 2), f(0, 2), f(2)))

    # -- random numbers ---------------------------------------------------------------------------
    add(C("random_uniform", ints((), 0, 1000), ints((), 0, 1000), params=dict(shape=(3, 4), dtype=F, stream=0)),
        C("random_uniform", ints((), -5, 5), ints((), 0, 9, "int32"), params=dict(shape=(7,), dtype=F, stream=3)),
        C("random_uniform", ints((), 0, 10), ints((), 0, 10), params=dict(shape=(), dtype=F, stream=1)),
        C("random_uniform", ints((), 0, 10), ints((), 0, 10), params=dict(shape=(2, 0), dtype=F, stream=1)))

    # -- the schedule of checkpointed loops (integers; saturating, total on any input) ---------------
    add(C("checkpoint_split", ints((4, 5), -2, 400), ints((4, 5), -1, 12), torch=False),
        C("checkpoint_split", ints((), 1000, 10**6), ints((), 2, 3000), torch=False),
        C("checkpoint_split", ints((6,), 2, 50), ints((), 1, 3), torch=False),
        C("checkpoint_capacity", ints((4, 5), -1, 40), ints((4, 5), -2, 40), torch=False),
        C("checkpoint_capacity", ints((3,), 50, 200), ints((3,), 50, 200), torch=False))   # saturated

    import optest_numpy                  # NumPy's vocabulary (issue 13): cases of its own module
    add(*optest_numpy.op_cases())
    return out


CASES: Dict[str, List[Case]] = _cases()


def all_cases() -> List[Case]:
    return [c for cs in CASES.values() for c in cs]


GROUPS = {"sum": "reduce", "max": "reduce", "argmax": "reduce", "matmul": "linalg", "outer": "linalg",
          "softmax": "nn", "log_softmax": "nn", "nll_loss": "nn", "softmax_cross_entropy": "nn",
          "cross_entropy_grad": "nn", "random_uniform": "random"}


def group_of(op: str) -> str:
    """The op module that declares op: one batch per module."""
    from optest_numpy import GROUPS as NUMPY_GROUPS
    if op in NUMPY_GROUPS:
        return NUMPY_GROUPS[op]
    if op in GROUPS:
        return GROUPS[op]
    if "conv" in op or "pool" in op:
        return "conv"
    return "elementwise" if OPS[op].kind == "elementwise" or op == "iota" else "shape"


# ------------------------------------------------------------------------------------------ inputs

def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _kinks(dom):
    a = dom.get("away_from")
    if a is None:
        return ()
    return tuple(a) if isinstance(a, (tuple, list)) else (a,)


def _real(rng, shape, dom):
    size = int(np.prod(shape, dtype=np.int64))
    if dom.get("distinct"):
        x = (rng.permutation(size) - size / 2) * 0.25 + rng.uniform(-0.05, 0.05, size)
        return x.reshape(shape)
    if "uniform" in dom:
        return rng.uniform(*dom["uniform"], shape)
    if dom.get("well_conditioned") or dom.get("spd"):         # (..., n, n) matrices
        a = rng.standard_normal(shape)
        eye = np.eye(shape[-1]) * shape[-1]
        return a + eye if dom.get("well_conditioned") else a @ np.swapaxes(a, -1, -2) + eye
    if dom.get("positive"):
        return rng.uniform(0.5, 2.0, shape)
    if dom.get("nonzero"):
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    x = rng.standard_normal(shape) * dom.get("scale", 1.0)
    for k in _kinks(dom):               # keep a margin around kinks (finite differences cross none)
        x = np.where(np.abs(x - k) < 0.1, x + np.where(x >= k, 0.2, -0.2), x)
    if dom.get("log_probs"):
        x = x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
    return x


def arg_value(rng, a: Arg, dt: str, op_dom):
    shape = a.source_shape
    if a.kind == "real":
        return np.asarray(_real(rng, shape, op_dom if a.dom is None else a.dom), dt)
    if a.kind == "fixed":
        return np.array(a.value, dt if a.dtype == F else a.dtype)
    if a.kind == "special":
        return rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 0.5]), shape).astype(dt)
    if a.kind == "small":
        return rng.integers(a.lo, a.hi, shape).astype(dt)
    if a.kind == "bool":
        return rng.random(shape) < 0.5
    if a.kind in ("ints", "index"):
        return np.asarray(rng.integers(a.lo, a.hi, shape), a.dtype)
    if a.kind == "nzints":
        v = rng.integers(a.lo, a.hi - 1, shape)
        return np.asarray(np.where(v >= 0, v + 1, v), a.dtype)
    if a.kind == "target":
        v = rng.integers(0, a.hi, shape)
        if v.size and v.ndim:   # some targets ignored (a 0-d one would make the mean 0/0)
            v = np.where(rng.random(shape) < 0.3, a.lo, v)
            if not np.any(v == a.lo):
                v.flat[0] = a.lo
        return np.asarray(v, a.dtype)
    raise ValueError(a.kind)


@functools.lru_cache(maxsize=None)
def _inputs(case_id: str, dt: str):
    case = case_by_id(case_id)
    rng = _rng(case_id, dt)
    dom = OPS[case.op].domain
    return tuple(arg_value(rng, a, dt, dom) for a in case.runtime)


def inputs(case: Case, dt: str) -> List[np.ndarray]:
    """The runtime inputs (source arrays of views; no constants)."""
    return [np.array(v, copy=True) for v in _inputs(case.id, dt)]


def full_args(case: Case, dt: str, xs, staged):
    """All of the op's arguments: runtime inputs through their views, and constants."""
    out, it = [], iter(xs)
    for a in case.args:
        d = dt if a.dtype == F else a.dtype
        if a.kind == "const":
            v = np.asarray(a.value, d)
            out.append(st.as_rep(v) if staged else v)
        else:
            out.append(apply_view(next(it), a.view, a.shape, staged))
    return out


def case_by_id(case_id: str) -> Case:
    op, k = case_id.rsplit("-", 1)
    return CASES[op][int(k)]


def reference(case: Case, dt: str, args=None):
    _, params = case.resolved(dt)
    args = full_args(case, dt, inputs(case, dt) if args is None else args, False)
    return np.asarray(OPS[case.op].ref(*args, **params))


def out_type(case: Case, dt: str):
    from stage.ir.types import TensorType
    dts, params = case.resolved(dt)
    return OPS[case.op].infer([TensorType(d, a.shape) for d, a in zip(dts, case.args)], **params)


def cotangent(case: Case):
    t = out_type(case, "float64")
    return _rng(case.id, "cotangent").standard_normal(t.shape)


def direction(case: Case):
    rng = _rng(case.id, "direction")
    return [rng.standard_normal(a.source_shape) for a in case.runtime if a.dtype == F]


# ------------------------------------------------------------------------------------------ programs

def stage_op(case: Case, dt: str, reps):
    _, params = case.resolved(dt)
    return apply(case.op, *full_args(case, dt, reps, True), **params)


def forward_fn(cases: List[Case], dt: str):
    """A staged function computing every case's output (arguments: all cases' inputs, flattened)."""
    def fn(*flat):
        outs, k = [], 0
        for c in cases:
            n = len(c.runtime)
            outs.append(stage_op(c, dt, flat[k:k + n]))
            k += n
        return tuple(outs)
    fn.__name__ = "fwd"
    return fn


def forward_inputs(cases: List[Case], dt: str):
    return [x for c in cases for x in inputs(c, dt)]


def loss_fn(case: Case, dt: str, c):
    """x -> sum(op(x) * c): its gradient is the vjp of the op with cotangent c."""
    def loss(*args):
        out = stage_op(case, dt, args)
        if out.dtype != dt:
            out = out.astype(dt)
        return st.sum(out * c)
    return loss


def grad_fn(cases: List[Case]):
    """A staged function returning every case's vjp (float64; arguments: inputs then cotangent)."""
    def fn(*flat):
        res, k = [], 0
        for c in cases:
            n = len(c.runtime)
            args, cot = flat[k:k + n], flat[k + n]
            g = st.grad(loss_fn(c, "float64", cot), argnums=c.grad_args)(*args)
            res.append(tuple(g))
            k += n + 1
        return tuple(res)
    fn.__name__ = "vjp"
    return fn


def grad_inputs(cases: List[Case]):
    return [x for c in cases for x in inputs(c, "float64") + [cotangent(c)]]


def fd_check(case: Case, grads, eps=1e-6):
    """<t, vjp(c)> vs <jvp_fd(t), c> (central differences of the NumPy reference in float64)."""
    xs = inputs(case, "float64")
    c = cotangent(case)
    ts = direction(case)
    lhs = float(sum(np.sum(t * g) for t, g in zip(ts, grads)))

    def at(s):
        a = list(xs)
        for i, t in zip(case.grad_args, ts):
            a[i] = xs[i] + s * t
        return np.asarray(reference(case, "float64", a), np.float64)
    jvp = (at(eps) - at(-eps)) / (2 * eps)
    rhs = float(np.sum(jvp * c))
    scale = max(1.0, abs(lhs), abs(rhs), float(np.sum(np.abs(jvp * c))))
    assert abs(lhs - rhs) <= 1e-6 * scale, \
        f"{case.id}: <t, vjp(c)> = {lhs!r} but <jvp_fd(t), c> = {rhs!r}"


# ------------------------------------------------------------------------------------------ torch

def _tkey(case, xs, spec):
    from stage.ir.ops.shape import numpy_key
    return numpy_key(tuple(xs[0].shape), spec, [int(v) for v in xs[1:]])


def _torch_table():
    import torch
    TF = torch.nn.functional
    tdt = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32,
           "int64": torch.int64, "bool": torch.bool}

    def setitem_add(x, v, *dyn, spec):
        key = _tkey(None, [x] + list(dyn), spec)
        out = x.clone()
        out[key] += v
        return out

    def getitem(x, *dyn, spec):
        return x[_tkey(None, [x] + list(dyn), spec)]

    def take(a, idx, axis):
        return a[(slice(None),) * axis + (idx,)]

    def scatter_add(x, idx, v, axis):
        n = x.shape[axis]
        flat = (idx.reshape(-1) % n).long()
        vv = v.reshape(x.shape[:axis] + (flat.numel(),) + x.shape[axis + 1:])
        return x.index_add(axis, flat, vv)

    def max_pool_indices(x, kernel_size, stride, padding):
        idx = TF.max_pool2d(x, kernel_size, stride, padding, return_indices=True)[1]
        n, c, h, w = x.shape
        return idx + (torch.arange(n * c).reshape(n, c, 1, 1) * (h * w))

    def clip(x, lo, hi):
        return torch.clamp(x, min=lo, max=hi)

    def gelu(x, approximate):
        return TF.gelu(x, approximate=approximate)

    def attention(q, k, v, causal, scale):
        return TF.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)

    def red(fn):
        def r(x, axis, keepdims):
            return fn(x, dim=axis, keepdim=keepdims) if axis else None
        return r

    import optest_numpy
    return {**optest_numpy.torch_table(torch),
        "add": torch.add, "subtract": torch.sub, "multiply": torch.mul, "divide": torch.div,
        "power": torch.pow, "maximum": torch.maximum, "minimum": torch.minimum,
        "floor_divide": lambda a, b: torch.floor_divide(a.detach(), b.detach()),   # no derivative
        "mod": torch.remainder, "negative": torch.neg,
        "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "square": torch.square,
        "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "abs": torch.abs,
        "sign": torch.sign, "sin": torch.sin, "cos": torch.cos, "floor": torch.floor,
        "log1p": torch.log1p, "expm1": torch.expm1, "tan": torch.tan,
        "logical_not": torch.logical_not, "less": torch.lt, "less_equal": torch.le,
        "greater": torch.gt, "greater_equal": torch.ge, "equal": torch.eq, "not_equal": torch.ne,
        "logical_and": torch.logical_and, "logical_or": torch.logical_or, "where": torch.where,
        "clip": clip, "attention": attention, "gelu": gelu, "astype": lambda x, dtype: x.to(tdt[dtype]),
        "stop_gradient": lambda x: x.detach(),
        "sum": red(torch.sum), "max": red(torch.amax),
        "argmax": lambda x, axis: torch.argmax(x, dim=axis),
        "matmul": torch.matmul, "outer": torch.outer, "reshape": lambda x, shape: x.reshape(shape),
        "transpose": lambda x, axes: x.permute(axes),
        "broadcast_to": lambda x, shape: torch.broadcast_to(x, shape),
        "getitem": getitem, "setitem_add": setitem_add,
        "concatenate": lambda *xs, axis: torch.cat(xs, dim=axis), "take": take,
        "scatter_add": scatter_add,
        "softmax": lambda x, axis: torch.softmax(x, dim=axis),
        "log_softmax": lambda x, axis: torch.log_softmax(x, dim=axis),
        "conv2d": lambda x, w, stride, padding, dilation=1: TF.conv2d(
            x, w, stride=stride, padding=padding, dilation=dilation),
        "conv2d_grad_input": lambda g, w, stride, padding, input_hw, dilation=1:
            torch.nn.grad.conv2d_input((g.shape[0], w.shape[1]) + tuple(input_hw), w, g,
                                       stride=stride, padding=padding, dilation=dilation),
        "conv2d_grad_weight": lambda x, g, stride, padding, kernel_hw, dilation=1:
            torch.nn.grad.conv2d_weight(x, (g.shape[1], x.shape[1]) + tuple(kernel_hw), g,
                                        stride=stride, padding=padding, dilation=dilation),
        "max_pool2d": lambda x, kernel_size, stride, padding: TF.max_pool2d(
            x, kernel_size, stride, padding),
        "max_pool2d_indices": max_pool_indices,
        "avg_pool2d": lambda x, kernel_size, stride, padding: TF.avg_pool2d(
            x, kernel_size, stride, padding, count_include_pad=True),
        "nll_loss": lambda lp, t, reduction, ignore_index: TF.nll_loss(
            lp, t.long(), reduction=reduction, ignore_index=ignore_index),
        "softmax_cross_entropy": lambda x, t, reduction, ignore_index: TF.cross_entropy(
            x, t.long(), reduction=reduction, ignore_index=ignore_index),
    }


@functools.lru_cache(maxsize=None)
def torch_table():
    return _torch_table()


def _torch_view(x, a: Arg):
    if a.view == "T":
        return x.permute(*reversed(range(x.ndim)))
    if a.view == "rev":
        return x.flip(-1)
    if a.view == "step":
        return x[..., ::2]
    if a.view == "bcast":
        return x.expand(*a.shape)
    return x


def torch_run(case: Case):
    """(output, gradients of sum(out * c) w.r.t. the float arguments or None) with PyTorch."""
    import torch
    fn = torch_table().get(case.op)
    if fn is None:
        return None
    _, params = case.resolved("float64")
    xs = [torch.tensor(x, requires_grad=(a.dtype == F)) for x, a in zip(inputs(case, "float64"),
                                                                           case.runtime)]
    args, it = [], iter(xs)
    for a in case.args:
        if a.kind == "const":
            args.append(torch.tensor(np.asarray(a.value, "float64" if a.dtype == F else a.dtype)))
            continue
        args.append(_torch_view(next(it), a))
    out = fn(*args, **params)
    if out is None:
        return None
    grads = None
    if out.requires_grad:
        c = torch.tensor(cotangent(case))
        (out.to(torch.float64) * c).sum().backward()
        grads = [xs[i].grad for i in case.grad_args]
        grads = [np.zeros(case.runtime[i].source_shape) if g is None else g.numpy()
                 for i, g in zip(case.grad_args, grads)]
    return out.detach().numpy(), grads


# ------------------------------------------------------------------------------------------ user-facing

@dataclass
class U:
    """A user-facing function on fixed inputs, with the NumPy expression it must agree with."""
    name: str
    fn: Any                  # staged: (*args) -> Rep
    ref: Any                 # NumPy: (*args) -> array (same dtype expected unless `dtype` given)
    args: Tuple[np.ndarray, ...]
    dtype: Optional[str] = None      # expected result dtype where stage's weak typing differs
    grad: bool = True        # finite-difference check w.r.t. the float64 arguments
    xfail: Dict[str, str] = field(default_factory=dict)
    group: str = "core"      # one native build per group (so that batches build in parallel)

    @property
    def grad_args(self):
        return tuple(i for i, a in enumerate(self.args) if a.dtype == np.float64)

    def __post_init__(self):
        self.args = tuple(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a
                          for a in self.args)

    def expected(self, args=None):
        r = np.asarray(self.ref(*(self.args if args is None else args)))
        return r.astype(self.dtype) if self.dtype else r

    @property
    def has_grad(self):
        return self.grad and bool(self.grad_args) and self.expected().dtype == np.float64


def _user_cases():
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((3, 4))
    x32 = x.astype(np.float32)
    y = rng.standard_normal((4, 5, 6))
    z = rng.standard_normal((2, 3, 4))
    i32 = rng.integers(-5, 6, (3, 4)).astype(np.int32)
    i64 = rng.integers(-5, 6, (5,))
    s = np.float64(0.7)
    big = x * 300.0
    labels = np.array([0, 3, 1, 1, 2])
    labels2 = np.array([[0, 2], [1, 1], [2, 0]])
    idx = np.array([2, -1, 0, 2])
    idx2 = np.array([[0, 2], [-2, 1]])
    cond = x > 0
    I = np.int64
    cases = [
        # reductions: axis None / int / negative / tuple, keepdims, methods, 0-d, ints
        U("sum_all", lambda a: st.sum(a), np.sum, (x,)),
        U("sum_neg_axis", lambda a: st.sum(a, axis=-1), lambda a: np.sum(a, axis=-1), (z,)),
        U("sum_tuple_keepdims", lambda a: st.sum(a, axis=(0, -1), keepdims=True),
          lambda a: np.sum(a, axis=(0, -1), keepdims=True), (z,)),
        U("sum_method", lambda a: a.sum(1), lambda a: a.sum(1), (x32,)),
        U("sum_0d_axis0", lambda a: st.sum(a, axis=0), lambda a: np.sum(a, axis=0), (s,)),
        U("sum_int32", lambda a: st.sum(a, axis=0), lambda a: np.sum(a, axis=0), (i32,)),
        U("mean_all", lambda a: st.mean(a), np.mean, (x,)),
        U("mean_neg_keepdims", lambda a: st.mean(a, axis=-2, keepdims=True),
          lambda a: np.mean(a, axis=-2, keepdims=True), (z,)),
        U("mean_f32", lambda a: a.mean(0), lambda a: a.mean(0), (x32,)),
        U("mean_int_is_default_float", lambda a: st.mean(a, axis=1), lambda a: np.mean(a, axis=1),
          (i32,)),
        U("var_all", lambda a: st.var(a), np.var, (x,)),
        U("var_axis_ddof", lambda a: st.var(a, axis=0, ddof=1), lambda a: np.var(a, axis=0, ddof=1), (x,)),
        U("var_keepdims", lambda a: st.var(a, axis=(0, 2), keepdims=True),
          lambda a: np.var(a, axis=(0, 2), keepdims=True), (z,)),
        U("max_all", lambda a: st.max(a), np.max, (x,)),
        U("max_neg_keepdims", lambda a: st.max(a, axis=-1, keepdims=True),
          lambda a: np.max(a, axis=-1, keepdims=True), (z,)),
        U("min_all", lambda a: st.min(a), np.min, (x,)),
        U("min_axis", lambda a: a.min(0), lambda a: a.min(0), (z,)),
        U("min_int", lambda a: st.min(a, axis=1), lambda a: np.min(a, axis=1), (i32,)),
        U("logsumexp_all", lambda a: st.logsumexp(a), lambda a: _np_lse(a, None, False), (x,)),
        U("logsumexp_neg_axis", lambda a: st.logsumexp(a, axis=-1),
          lambda a: _np_lse(a, -1, False), (z,)),
        U("logsumexp_keepdims_large", lambda a: st.logsumexp(a, axis=0, keepdims=True),
          lambda a: _np_lse(a, 0, True), (big,)),
        U("argmax_all", lambda a: st.argmax(a), np.argmax, (x,)),
        U("argmax_neg", lambda a: a.argmax(-1), lambda a: a.argmax(-1), (z,)),
        # indexing: static ints, slices with steps, None, Ellipsis, staged and advanced indices
        U("index_int", lambda a: a[1], lambda a: a[1], (y,)),
        U("index_neg_int", lambda a: a[-1, 2], lambda a: a[-1, 2], (y,)),
        U("index_step", lambda a: a[1:4:2], lambda a: a[1:4:2], (y,)),
        U("index_reverse", lambda a: a[::-1], lambda a: a[::-1], (y,)),
        U("index_neg_step_slice", lambda a: a[:, -1:0:-2, ::3], lambda a: a[:, -1:0:-2, ::3], (y,)),
        U("index_none", lambda a: a[None], lambda a: a[None], (x,)),
        U("index_ellipsis", lambda a: a[..., 0], lambda a: a[..., 0], (y,)),
        U("index_mixed", lambda a: a[:, None, 1:, ...], lambda a: a[:, None, 1:, ...], (y,)),
        U("index_ellipsis_middle", lambda a: a[1, ..., -2], lambda a: a[1, ..., -2], (y,)),
        U("index_scalar", lambda a: a[2, -1, 0], lambda a: a[2, -1, 0], (y,)),
        U("index_staged", lambda a, i: a[i], lambda a, i: a[i], (y, I(2))),
        U("index_staged_neg", lambda a, i: a[i], lambda a, i: a[i], (y, I(-1))),
        U("index_staged_int32_neg", lambda a, i: a[:, i], lambda a, i: a[:, i], (y, np.int32(-4))),
        U("index_staged_two", lambda a, i, j: a[i, 1:4, j], lambda a, i, j: a[i, 1:4, j],
          (y, I(3), I(-6))),
        U("index_staged_and_none", lambda a, i: a[None, ..., i], lambda a, i: a[None, ..., i],
          (y, I(-2))),
        U("index_array", lambda a, k: a[k], lambda a, k: a[k], (y, idx)),
        U("index_array_axis1", lambda a, k: a[:, k], lambda a, k: a[:, k], (y, idx)),
        U("index_array_2d", lambda a, k: a[k], lambda a, k: a[k], (x, idx2)),
        U("index_list", lambda a: a[[0, 2, 2]], lambda a: a[[0, 2, 2]], (x,)),
        U("take_neg_axis", lambda a, k: st.take(a, k, axis=-1), lambda a, k: np.take(a, k, axis=-1),
          (y, idx)),
        U("take_scalar_index", lambda a, k: st.take(a, k, axis=1), lambda a, k: np.take(a, k, axis=1),
          (x, I(-2))),
        # joining
        U("concatenate_neg_axis", lambda a, b: st.concatenate([a, b], axis=-1),
          lambda a, b: np.concatenate([a, b], axis=-1), (x, x[:, :2] * 2)),
        U("concatenate_promotes", lambda a, b: st.concatenate([a, b]),
          lambda a, b: np.concatenate([a, b]), (x32, x)),
        U("concatenate_three", lambda a, b, c: st.concatenate((a, b, c), 1),
          lambda a, b, c: np.concatenate((a, b, c), 1), (z, z[:, :1], z)),
        U("stack_axis0", lambda a, b: st.stack([a, b]), lambda a, b: np.stack([a, b]), (x, x * 3)),
        U("stack_neg_axis", lambda a, b: st.stack([a, b], axis=-1),
          lambda a, b: np.stack([a, b], axis=-1), (x, x * 3)),
        U("stack_scalars", lambda a, b: st.stack([a, b, a]), lambda a, b: np.stack([a, b, a]),
          (s, np.float64(-1.5))),
        # one_hot
        U("one_hot", lambda k: st.one_hot(k, 4), lambda k: np.eye(4, dtype=np.float32)[k], (labels,)),
        U("one_hot_2d_f64", lambda k: st.one_hot(k, 3, "float64"), lambda k: np.eye(3)[k], (labels2,)),
        # shapes
        U("reshape_minus1", lambda a: a.reshape(2, -1), lambda a: a.reshape(2, -1), (z,)),
        U("flatten", lambda a: a.flatten(), lambda a: a.flatten(), (z,)),
        U("transpose_default", lambda a: a.T, lambda a: a.T, (z,)),
        U("transpose_neg_axes", lambda a: st.transpose(a, (-1, 0, 1)),
          lambda a: np.transpose(a, (-1, 0, 1)), (z,)),
        U("swapaxes_neg", lambda a: st.swapaxes(a, -1, 0), lambda a: np.swapaxes(a, -1, 0), (z,)),
        U("expand_dims_neg", lambda a: st.expand_dims(a, -1), lambda a: np.expand_dims(a, -1), (x,)),
        U("squeeze_axis", lambda a: st.squeeze(a[:, None], 1), lambda a: np.squeeze(a[:, None], 1), (x,)),
        U("broadcast_to", lambda a: st.broadcast_to(a, (2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)),
          (x,)),
        # weak typing of Python scalars (stage follows JAX: a Python scalar takes the array's dtype)
        U("weak_f32_mul", lambda a: a * 2.0, lambda a: a * np.float32(2.0), (x32,)),
        U("weak_f32_radd", lambda a: 1 + a, lambda a: np.float32(1) + a, (x32,)),
        U("weak_f32_rsub_div", lambda a: (0.5 - a) / 3, lambda a: (np.float32(0.5) - a) / np.float32(3),
          (x32,)),
        U("weak_f32_pow", lambda a: a ** 3.0, lambda a: a ** np.float32(3.0), (x32,)),
        U("weak_f32_rpow", lambda a: 2.0 ** a, lambda a: np.float32(2.0) ** a, (x32,)),
        U("weak_f32_max", lambda a: st.maximum(a, 0), lambda a: np.maximum(a, np.float32(0)), (x32,)),
        U("weak_f32_clip", lambda a: st.clip(a, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), (x32,)),
        U("weak_int32_add", lambda a: a + 1, lambda a: a + np.int32(1), (i32,)),
        U("weak_clip_int_float_bounds", lambda a: st.clip(a, -0.5, 2.5),
          lambda a: np.clip(a, -0.5, 2.5), (i32,)),                 # NumPy 2: float64
        U("weak_clip_int_int_bounds", lambda a: st.clip(a, -1, 2), lambda a: np.clip(a, -1, 2), (i32,)),
        U("weak_int_times_float", lambda a: a * 0.5, lambda a: a * 0.5, (i32,)),   # float64
        U("weak_f64_sub", lambda a: a - 0.25, lambda a: a - 0.25, (x,)),
        U("weak_compare", lambda a: a > 0.5, lambda a: a > 0.5, (x32,)),
        U("where_scalar_else", lambda a: st.where(a > 0, a, 0.0),
          lambda a: np.where(a > 0, a, np.float32(0)), (x32,)),
        U("where_scalar_then", lambda a, c: st.where(c, -1.0, a),
          lambda a, c: np.where(c, np.float64(-1), a), (x, cond)),
        U("where_two_scalars", lambda c: st.where(c, 1.0, 0.0),
          lambda c: np.where(c, 1.0, 0.0), (cond,)),        # float64, as NumPy
        U("where_int_scalars", lambda c: st.where(c, 1, -2), lambda c: np.where(c, 1, -2), (cond,)),
        U("where_int_array", lambda c, k: st.where(c[0, :], k[:4], 0),
          lambda c, k: np.where(c[0, :], k[:4], 0), (cond, i64)),
        U("where_promotes", lambda c, a, b: st.where(c, a, b), lambda c, a, b: np.where(c, a, b),
          (cond, x32, x)),
        U("clip_staged_bound", lambda a, lo: st.clip(a, lo, None), lambda a, lo: np.clip(a, lo, None),
          (x, np.float64(-0.2))),
        U("minimum_broadcast", lambda a, b: st.minimum(a, b), np.minimum, (x, x[0] * 0.5)),
        U("dot_vec", lambda a, b: st.dot(a, b), np.dot, (x[0], x[1])),
        U("matmul_transposed", lambda a, b: a.T @ b, lambda a, b: a.T @ b, (x, x * 2)),
        U("matmul_T_rhs", lambda a, b: a @ b.T, lambda a, b: a @ b.T, (x, x * 2)),
        U("matmul_sliced", lambda a: a[:, ::2] @ a[1:3, :2].T, lambda a: a[:, ::2] @ a[1:3, :2].T, (x,)),
        # an argument used twice by one op (the gradient sums both contributions)
        U("twice_multiply", lambda a: a * a, lambda a: a * a, (x,)),
        U("twice_matmul", lambda a: a @ a.T, lambda a: a @ a.T, (x,)),
        U("twice_concatenate", lambda a: st.concatenate([a, a, a[:1]]),
          lambda a: np.concatenate([a, a, a[:1]]), (x,)),
        U("twice_where", lambda a, c: st.where(c, a, a * 2), lambda a, c: np.where(c, a, a * 2), (x, cond)),
        U("twice_maximum_ties", lambda a: st.maximum(a, a), lambda a: np.maximum(a, a), (x,)),
        U("twice_divide", lambda a: a / (a * a + 1), lambda a: a / (a * a + 1), (x,)),
        U("twice_power", lambda a: st.abs(a) ** st.abs(a), lambda a: np.abs(a) ** np.abs(a), (x,)),
        U("twice_overlapping_slices", lambda a: a[1:] * a[:-1], lambda a: a[1:] * a[:-1], (x,)),
        # sparse updates (scatter_add / indexing gradients) next to other uses of the same array
        U("scatter_add_and_base", lambda a, k, v: (lambda z: st.scatter_add(z, k, v) * z)(st.tanh(a)),
          lambda a, k, v: (lambda z: _np_scatter_add(z, k, v) * z)(np.tanh(a)), (x, idx[:3] % 3, x[:3] * 2)),
        U("many_indexings", lambda a, k, i: st.sum(a[i] * a[1]) + st.sum(st.take(a, k, axis=0) * a[0]) +
          st.sum(a[::-2] ** 2) + st.sum(a[i, 1:] * a[0, :3]),
          lambda a, k, i: np.sum(a[i] * a[1]) + np.sum(np.take(a, k, axis=0) * a[0]) +
          np.sum(a[::-2] ** 2) + np.sum(a[i, 1:] * a[0, :3]), (x, idx % 3, I(-1))),
        U("matmul_batch_T", lambda a: a @ st.swapaxes(a, -1, -2),
          lambda a: a @ np.swapaxes(a, -1, -2), (z,)),
    ]
    import optest_numpy
    cases += optest_numpy.user_cases()
    return {c.name: c for c in cases}


def _np_scatter_add(x, k, v):
    out = np.array(x, copy=True)
    np.add.at(out, k, v)
    return out


def _np_lse(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdims else (np.squeeze(r, axis) if axis is not None else r.reshape(()))


USER: Dict[str, U] = _user_cases()


def user_forward_fn(cases: List[U]):
    def fn(*flat):
        outs, k = [], 0
        for c in cases:
            outs.append(c.fn(*flat[k:k + len(c.args)]))
            k += len(c.args)
        return tuple(outs)
    fn.__name__ = "user_fwd"
    return fn


def user_cotangent(c: U):
    return _rng(c.name, "cotangent").standard_normal(c.expected().shape)


def user_grad_fn(cases: List[U]):
    def fn(*flat):
        res, k = [], 0
        for c in cases:
            n = len(c.args)
            args, cot = flat[k:k + n], flat[k + n]
            res.append(tuple(st.grad(lambda *a, c=c, cot=cot: st.sum(c.fn(*a) * cot),
                                     argnums=c.grad_args)(*args)))
            k += n + 1
        return tuple(res)
    fn.__name__ = "user_vjp"
    return fn


def user_grad_inputs(cases: List[U]):
    return [a for c in cases for a in list(c.args) + [user_cotangent(c)]]


def user_fd_check(c: U, grads, eps=1e-6):
    rng = _rng(c.name, "direction")
    ts = [rng.standard_normal(np.shape(c.args[i])) for i in c.grad_args]
    lhs = float(sum(np.sum(t * g) for t, g in zip(ts, grads)))

    def at(s):
        a = list(c.args)
        for i, t in zip(c.grad_args, ts):
            a[i] = c.args[i] + s * t
        return c.expected(a)
    jvp = (at(eps) - at(-eps)) / (2 * eps)
    rhs = float(np.sum(jvp * user_cotangent(c)))
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= 1e-6 * scale, f"{c.name}: <t, vjp(c)> = {lhs!r}, <jvp_fd(t), c> = {rhs!r}"


# ------------------------------------------------------------------------------------------ second order

def vectors(case: Case):
    """The vector v of a Hessian-vector product (one per differentiated argument)."""
    rng = _rng(case.id, "hvp")
    return [rng.standard_normal(case.runtime[i].source_shape) for i in case.grad_args]


def hvp_fn(cases: List[Case]):
    """Every case's H v, with H the Hessian of sum(op(x) * c): the gradient of <grad, v>, staged by
    differentiating the staged gradient (arguments: inputs, cotangent, then the vs)."""
    def fn(*flat):
        res, k = [], 0
        for c in cases:
            n, m = len(c.runtime), len(c.grad_args)
            args, cot, vs = flat[k:k + n], flat[k + n], flat[k + n + 1:k + n + 1 + m]

            def h(*a, c=c, cot=cot, vs=vs):
                g = st.grad(loss_fn(c, "float64", cot), argnums=c.grad_args)(*a)
                return sum(st.sum(gi * vi) for gi, vi in zip(g, vs))
            res.append(tuple(st.grad(h, argnums=c.grad_args)(*args)))
            k += n + 1 + m
        return tuple(res)
    fn.__name__ = "hvp"
    return fn


def hvp_inputs(cases: List[Case]):
    return [x for c in cases for x in inputs(c, "float64") + [cotangent(c)] + vectors(c)]


def hvp_check(case: Case, hv, grad_at, eps=1e-6):
    """<t, H v> vs <(grad(x + eps t) - grad(x - eps t)) / 2 eps, v>."""
    xs = inputs(case, "float64")
    ts, vs = direction(case), vectors(case)
    lhs = float(sum(np.sum(t * h) for t, h in zip(ts, hv)))

    def shifted(s):
        a = list(xs)
        for i, t in zip(case.grad_args, ts):
            a[i] = xs[i] + s * t
        return grad_at(a)
    gp, gm = shifted(eps), shifted(-eps)
    rhs = float(sum(np.sum((p - m) / (2 * eps) * v) for p, m, v in zip(gp, gm, vs)))
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= 1e-5 * scale, f"{case.id}: <t, H v> = {lhs!r} but FD gives {rhs!r}"
