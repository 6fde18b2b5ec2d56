"""Test cases of NumPy's vocabulary (issue 13): the ops of `stage.ir.ops.ufuncs` (and the later
NumPy families), their PyTorch counterparts, and the user-facing composites checked against NumPy
itself. `optest` adds these to its tables; the tests of `test_ops.py` run them like every other
case (forward on both backends, gradients by finite differences, Hessian-vector products, PyTorch).
"""
from __future__ import annotations

import numpy as np

import stage as st

# the op module of each op: one compiled batch per group (ufuncs apart from the older elementwise
# ops, so that the two batches build in parallel)
UFUNC_OPS = ("log2", "log10", "exp2", "cbrt", "sinh", "cosh", "arcsin", "arccos", "arctan",
             "arcsinh", "arccosh", "arctanh", "erf", "erfc", "ceil", "trunc", "rint", "arctan2",
             "hypot", "copysign", "fmax", "fmin", "isnan", "isinf", "isfinite", "signbit",
             "logical_xor")
SCAN_OPS = ("prod", "cumsum", "cumprod", "argmin", "argsort", "take_along_axis",
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
    out += [C("cumprod", fixed(1.5, 0.0, 2.0, -0.5, 3.0), params={"axis": 0}),   # exact at zeros
            C("cumprod", fixed(0.0, 1.5, 0.0, 2.0), params={"axis": 0}),
            C("cumprod", fixed(2.0, -1.0, 0.5, 0.0), params={"axis": 0})]
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
        "take_along_axis": lambda a, idx, axis: torch.take_along_dim(a, idx % a.shape[axis], axis),
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


def ufunc_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1313)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((3, 4)) * 3
    x32 = x.astype(np.float32)
    i32 = rng.integers(-40, 41, (3, 4)).astype(np.int32)
    i64 = rng.integers(-40, 41, (7,))
    big = np.array([800.0, -800.0, 1e-3, 30.0, -30.0])
    inf = np.array([np.inf, -np.inf, np.inf, -np.inf, 2.0, np.nan])
    inf2 = np.array([np.inf, -np.inf, -np.inf, 1.0, np.inf, 0.0])
    halves = np.array([0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 1234.5678, -0.05, 2.675])
    steps = np.array([-1.0, 0.0, 2.0, -0.0, 0.0])
    bad = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 3.0])
    return [
        U("logaddexp", st.logaddexp, np.logaddexp, (x, y)),
        U("logaddexp_broadcast_f32", st.logaddexp, np.logaddexp, (x32, x32[0] * 2)),
        U("logaddexp_large", st.logaddexp, np.logaddexp, (big, big[::-1] * 0.5)),
        U("logaddexp_ties", lambda a: st.logaddexp(a, a), lambda a: np.logaddexp(a, a), (x,)),
        U("logaddexp_infinities", st.logaddexp, np.logaddexp, (inf, inf2), grad=False),
        U("logaddexp_weak_scalar", lambda a: st.logaddexp(a, 0.0),
          lambda a: np.logaddexp(a, np.float32(0)), (x32,)),
        U("logaddexp2", st.logaddexp2, np.logaddexp2, (x, y)),
        U("logaddexp2_infinities", st.logaddexp2, np.logaddexp2, (inf, inf2), grad=False),
        U("round_default", st.round, np.round, (halves,), grad=False),    # (at the jumps)
        U("round_decimals", lambda a: st.round(a, 2), lambda a: np.round(a, 2), (halves,),
          grad=False),
        U("round_negative_decimals", lambda a: st.round(a, -1), lambda a: np.round(a, -1),
          (halves * 100,), grad=False),
        U("round_grad_is_zero", lambda a: st.round(a, 1) + a, lambda a: np.round(a, 1) + a, (x,)),
        U("round_f32", lambda a: st.around(a, 1), lambda a: np.around(a, 1), (x32 * 10,)),
        U("round_int_kept", lambda a: st.round(a, 1), lambda a: np.round(a, 1), (i32,)),
        U("round_int_negative", lambda a: st.round(a, -1), lambda a: np.round(a, -1), (i64,)),
        U("rint_int", st.rint, np.rint, (i64,)),
        U("floor_int_kept", st.floor, np.floor, (i32,)),
        U("ceil_int_kept", st.ceil, np.ceil, (i64,)),
        U("fix", st.fix, np.fix, (x * 3,)),
        U("fabs", st.fabs, np.fabs, (x,)),
        U("fabs_int", st.fabs, np.fabs, (i32,)),
        U("reciprocal", st.reciprocal, np.reciprocal, (x + 3,)),
        U("reciprocal_int", st.reciprocal, lambda a: np.reciprocal(np.where(a == 0, 7, a)),
          (np.array([-2, -1, 1, 2, 3, 7]),)),
        U("degrees", st.degrees, np.degrees, (x,)),
        U("rad2deg_f32", st.rad2deg, np.rad2deg, (x32,)),
        U("radians", st.radians, np.radians, (y * 60,)),
        U("deg2rad", st.deg2rad, np.deg2rad, (y * 60,)),
        U("heaviside", st.heaviside, np.heaviside, (np.array([-1.0, 0.0, 2.0, np.nan, 0.0]),
                                                    np.array([0.3, 0.5, 0.7, 0.1, -2.0])),
          grad=False),
        U("heaviside_grad_of_y", lambda b: st.heaviside(steps, b),     # flows where x == 0
          lambda b: np.heaviside(steps, b), (np.array([0.3, 0.5, 0.7, 0.1, -2.0]),)),
        U("heaviside_scalar", lambda a: st.heaviside(a, 0.5), lambda a: np.heaviside(a, 0.5),
          (np.round(x),), grad=False),
        U("nan_to_num", st.nan_to_num, np.nan_to_num, (bad,), grad=False),
        U("nan_to_num_f32", st.nan_to_num, np.nan_to_num, (bad.astype(np.float32),)),
        U("nan_to_num_values", lambda a: st.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0),
          lambda a: np.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0), (bad,), grad=False),
        U("nan_to_num_grad", lambda a: st.nan_to_num(a * a), lambda a: np.nan_to_num(a * a), (x,)),
        U("nan_to_num_int", st.nan_to_num, np.nan_to_num, (i64,)),
        U("absolute", st.absolute, np.absolute, (x + 0.05,)),
        U("true_divide", st.true_divide, np.true_divide, (x, y + 10)),
        U("remainder", st.remainder, np.remainder, (x * 5, np.float64(1.5))),
        U("pow", st.pow, np.pow, (np.abs(x) + 0.5, y)),
        U("positive", st.positive, np.positive, (x,)),
        U("exact_gelu", lambda a: a * 0.5 * (1 + st.erf(a / np.sqrt(2.0))),
          lambda a: a * 0.5 * (1 + np.vectorize(__import__("math").erf)(a / np.sqrt(2.0))), (x,)),
        U("isnan_weak", lambda a: st.isnan(a * 0.0), lambda a: np.isnan(a * 0.0), (bad,),
          grad=False),
    ]


