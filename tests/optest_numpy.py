"""Test cases of NumPy's vocabulary (issue 13): the ops of `stage.ir.ops.ufuncs` (and the later
NumPy families), their PyTorch counterparts, and the user-facing composites checked against NumPy
itself. `optest` adds these to its tables; the tests of `test_ops.py` run them like every other
case (forward on both backends, gradients by finite differences, Hessian-vector products, PyTorch).
"""
from __future__ import annotations

import numpy as np


# the op module of each op: one compiled batch per group (ufuncs apart from the older elementwise
# ops, so that the two batches build in parallel)
UFUNC_OPS = ("log2", "log10", "exp2", "cbrt", "sinh", "cosh", "arcsin", "arccos", "arctan",
             "arcsinh", "arccosh", "arctanh", "erf", "erfc", "ceil", "trunc", "rint", "arctan2",
             "hypot", "copysign", "fmax", "fmin", "isnan", "isinf", "isfinite", "signbit",
             "logical_xor")
SCAN_OPS = ("prod", "cumsum", "cumprod", "linear_scan", "argmin", "argsort", "take_along_axis",
            "scatter_add_along_axis", "scatter_along_axis")
LAPACK_OPS = ("inv", "solve", "det", "slogdet", "cholesky")
GROUPS = {**{op: "ufuncs" for op in UFUNC_OPS}, **{op: "scans" for op in SCAN_OPS},
          **{op: "lapack" for op in LAPACK_OPS}}


def op_cases():
    import optest as T
    C, f, ints, bools, special, small, fixed = T.C, T.f, T.ints, T.bools, T.special, T.small, T.fixed
    out = []
    ushapes = [(3, 4), (), (2, 1, 3)]
    for op in ("log2", "log10", "exp2", "cbrt", "sinh", "cosh", "arcsin", "arccos", "arctan",
               "arcsinh", "arccosh", "arctanh", "erf", "erfc", "ceil", "trunc", "rint"):
        out += [C(op, f(*s)) for s in ushapes]
        out.append(C(op, special(4, 6), grad=False, torch=False))
    out += [C("erf", f(4, 5, dom={"scale": 3.0})), C("erfc", f(4, 5, dom={"scale": 3.0})),
            C("cbrt", f(3, 4, view="T")), C("exp2", f(16, 9), o3=True),
            C("erf", f(3, 7), o3=True)]
    halves = fixed(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.7, -3.2, 0.49999997, 4.5)
    out += [C(op, halves, fd=False) for op in ("rint", "ceil", "trunc")]
    out += [C("ceil", small(2, 5)), C("trunc", small(2, 5)), C("rint", small(2, 5))]
    bshapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 3))]
    for op in ("arctan2", "hypot", "copysign", "fmax", "fmin"):
        out += [C(op, f(*a), f(*b)) for a, b in bshapes]
        out.append(C(op, special(4, 6), special(4, 6), grad=False, torch=False))
    for op in ("fmax", "fmin"):
        out += [C(op, ints((3, 4)), ints((1, 4))),
                C(op, ints((2, 3), dtype="int32"), ints((3,), dtype="int32")),
                C(op, small(3, 4), small(3, 4), torch=False),      # ties share the gradient
                C(op, f(3, 4), T.const(np.nan), grad=False, torch=False)]
    out += [C("hypot", f(5, 6), f(6), o3=True),
            C("hypot", fixed(0.0, 3.0, -0.0), fixed(0.0, 4.0, 2.0), torch=False, fd=False)]
    for op in ("isnan", "isinf", "isfinite", "signbit"):
        out += [C(op, special(4, 6), grad=False), C(op, f(3)), C(op, ints((5,), -3, 4)),
                C(op, ints((2, 3), dtype="int32")), C(op, bools(4)), C(op, f())]
    out += [C("logical_xor", bools(3, 4), bools(3, 4)), C("logical_xor", bools(3, 1), bools(4,))]
    return out + scan_cases(T) + lapack_cases(T)


