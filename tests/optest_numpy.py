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
GROUPS = {op: "ufuncs" for op in UFUNC_OPS}


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
    }


def user_cases():
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
        U("rint_int", st.rint, np.rint, (i64,), dtype="float32"),
        U("floor_int_kept", st.floor, np.floor, (i32,)),
        U("ceil_int_kept", st.ceil, np.ceil, (i64,)),
        U("fix", st.fix, np.fix, (x * 3,)),
        U("fabs", st.fabs, np.fabs, (x,)),
        U("fabs_int", st.fabs, np.fabs, (i32,), dtype="float32"),
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