def reduction_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1414)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    x32 = x.astype(np.float32)
    i32 = rng.integers(-5, 6, (3, 4)).astype(np.int32)
    zeros = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, 2.0, -1.0]])
    mask = x > -0.3
    nan = np.array([[1.0, np.nan, 2.0], [0.5, 1.5, -1.0]])
    odd = rng.standard_normal((3, 5))
    w = rng.random(4) + 0.5
    return [
        U("sum_dtype_f64", lambda a: st.sum(a, 1, dtype=np.float64),
          lambda a: np.sum(a, 1, dtype=np.float64), (x32,)),
        U("sum_dtype_int32", lambda a: st.sum(a, 0, dtype="int32"),
          lambda a: np.sum(a, 0, dtype=np.int32), (i32,)),
        U("sum_initial", lambda a: st.sum(a, axis=0, initial=2.5),
          lambda a: np.sum(a, axis=0, initial=2.5), (x,)),
        U("sum_where", lambda a, m: st.sum(a, axis=1, where=m),
          lambda a, m: np.sum(a, axis=1, where=m), (x, mask)),
        U("prod_all", st.prod, np.prod, (x,)),
        U("prod_zeros_axis0", lambda a: st.prod(a, 0), lambda a: np.prod(a, 0), (zeros,)),
        U("prod_zeros_keepdims", lambda a: st.prod(a, 1, keepdims=True),
          lambda a: np.prod(a, 1, keepdims=True), (zeros,)),
        U("prod_int32", lambda a: st.prod(a, 1), lambda a: np.prod(a, 1), (i32,)),
        U("prod_initial_where", lambda a, m: st.prod(a, axis=0, initial=2.0, where=m),
          lambda a, m: np.prod(a, axis=0, initial=2.0, where=m), (x, mask)),
        U("max_initial", lambda a: st.max(a, axis=1, initial=0.5),
          lambda a: np.max(a, axis=1, initial=0.5), (x,)),
        U("min_where", lambda a, m: st.min(a, axis=0, initial=9.0, where=m),
          lambda a, m: np.min(a, axis=0, initial=9.0, where=m), (x, mask)),
        U("amax_empty_initial", lambda a: st.amax(a[:0], axis=0, initial=-1.0),
          lambda a: np.amax(a[:0], axis=0, initial=-1.0), (x,)),
        U("amin_keepdims", lambda a: st.amin(a, (0, 2), keepdims=True),
          lambda a: np.amin(a, (0, 2), keepdims=True), (z,)),
        U("mean_dtype", lambda a: st.mean(a, 0, dtype="float64"),
          lambda a: np.mean(a, 0, dtype=np.float64), (x32,)),
        U("mean_where", lambda a, m: st.mean(a, 1, where=m), lambda a, m: np.mean(a, 1, where=m),
          (x, mask)),
        U("var_ddof1", lambda a: st.var(a, 1, ddof=1), lambda a: np.var(a, 1, ddof=1), (x,)),
        U("var_correction", lambda a: st.var(a, correction=1), lambda a: np.var(a, correction=1),
          (z,)),
        U("std_all", st.std, np.std, (x,)),
        U("std_axis_keepdims", lambda a: st.std(a, (0, 1), keepdims=True),
          lambda a: np.std(a, (0, 1), keepdims=True), (z,)),
        U("std_ddof_f32", lambda a: st.std(a, 0, ddof=1), lambda a: np.std(a, 0, ddof=1), (x32,)),
        U("argmin_all", st.argmin, np.argmin, (x,)),
        U("argmin_axis", lambda a: st.argmin(a, -1), lambda a: np.argmin(a, -1), (z,)),
        U("argmax_keepdims", lambda a: st.argmax(a, 1, keepdims=True),
          lambda a: np.argmax(a, 1, keepdims=True), (z,)),
        U("argmin_keepdims_none", lambda a: st.argmin(a, keepdims=True),
          lambda a: np.argmin(a, keepdims=True), (x,)),
        U("all", lambda a: st.all(a > -2), lambda a: np.all(a > -2), (x,), grad=False),
        U("any_axis", lambda a: st.any(a > 1, axis=0), lambda a: np.any(a > 1, axis=0), (x,),
          grad=False),
        U("any_keepdims_ints", lambda a: st.any(a, axis=1, keepdims=True),
          lambda a: np.any(a, axis=1, keepdims=True), (i32,)),
        U("all_floats", lambda a: st.all(a, axis=0), lambda a: np.all(a, axis=0), (zeros,),
          grad=False),
        U("count_nonzero", lambda a: st.count_nonzero(a, axis=0),
          lambda a: np.count_nonzero(a, axis=0), (zeros,), grad=False),
        U("ptp", lambda a: st.ptp(a, axis=1), lambda a: np.ptp(a, axis=1), (x,)),
        U("ptp_all_int", st.ptp, np.ptp, (i32,)),
        U("average_weights", lambda a: st.average(a, 1, weights=w),
          lambda a: np.average(a, 1, weights=w), (x,)),
        U("average_weights_full", lambda a, v: st.average(a, weights=v),
          lambda a, v: np.average(a, weights=v), (x, np.abs(x) + 0.5)),
        U("average_returned", lambda a: st.stack(st.average(a, 0, returned=True)),
          lambda a: np.stack(np.average(a, 0, returned=True)), (x,)),
        U("median_all_even", st.median, np.median, (x,)),
        U("median_axis_odd", lambda a: st.median(a, 1), lambda a: np.median(a, 1), (odd,)),
        U("median_axes_keepdims", lambda a: st.median(a, (0, 2), keepdims=True),
          lambda a: np.median(a, (0, 2), keepdims=True), (z,)),
        U("median_nan", lambda a: st.median(a, 1), lambda a: np.median(a, 1), (nan,), grad=False),
        U("median_int", lambda a: st.median(a, 0), lambda a: np.median(a, 0), (i32,)),
        U("quantile", lambda a: st.quantile(a, 0.3, axis=1), lambda a: np.quantile(a, 0.3, axis=1),
          (odd,)),
        U("quantile_many", lambda a: st.quantile(a, [0.0, 0.25, 0.5, 0.9, 1.0]),
          lambda a: np.quantile(a, [0.0, 0.25, 0.5, 0.9, 1.0]), (x,)),
        U("percentile_keepdims", lambda a: st.percentile(a, [10, 75], axis=0, keepdims=True),
          lambda a: np.percentile(a, [10, 75], axis=0, keepdims=True), (z,)),
        U("trace", st.trace, np.trace, (x,)),
        U("trace_offset_axes", lambda a: st.trace(a, 1, 0, 2), lambda a: np.trace(a, 1, 0, 2), (z,)),
        U("trace_int", lambda a: st.trace(a, -1), lambda a: np.trace(a, -1), (i32,)),
        U("diagonal", lambda a: st.diagonal(a, -1), lambda a: np.diagonal(a, -1), (x,)),
        U("diagonal_axes", lambda a: st.diagonal(a, 1, 2, 0), lambda a: np.diagonal(a, 1, 2, 0),
          (z,)),
    ]