def scan_cases(T):
    C, f, ints, bools, special, small, fixed, index = (T.C, T.f, T.ints, T.bools, T.special,
                                                        T.small, T.fixed, T.index)
    out = []
    red = lambda axis, keepdims=False: {"axis": axis, "keepdims": keepdims}    # noqa: E731
    out += [C("prod", f(3, 4), params=red((0,))), C("prod", f(3, 4), params=red((1,), True)),
            C("prod", f(3, 4), params=red((0, 1))), C("prod", f(2, 3, 4), params=red((0, 2), True)),
            C("prod", f(5), params=red((0,))), C("prod", ints((3, 4), -3, 4), params=red((1,))),
            C("prod", bools(3, 4), params=red((0,))), C("prod", f(0, 3), params=red((0,))),
            C("prod", fixed(1.5, 0.0, -2.0, 0.5), params=red((0,))),       # a zero: no division
            C("prod", fixed(0.0, 3.0, 0.0), params=red((0,))),             # two zeros
            C("prod", special(4, 6), params=red((1,)), grad=False, torch=False),
            C("prod", f(3, 4, view="T"), params=red((1,))),
            C("prod", f(8, 9), params=red((1,)), o3=True)]
    for op in ("cumsum", "cumprod"):
        out += [C(op, f(3, 4), params={"axis": 0}), C(op, f(3, 4), params={"axis": 1}),
                C(op, f(2, 3, 4), params={"axis": 1}), C(op, f(5), params={"axis": 0}),
                C(op, ints((3, 4), -3, 4), params={"axis": 1}),
                C(op, ints((5,), -3, 4, "int32"), params={"axis": 0}),
                C(op, bools(6), params={"axis": 0}), C(op, f(0, 3), params={"axis": 0}),
                C(op, f(3, 4, view="T"), params={"axis": 1}),
                C(op, special(4, 6), params={"axis": 1}, grad=False, torch=False),
                C(op, f(6, 7), params={"axis": 1}, o3=True)]
    # exact at zeros, to the second derivative (one zero, two zeros, a zero last)
    out += [C("cumprod", fixed(1.5, 0.0, 2.0, -0.5, 3.0), params={"axis": 0}),
            C("cumprod", fixed(0.0, 1.5, 0.0, 2.0), params={"axis": 0}),
            C("cumprod", fixed(2.0, -1.0, 0.5, 0.0), params={"axis": 0})]
    for axis, reverse in ((1, False), (0, True), (1, True)):
        out += [C("linear_scan", f(3, 4), f(3, 4), params={"axis": axis, "reverse": reverse})]
    out += [C("linear_scan", f(2, 3, 4), f(2, 3, 4), params={"axis": 1, "reverse": True}),
            C("linear_scan", f(5), f(5), params={"axis": 0, "reverse": False}),
            C("linear_scan", f(0, 3), f(0, 3), params={"axis": 0, "reverse": True}),
            C("linear_scan", f(6, 7), f(6, 7), params={"axis": 1, "reverse": False}, o3=True)]
    out += [C("argmin", f(3, 4), params={"axis": 0}), C("argmin", f(3, 4), params={"axis": 1}),
            C("argmin", f(3, 4), params={"axis": None}),
            C("argmin", ints((2, 3, 4)), params={"axis": 2}),
            C("argmin", f(), params={"axis": None}),
            C("argmin", special(4, 6), params={"axis": 1}, grad=False, torch=False),
            C("argmin", f(3, 4, view="T"), params={"axis": 1})]
    out += [C("argsort", f(3, 4, dom={"distinct": True}), params={"axis": 0}),
            C("argsort", f(3, 5, dom={"distinct": True}), params={"axis": 1}),
            C("argsort", ints((4, 6), -2, 3), params={"axis": 1}),            # ties: stable
            C("argsort", ints((7,), -2, 3, "int32"), params={"axis": 0}),
            C("argsort", bools(9), params={"axis": 0}),
            C("argsort", special(4, 6), params={"axis": 1}, grad=False),      # NaN last
            C("argsort", small(5, 4, ), params={"axis": 0}),
            C("argsort", f(3, 4, view="T", dom={"distinct": True}), params={"axis": 1}),
            C("argsort", f(0, 3), params={"axis": 0}),
            C("argsort", f(40, dom={"distinct": True}), params={"axis": 0}, o3=True)]
    out += [C("take_along_axis", f(3, 4), index(3, (2, 4)), params={"axis": 0}),
            C("take_along_axis", f(3, 4), index(4, (3, 6)), params={"axis": 1}),
            C("take_along_axis", f(2, 3, 4), index(3, (2, 1, 4)), params={"axis": 1}),
            C("take_along_axis", f(5), index(5, (7,), "int32"), params={"axis": 0}),
            C("take_along_axis", ints((3, 4)), index(4, (3, 2)), params={"axis": 1}),
            C("take_along_axis", f(3, 4, view="T"), index(3, (2, 4)), params={"axis": 0}),
            C("take_along_axis", f(6, 5), index(6, (9, 5)), params={"axis": 0}, o3=True)]
    for op in ("scatter_add_along_axis", "scatter_along_axis"):
        tor = op == "scatter_add_along_axis"       # (torch's scatter with duplicates is undefined)
        out += [C(op, f(3, 4), index(3, (5, 4)), f(5, 4), params={"axis": 0}, torch=tor),
                C(op, f(3, 4), index(4, (3, 2)), f(3, 2), params={"axis": 1}, torch=tor),
                C(op, f(2, 3, 4), index(3, (2, 2, 4), "int32"), f(2, 2, 4), params={"axis": 1},
                  torch=tor),
                C(op, ints((3, 4)), index(4, (3, 5)), ints((3, 5)), params={"axis": 1},
                  torch=tor),
                C(op, f(4, 3, view="T"), index(3, (4, 5)), f(4, 5), params={"axis": 1},
                  torch=tor)]
    return out