def scan_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1515)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    i32 = rng.integers(-3, 4, (3, 4)).astype(np.int32)
    zeros = np.array([[1.5, 0.0, -2.0, 0.0], [0.0, 0.5, 3.0, 1.0], [0.5, 2.0, -1.0, 0.0]])
    idx = np.array([[2, 0, 1, 2]])
    return [
        U("cumsum_flat", st.cumsum, np.cumsum, (x,)),
        U("cumsum_axis_dtype", lambda a: st.cumsum(a, 1, dtype="int32"),
          lambda a: np.cumsum(a, 1, dtype=np.int32), (i32,)),
        U("cumprod_zeros", lambda a: st.cumprod(a, 1), lambda a: np.cumprod(a, 1), (zeros,)),
        U("cumprod_flat_zeros", st.cumprod, np.cumprod, (zeros,)),
        U("cumulative_sum", lambda a: st.cumulative_sum(a, axis=0),
          lambda a: np.cumulative_sum(a, axis=0), (x,)),
        U("diff", st.diff, np.diff, (x,)),
        U("diff_n2_axis0", lambda a: st.diff(a, 2, 0), lambda a: np.diff(a, 2, 0), (z,)),
        U("diff_prepend_append", lambda a: st.diff(a, prepend=0.5, append=x[:, :1]),
          lambda a: np.diff(a, prepend=0.5, append=x[:, :1]), (x,)),
        U("diff_bool", lambda a: st.diff(a > 0), lambda a: np.diff(a > 0), (x,), grad=False),
        U("diff_int", lambda a: st.diff(a, axis=0), lambda a: np.diff(a, axis=0), (i32,)),
        U("sort", st.sort, np.sort, (x,)),
        U("sort_axis0", lambda a: st.sort(a, axis=0), lambda a: np.sort(a, axis=0), (z,)),
        U("sort_flat", lambda a: st.sort(a, axis=None), lambda a: np.sort(a, axis=None), (x,)),
        U("sort_int_ties", lambda a: st.sort(a, 1), lambda a: np.sort(a, 1), (i32,)),
        U("sort_grad_weighted", lambda a: st.sort(a, 1) * np.arange(4.0),
          lambda a: np.sort(a, 1) * np.arange(4.0), (x,)),
        U("argsort", lambda a: st.argsort(a, 0, kind="stable"),
          lambda a: np.argsort(a, 0, kind="stable"), (i32,)),
        U("argsort_flat", lambda a: st.argsort(a, None), lambda a: np.argsort(a, None), (x,)),
        U("partition_kth", lambda a: st.partition(a, 2, axis=1)[:, 2],
          lambda a: np.partition(a, 2, axis=1)[:, 2], (x,)),
        U("argpartition_kth", lambda a: st.take_along_axis(a, st.argpartition(a, 1, 0), 0)[1],
          lambda a: np.take_along_axis(a, np.argpartition(a, 1, 0), 0)[1], (z,)),
        U("take_along_argmax", lambda a: st.take_along_axis(a, st.argmax(a, 1, keepdims=True), 1),
          lambda a: np.take_along_axis(a, np.argmax(a, 1, keepdims=True), 1), (x,)),
        U("take_along_broadcast", lambda a: st.take_along_axis(a, idx, 1),
          lambda a: np.take_along_axis(a, idx, 1), (x,)),
        U("take_along_none", lambda a: st.take_along_axis(a, np.array([5, -1, 0]), None),
          lambda a: np.take_along_axis(a, np.array([5, -1, 0]), None), (x,)),
        U("put_along_axis", lambda a, v: st.put_along_axis(a, idx, v, 0),
          lambda a, v: _np_put(a, idx, v, 0), (x, np.float64(7.5))),
        U("put_along_axis_dupes", lambda a, v: st.put_along_axis(a, np.array([[0, 2, 0]]).T, v, 0),
          lambda a, v: _np_put(a, np.array([[0, 2, 0]]).T, v, 0), (x, x[:, :1] * 3)),
        U("flip", st.flip, np.flip, (z,)),
        U("flip_axis", lambda a: st.flip(a, (0, 2)), lambda a: np.flip(a, (0, 2)), (z,)),
    ]


def _np_put(a, idx, v, axis):
    out = np.array(a, copy=True)
    np.put_along_axis(out, idx, v, axis)
    return out


def array_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1616)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    v = rng.standard_normal(5)
    i64 = rng.integers(-5, 6, (4,))
    return [
        U("ravel", st.ravel, np.ravel, (z,)),
        U("ravel_T", lambda a: st.ravel(a.T), lambda a: np.ravel(a.T), (x,)),
        U("repeat_flat", lambda a: st.repeat(a, 2), lambda a: np.repeat(a, 2), (x,)),
        U("repeat_axis", lambda a: st.repeat(a, 3, axis=1), lambda a: np.repeat(a, 3, axis=1), (z,)),
        U("repeat_counts", lambda a: st.repeat(a, [1, 0, 2], axis=0),
          lambda a: np.repeat(a, [1, 0, 2], axis=0), (x,)),
        U("tile", lambda a: st.tile(a, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), (x,)),
        U("tile_int", lambda a: st.tile(a, 3), lambda a: np.tile(a, 3), (v,)),
        U("split", lambda a: st.stack(st.split(a, 2, axis=1)), lambda a: np.stack(np.split(a, 2, 1)),
          (x,)),
        U("array_split_uneven", lambda a: st.concatenate(st.array_split(a, 3)[1:] * 2),
          lambda a: np.concatenate(np.array_split(a, 3)[1:] * 2), (v,)),
        U("split_points", lambda a: st.split(a, [1, 3], axis=2)[1] * 2,
          lambda a: np.split(a, [1, 3], axis=2)[1] * 2, (z,)),
        U("hsplit_vsplit_dsplit", lambda a: st.concatenate(
            [st.ravel(p) * (k + 1) for k, p in enumerate(st.hsplit(a, 3) + st.vsplit(a, [1]) +
                                                         st.dsplit(a, 2))]),
          lambda a: np.concatenate(
            [np.ravel(p) * (k + 1) for k, p in enumerate(np.hsplit(a, 3) + np.vsplit(a, [1]) +
                                                         np.dsplit(a, 2))]), (z,)),
        U("hstack", lambda a, b: st.hstack([a, b, a]), lambda a, b: np.hstack([a, b, a]),
          (x, x[:, :2])),
        U("hstack_1d", lambda a: st.hstack((a, a[:2])), lambda a: np.hstack((a, a[:2])), (v,)),
        U("vstack", lambda a, b: st.vstack([a, b]), lambda a, b: np.vstack([a, b]), (x[0], x)),
        U("dstack", lambda a, b: st.dstack([a, b]), lambda a, b: np.dstack([a, b]), (x, x * 2)),
        U("column_stack", lambda a, b: st.column_stack([a, b]),
          lambda a, b: np.column_stack([a, b]), (x[:, 0], x)),
        U("moveaxis", lambda a: st.moveaxis(a, 0, -1), lambda a: np.moveaxis(a, 0, -1), (z,)),
        U("moveaxis_many", lambda a: st.moveaxis(a, [0, 1], [-1, -2]),
          lambda a: np.moveaxis(a, [0, 1], [-1, -2]), (z,)),
        U("rollaxis", lambda a: st.rollaxis(a, 2, 1), lambda a: np.rollaxis(a, 2, 1), (z,)),
        U("roll_flat", lambda a: st.roll(a, 5), lambda a: np.roll(a, 5), (x,)),
        U("roll_axes", lambda a: st.roll(a, (1, -2), axis=(0, 2)),
          lambda a: np.roll(a, (1, -2), axis=(0, 2)), (z,)),
        U("roll_staged_shift", lambda a, s: st.roll(a, s, axis=1),
          lambda a, s: np.roll(a, s, axis=1), (x, np.int64(-3))),
        U("flipud_fliplr", lambda a: st.flipud(a) * st.fliplr(a), lambda a: np.flipud(a) * np.fliplr(a),
          (x,)),
        U("rot90", lambda a: st.rot90(a), lambda a: np.rot90(a), (x,)),
        U("rot90_k", lambda a: st.stack([st.rot90(a, k, (1, 2)) for k in (2, 3, -1)]),
          lambda a: np.stack([np.rot90(a, k, (1, 2)) for k in (2, 3, -1)]), (z[:, :3, :3],)),
        U("atleast", lambda a, s: st.atleast_3d(a)[..., 0] + st.atleast_2d(s) + st.atleast_1d(s),
          lambda a, s: np.atleast_3d(a)[..., 0] + np.atleast_2d(s) + np.atleast_1d(s),
          (x, np.float64(0.5))),
        U("atleast_3d_1d", lambda a: st.atleast_3d(a), lambda a: np.atleast_3d(a), (v,)),
        U("append", lambda a, b: st.append(a, b), lambda a, b: np.append(a, b), (x, v)),
        U("append_axis", lambda a, b: st.append(a, b, axis=0), lambda a, b: np.append(a, b, axis=0),
          (x, x[:1])),
        U("broadcast_arrays", lambda a, b: st.stack(st.broadcast_arrays(a, b)),
          lambda a, b: np.stack(np.broadcast_arrays(a, b)), (x[:, :1], x[0])),
        U("swapaxes_names", lambda a: st.swapaxes(a, axis1=0, axis2=2),
          lambda a: np.swapaxes(a, axis1=0, axis2=2), (z,)),
        U("pad_constant", lambda a: st.pad(a, ((1, 2), (0, 1)), constant_values=-1.5),
          lambda a: np.pad(a, ((1, 2), (0, 1)), constant_values=-1.5), (x,)),
        U("pad_edge", lambda a: st.pad(a, 2, mode="edge"), lambda a: np.pad(a, 2, mode="edge"), (x,)),
        U("pad_reflect", lambda a: st.pad(a, (1, 3), mode="reflect"),
          lambda a: np.pad(a, (1, 3), mode="reflect"), (x,)),
        U("pad_reflect_wide", lambda a: st.pad(a, (6, 9), "reflect"),
          lambda a: np.pad(a, (6, 9), "reflect"), (v,)),
        U("pad_symmetric", lambda a: st.pad(a, ((0, 0), (2, 1), (3, 0)), mode="symmetric"),
          lambda a: np.pad(a, ((0, 0), (2, 1), (3, 0)), mode="symmetric"), (z,)),
        U("pad_wrap", lambda a: st.pad(a, ((2, 1), (5, 3)), mode="wrap"),
          lambda a: np.pad(a, ((2, 1), (5, 3)), mode="wrap"), (x,)),
        U("pad_int", lambda a: st.pad(a, 1, "edge"), lambda a: np.pad(a, 1, "edge"), (i64,)),
    ]