def torch_table(torch):
    return {
        "log2": torch.log2, "log10": torch.log10, "exp2": torch.exp2, "sinh": torch.sinh,
        "cosh": torch.cosh, "arcsin": torch.asin, "arccos": torch.acos, "arctan": torch.atan,
        "arcsinh": torch.asinh, "arccosh": torch.acosh, "arctanh": torch.atanh,
        "erf": torch.erf, "erfc": torch.erfc, "ceil": torch.ceil, "trunc": torch.trunc,
        "rint": torch.round, "arctan2": torch.atan2, "hypot": torch.hypot,
        "copysign": torch.copysign, "fmax": torch.fmax, "fmin": torch.fmin,
        "isnan": torch.isnan, "isinf": torch.isinf, "isfinite": torch.isfinite,
        "signbit": torch.signbit, "logical_xor": torch.logical_xor,
        "prod": _torch_prod, "cumsum": lambda x, axis: torch.cumsum(x, axis),
        "cumprod": lambda x, axis: torch.cumprod(x, axis),
        "argmin": lambda x, axis: torch.argmin(x, dim=axis),
        "argsort": lambda x, axis: torch.argsort(x, dim=axis, stable=True),
        "take_along_axis": lambda a, idx, axis: torch.take_along_dim(a, idx.long() % a.shape[axis],
                                                                     axis),
        "scatter_add_along_axis": lambda x, idx, v, axis: x.scatter_add(
            axis, (idx % x.shape[axis]).long(), v),
        "inv": torch.linalg.inv, "solve": torch.linalg.solve, "det": torch.linalg.det,
        "slogdet": lambda a: torch.stack(torch.linalg.slogdet(a), -1),
        "cholesky": torch.linalg.cholesky,
    }


def _torch_prod(x, axis, keepdims):
    if not axis:
        return None
    for a in sorted(axis, reverse=True):
        x = x.prod(dim=a, keepdim=keepdims)
    return x


def user_cases():
    """The user-facing cases, one native build per family."""
    from optest_numpy_arrays import (array_user_cases, creation_user_cases, linalg_user_cases,
                                     selection_user_cases)
    from optest_numpy_user import reduction_user_cases, scan_user_cases, ufunc_user_cases
    families = {"numpy-ufuncs": ufunc_user_cases, "numpy-reduce": reduction_user_cases,
                "numpy-scans": scan_user_cases, "numpy-arrays": array_user_cases,
                "numpy-creation": creation_user_cases, "numpy-select": selection_user_cases,
                "numpy-linalg": linalg_user_cases}
    out = []
    for group, make in families.items():
        for c in make():
            c.group = group
            out.append(c)
    return out


def lapack_cases(T):
    C, f = T.C, T.f
    out = []
    for n, batch in ((3, ()), (1, ()), (2, (2,)), (4, (2, 1)), (0, ())):
        sq = f(*batch, n, n)
        out += [C("inv", sq), C("det", sq), C("slogdet", sq),
                C("solve", sq, f(*batch, n, 2, dom={})),
                C("cholesky", T.Arg(batch + (n, n), T.F, dom={"spd": True}), fd=False)]
    out += [C("solve", f(5, 5), f(5, 7, dom={}), o3=True), C("inv", f(6, 6), o3=True),
            C("det", f(3, 3, view="T")), C("inv", f(3, 3, view="T"))]
    return out