def creation_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1717)
    x = rng.standard_normal((3, 4))
    s = np.float64(0.75)
    s32 = np.float32(1.25)
    k = np.int64(3)
    return [
        U("array_nested", lambda a, b: st.array([[a, 1.0], [2.0, b]]),
          lambda a, b: np.array([[a, 1.0], [2.0, b]]), (s, np.float64(-2.0))),
        U("array_rows", lambda a: st.array([a[0], a[1] * 2, [1, 2, 3, 4]]),
          lambda a: np.array([a[0], a[1] * 2, [1, 2, 3, 4]]), (x,)),
        U("array_promotes_like_numpy", lambda a: st.array([a, 2.0]),
          lambda a: np.array([a, 2.0]), (s32,)),
        U("array_int", lambda a: st.array([a, 2, a * 3]), lambda a: np.array([a, 2, a * 3]), (k,)),
        U("array_dtype", lambda a: st.array([a, 2], dtype=np.float32),
          lambda a: np.array([a, 2], dtype=np.float32), (s,)),
        U("asarray_list", lambda a: st.asarray([[a, a], [a, 0.0]]) * a,
          lambda a: np.asarray([[a, a], [a, 0.0]]) * a, (s,)),
        U("stack_nested", lambda a: st.stack([[a, 1.0], [a * a, 2.0]]),
          lambda a: np.stack([[a, 1.0], [a * a, 2.0]]), (s,)),
        U("arange", lambda a: st.arange(5) * a, lambda a: np.arange(5) * a, (s,)),
        U("arange_float", lambda a: st.arange(0.5, 3.0, 0.25) + a,
          lambda a: np.arange(0.5, 3.0, 0.25) + a, (s,)),
        U("arange_int", lambda a: st.arange(2, 11, 3) + a, lambda a: np.arange(2, 11, 3) + a, (k,)),
        U("linspace", lambda a, b: st.linspace(a, b, 7), lambda a, b: np.linspace(a, b, 7),
          (s, np.float64(3.5))),
        U("linspace_noend_step", lambda a, b: st.stack(st.linspace(a, b, 4, endpoint=False,
                                                                   retstep=True)[:1]),
          lambda a, b: np.stack(np.linspace(a, b, 4, endpoint=False, retstep=True)[:1]),
          (s, np.float64(3.5))),
        U("linspace_arrays_axis", lambda a, b: st.linspace(a, b, 5, axis=-1),
          lambda a, b: np.linspace(a, b, 5, axis=-1), (x[0], x[1])),
        U("linspace_static", lambda a: st.linspace(0, 1, 5) * a, lambda a: np.linspace(0, 1, 5) * a,
          (s,)),
        U("logspace", lambda a: st.logspace(0, a, 4), lambda a: np.logspace(0, a, 4), (s,)),
        U("eye", lambda a: st.eye(3, 4, 1) * a, lambda a: np.eye(3, 4, 1) * a, (s,)),
        U("eye_dtype", lambda a: st.eye(3, dtype="int64") + a, lambda a: np.eye(3, dtype=np.int64) + a,
          (k,)),
        U("identity", lambda a: st.identity(4) @ a, lambda a: np.identity(4) @ a, (x.T,)),
        U("tri", lambda a: st.tri(3, 5, -1) * a, lambda a: np.tri(3, 5, -1) * a, (s,)),
        U("tril_triu", lambda a: st.tril(a) + st.triu(a, 2) * 3, lambda a: np.tril(a) + np.triu(a, 2) * 3,
          (x,)),
        U("tril_batch", lambda a: st.tril(a, -1), lambda a: np.tril(a, -1),
          (rng.standard_normal((2, 3, 3)),)),
        U("empty_like_zeros", lambda a: st.empty_like(a) * 0 + a, lambda a: a * 1, (x,)),
        U("copy", lambda a: st.copy(a) * 2, lambda a: np.copy(a) * 2, (x,)),
    ]


def selection_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1818)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((5, 6, 7))
    mask = np.array([True, False, True])
    mask2 = x > 0
    return [
        U("select", lambda a: st.select([a < -0.5, a > 0.5], [a * 2, a ** 2], 0.1),
          lambda a: np.select([a < -0.5, a > 0.5], [a * 2, a ** 2], 0.1), (x,)),
        U("select_first_wins", lambda a: st.select([a > 0, a > -1], [a, -a]),
          lambda a: np.select([a > 0, a > -1], [a, -a]), (x,)),
        U("where_one_arg_static", lambda a: a[st.where(mask2)], lambda a: a[np.where(mask2)], (x,)),
        U("nonzero_static", lambda a: a[st.nonzero(mask)], lambda a: a[np.nonzero(mask)], (x,)),
        U("argwhere_flatnonzero", lambda a: st.take(a, st.flatnonzero(mask2)) + st.sum(st.argwhere(mask2)),
          lambda a: np.take(a, np.flatnonzero(mask2)) + np.sum(np.argwhere(mask2)), (x,)),
        U("compress", lambda a: st.compress([True, False, True, True], a, axis=1),
          lambda a: np.compress([True, False, True, True], a, axis=1), (x,)),
        U("index_static_mask", lambda a: a[mask], lambda a: a[mask], (x,)),
        U("index_static_mask_2d", lambda a: a[mask2], lambda a: a[mask2], (x,)),
        U("index_mixed_separated", lambda a: a[3, 2:, [1, 3]], lambda a: a[3, 2:, [1, 3]], (y,)),
        U("index_mixed_adjacent", lambda a: a[:, [0, 1], [2, 3]], lambda a: a[:, [0, 1], [2, 3]], (y,)),
        U("index_mixed_broadcast", lambda a: a[[[0], [2]], :, [1, 5, 6]],
          lambda a: a[[[0], [2]], :, [1, 5, 6]], (y,)),
        U("index_mixed_none_ellipsis", lambda a: a[None, ..., [1, -1]],
          lambda a: a[None, ..., [1, -1]], (y,)),
        U("index_staged_arrays", lambda a, i, j: a[i, 1:3, j], lambda a, i, j: a[i, 1:3, j],
          (y, np.array([0, -1, 2]), np.array([[6], [-7]]))),
        U("index_staged_int_and_array", lambda a, i, j: a[i, :, j], lambda a, i, j: a[i, :, j],
          (y, np.int64(-2), np.array([1, 3, 3]))),
        U("index_mask_and_slice", lambda a: a[1:, mask2[0]], lambda a: a[1:, mask2[0]], (x,)),
    ]


def lapack_cases(T):
    C, f = T.C, T.f
    wc = {"well_conditioned": True}
    out = []
    for n, batch in ((3, ()), (1, ()), (2, (2,)), (4, (2, 1)), (0, ())):
        sq = f(*batch, n, n)
        out += [C("inv", sq), C("det", sq), C("slogdet", sq),
                C("solve", sq, f(*batch, n, 2, dom={})),
                C("cholesky", T.Arg(batch + (n, n), T.F, dom={"spd": True}), fd=False)]
    out += [C("solve", f(5, 5), f(5, 7, dom={}), o3=True), C("inv", f(6, 6), o3=True),
            C("det", f(3, 3, view="T")), C("inv", f(3, 3, view="T"))]
    return out


def linalg_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1919)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((4, 5))
    z = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((3, 4, 2))
    v = rng.standard_normal(4)
    m = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    mb = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    i32 = rng.integers(-4, 5, (3, 4)).astype(np.int32)
    i64 = rng.integers(-4, 5, (4, 2))
    s = np.float64(1.5)
    return [
        U("dot_scalar", st.dot, np.dot, (s, x)),
        U("dot_matrix", st.dot, np.dot, (x, y)),
        U("dot_nd_1d", st.dot, np.dot, (z, v)),
        U("dot_1d_nd", st.dot, np.dot, (x[0], w)),
        U("dot_nd_nd", st.dot, np.dot, (z, w)),
        U("dot_int", st.dot, np.dot, (i32, i64)),
        U("dot_int_float", st.dot, np.dot, (i32, y)),
        U("vdot", st.vdot, np.vdot, (x, x * 2)),
        U("inner", st.inner, np.inner, (z, x)),
        U("inner_1d", st.inner, np.inner, (v, v * 3)),
        U("outer_flattens", st.outer, np.outer, (x, v)),
        U("outer_int", st.outer, np.outer, (i64, i32[0])),
        U("tensordot_default", st.tensordot, np.tensordot, (z, w)),
        U("tensordot_int_axes", lambda a, b: st.tensordot(a, b, 1), lambda a, b: np.tensordot(a, b, 1),
          (x, y)),
        U("tensordot_lists", lambda a, b: st.tensordot(a, b, ([1, 2], [0, 1])),
          lambda a, b: np.tensordot(a, b, ([1, 2], [0, 1])), (z, w)),
        U("tensordot_zero", lambda a, b: st.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
          (v, x[0])),
        U("matmul_int", st.matmul, np.matmul, (i32, i64)),
        U("matmul_int_vec", lambda a: a @ np.array([1, 2, 3, 4], np.int32),
          lambda a: a @ np.array([1, 2, 3, 4], np.int32), (i32,)),
        U("einsum_matmul", lambda a, b: st.einsum("ij,jk->ik", a, b),
          lambda a, b: np.einsum("ij,jk->ik", a, b), (x, y)),
        U("einsum_implicit", lambda a, b: st.einsum("ij,jk", a, b),
          lambda a, b: np.einsum("ij,jk", a, b), (x, y)),
        U("einsum_batch", lambda a, b: st.einsum("bij,bjk->bki", a, b),
          lambda a, b: np.einsum("bij,bjk->bki", a, b), (z, rng.standard_normal((2, 4, 3)))),
        U("einsum_trace_diag", lambda a: st.einsum("ii", a) + st.sum(st.einsum("ii->i", a)),
          lambda a: np.einsum("ii", a) + np.sum(np.einsum("ii->i", a)), (m,)),
        U("einsum_transpose_sum", lambda a: st.einsum("ijk->kj", a), lambda a: np.einsum("ijk->kj", a),
          (z,)),
        U("einsum_outer", lambda a, b: st.einsum("i,j->ij", a, b),
          lambda a, b: np.einsum("i,j->ij", a, b), (v, x[0])),
        U("einsum_three", lambda a, b, c: st.einsum("ij,jk,k->i", a, b, c),
          lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), (x, y, y[0])),
        U("einsum_hadamard", lambda a, b: st.einsum("ij,ij->ij", a, b),
          lambda a, b: np.einsum("ij,ij->ij", a, b), (x, x * 2)),
        U("einsum_ellipsis", lambda a, b: st.einsum("...ij,jk->...ik", a, b),
          lambda a, b: np.einsum("...ij,jk->...ik", a, b), (z, y)),
        U("einsum_ellipsis_broadcast", lambda a, b: st.einsum("...ij,...jk", a, b),
          lambda a, b: np.einsum("...ij,...jk", a, b), (mb, m[None])),
        U("einsum_repeated_across", lambda a: st.einsum("i,i,i->", a, a, a),
          lambda a: np.einsum("i,i,i->", a, a, a), (v,)),
        U("einsum_bilinear", lambda a, b, c: st.einsum("bi,ij,bj->b", a, b, c),
          lambda a, b, c: np.einsum("bi,ij,bj->b", a, b, c), (x, rng.standard_normal((4, 4)), x)),
        U("einsum_int", lambda a, b: st.einsum("ij,jk->ik", a, b),
          lambda a, b: np.einsum("ij,jk->ik", a, b), (i32, i64.astype(np.int32))),
        U("kron", st.kron, np.kron, (x[:2, :2], m)),
        U("kron_1d_2d", st.kron, np.kron, (v, x)),
        U("cross", st.cross, np.cross, (x[:, :3], x[:, 1:])),
        U("cross_2d", st.cross, np.cross, (x[:, :2], x[:, 2:])),
        U("cross_axis", lambda a, b: st.cross(a, b, axis=0), lambda a, b: np.cross(a, b, axis=0),
          (x, x * 2 + 1)),
        U("diag_vector", lambda a: st.diag(a, 1) + st.diag(a, -1) * 2 + st.pad(st.diag(a), (0, 1)),
          lambda a: np.diag(a, 1) + np.diag(a, -1) * 2 + np.pad(np.diag(a), (0, 1)), (v,)),
        U("diag_matrix", lambda a: st.diag(a, -1), lambda a: np.diag(a, -1), (x,)),
        U("diagflat", st.diagflat, np.diagflat, (x[:2],)),
        U("norm_default", st.linalg.norm, np.linalg.norm, (z,)),
        U("norm_vector_orders", lambda a: st.stack([st.linalg.norm(a, o) for o in
                                                    (1, 2, 3, np.inf, -np.inf, 0.5)]),
          lambda a: np.stack([np.linalg.norm(a, o) for o in (1, 2, 3, np.inf, -np.inf, 0.5)]), (v,)),
        U("norm_axis_keepdims", lambda a: st.linalg.norm(a, axis=-1, keepdims=True),
          lambda a: np.linalg.norm(a, axis=-1, keepdims=True), (z,)),
        U("norm_matrix_orders", lambda a: st.stack([st.linalg.norm(a, o) for o in
                                                    ("fro", 1, -1, np.inf, -np.inf)]),
          lambda a: np.stack([np.linalg.norm(a, o) for o in ("fro", 1, -1, np.inf, -np.inf)]), (x,)),
        U("norm_matrix_axes", lambda a: st.linalg.norm(a, 1, axis=(2, 0)),
          lambda a: np.linalg.norm(a, 1, axis=(2, 0)), (z,)),
        U("norm_of_zero_grad", lambda a: st.linalg.norm(a * 0.0) + st.sum(a),
          lambda a: np.linalg.norm(a * 0.0) + np.sum(a), (x,)),
        U("inv", st.linalg.inv, np.linalg.inv, (m,)),
        U("inv_batch", st.linalg.inv, np.linalg.inv, (mb,)),
        U("solve_vector", st.linalg.solve, np.linalg.solve, (m, v[:3])),
        U("solve_batch_broadcast", st.linalg.solve, np.linalg.solve, (mb, x[:, :2])),
        U("det", st.linalg.det, np.linalg.det, (m,)),
        U("det_batch", st.linalg.det, np.linalg.det, (mb,)),
        U("slogdet", lambda a: st.stack(st.linalg.slogdet(a)), lambda a: np.stack(np.linalg.slogdet(a)),
          (mb * np.array([1.0, -1.0])[:, None, None],)),
        U("cholesky_symmetrized", lambda a: st.linalg.cholesky(a @ a.T + 3 * st.eye(3)),
          lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3)), (m,)),
        U("cholesky_upper", lambda a: st.linalg.cholesky(a @ a.T + 3 * st.eye(3), upper=True),
          lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3), upper=True), (m,)),
        U("inv_f32", st.linalg.inv, np.linalg.inv, (m.astype(np.float32),)),
    ]
