"""NumPy 2's result dtypes and shapes (NEP 50 promotion), checked for every NumPy-named function over
every supported dtype (pairs for binary functions): the staged result's type (traced, not compiled)
must be NumPy's, both when calling `st.<name>` and when calling `np.<name>` on staged values (the
dispatch protocols). Where NumPy raises, stage must raise while staging too. The one documented
differences: NumPy's float16 results (bools in float functions) are float64 in stage, which has no
float16 arithmetic, and its int8 results (arithmetic of bools) int64."""
import warnings

import numpy as np
import pytest

import stage as st
from stage.program import trace

DTYPES = ("float32", "float64", "int32", "int64", "bool")

UNARY = ["negative", "positive", "abs", "absolute", "fabs", "sign", "exp", "exp2", "expm1", "log",
         "log2", "log10", "log1p", "sqrt", "cbrt", "square", "reciprocal", "sin", "cos", "tan",
         "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
         "degrees", "radians", "deg2rad", "rad2deg", "floor", "ceil", "trunc", "rint", "round",
         "around", "fix", "isnan", "isinf", "isfinite", "signbit", "logical_not", "nan_to_num",
         "sum", "prod", "mean", "std", "var", "max", "min", "amax", "amin", "ptp", "argmax",
         "argmin", "all", "any", "count_nonzero", "median", "cumsum", "cumprod", "sort",
         "argsort", "ravel", "flip", "diff", "transpose", "squeeze", "copy", "atleast_2d",
         "average", "trace", "diagonal", "tril", "triu", "rot90", "fliplr", "flipud", "append_self",
         "stack_self", "concatenate_self", "outer_self", "dot_self", "matmul_self", "inner_self",
         "vdot_self", "kron_self", "einsum_trace", "tensordot_self", "repeat2", "tile2", "roll1",
         "pad1", "clip01", "cumsum0", "sum0", "mean1", "var_ddof", "quantile", "percentile",
         "zeros_like", "ones_like", "full_like", "take0", "where_self", "isclose_self", "nansum",
         "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd", "nancumsum", "nancumprod"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder",
          "mod", "power", "maximum", "minimum", "fmax", "fmin", "arctan2", "hypot", "copysign",
          "logaddexp", "logaddexp2", "heaviside", "less", "less_equal", "greater",
          "greater_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_xor",
          "matmul", "dot", "inner", "outer", "kron", "where_pair", "concatenate_pair",
          "stack_pair", "clip_pair", "select_pair", "isclose"]

# forms that are not a plain call f(x) / f(x, y): name -> (NumPy function, how to call it)
_FORMS = {
    "append_self": ("append", lambda f, x: f(x, x)),
    "stack_self": ("stack", lambda f, x: f([x, x])),
    "concatenate_self": ("concatenate", lambda f, x: f([x, x], 1)),
    "outer_self": ("outer", lambda f, x: f(x, x)),
    "dot_self": ("dot", lambda f, x: f(x, x.T)),
    "matmul_self": ("matmul", lambda f, x: f(x, x.T)),
    "inner_self": ("inner", lambda f, x: f(x, x)),
    "vdot_self": ("vdot", lambda f, x: f(x, x)),
    "kron_self": ("kron", lambda f, x: f(x, x)),
    "einsum_trace": ("einsum", lambda f, x: f("ij,kj->ik", x, x)),
    "tensordot_self": ("tensordot", lambda f, x: f(x, x, 2)),
    "repeat2": ("repeat", lambda f, x: f(x, 2, 1)),
    "tile2": ("tile", lambda f, x: f(x, (2, 1))),
    "roll1": ("roll", lambda f, x: f(x, 1, 0)),
    "pad1": ("pad", lambda f, x: f(x, 1, mode="edge")),
    "clip01": ("clip", lambda f, x: f(x, 0, 1)),
    "cumsum0": ("cumsum", lambda f, x: f(x, 0)),
    "sum0": ("sum", lambda f, x: f(x, 0, keepdims=True)),
    "mean1": ("mean", lambda f, x: f(x, 1)),
    "var_ddof": ("var", lambda f, x: f(x, 0, ddof=1)),
    "quantile": ("quantile", lambda f, x: f(x, 0.3, 1)),
    "percentile": ("percentile", lambda f, x: f(x, [20, 50])),
    "full_like": ("full_like", lambda f, x: f(x, 2)),
    "take0": ("take", lambda f, x: f(x, np.array([1, 0]), 0)),
    "where_self": ("where", lambda f, x: f(x > 1, x, 0)),
    "isclose_self": ("isclose", lambda f, x: f(x, x)),
    "where_pair": ("where", lambda f, x, y: f(x > 1, x, y)),
    "concatenate_pair": ("concatenate", lambda f, x, y: f([x, y[:, :2] * 1])),
    "stack_pair": ("stack", lambda f, x, y: f([x, y[:, :1] * np.ones((1, 3), dtype=bool)])),
    "clip_pair": ("clip", lambda f, x, y: f(x, y, 3)),
    "select_pair": ("select", lambda f, x, y: f([x > 1, y > 1], [x, y], 0)),
    "outer": ("outer", lambda f, x, y: f(x, y)),
    "dot": ("dot", lambda f, x, y: f(x, y.T)),
    "matmul": ("matmul", lambda f, x, y: f(x, y.T)),
    "inner": ("inner", lambda f, x, y: f(x, y)),
}
# dtypes stage does not compute in: NumPy's float16 results (bools in float functions) are the
# default float64 in stage, its int8 results (bool arithmetic) int64
NUMPY_ONLY_DTYPES = {"float16": "float64", "int8": "int64", "uint8": "int64", "int16": "int64"}


def _arrays(*dtypes):
    """Small positive values (valid for every function); the second operand broadcasts."""
    shapes = [(2, 3), (1, 3)]
    return [(np.arange(1, 1 + int(np.prod(s))).reshape(s) % 3 + 1).astype(d)
            for d, s in zip(dtypes, shapes)]


def _call(name, module, args):
    fname, form = _FORMS.get(name, (name, None))
    f = getattr(module, fname)
    return form(f, *args) if form else f(*args)


def _numpy_type(name, args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            r = np.asarray(_call(name, np, args))
        except Exception as e:               # noqa: BLE001
            return "error", type(e).__name__
    return r.dtype.name, r.shape


def _stage_type(name, module, args):
    def fn(*xs):
        return _call(name, module, xs)
    try:
        p = trace(fn, list(args))
    except Exception as e:                   # noqa: BLE001
        return "error", type(e).__name__
    t = p.block.result_types[0]
    return t.dtype, t.shape


def _expected(npt):
    if npt[0] in NUMPY_ONLY_DTYPES:          # no such dtype in stage
        return NUMPY_ONLY_DTYPES[npt[0]], npt[1]
    return npt


def _check(name, args, via):
    npt = _numpy_type(name, args)
    stt = _stage_type(name, st if via == "st" else np, args)
    if npt[0] == "error":
        assert stt[0] == "error", f"{via}.{name}{tuple(a.dtype.name for a in args)}: NumPy " \
                                  f"raises {npt[1]}, stage gives {stt}"
        return
    assert stt == _expected(npt), f"{via}.{name}{tuple(a.dtype.name for a in args)}: NumPy " \
                                  f"gives {npt}, stage {stt}"


@pytest.mark.parametrize("via", ["st", "np"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes_match_numpy(name, via):
    for d in DTYPES:
        _check(name, _arrays(d), via)


@pytest.mark.parametrize("via", ["st", "np"])
@pytest.mark.parametrize("name", BINARY)
def test_binary_dtypes_match_numpy(name, via):
    for d1 in DTYPES:
        for d2 in DTYPES:
            _check(name, _arrays(d1, d2), via)


@pytest.mark.parametrize("via", ["st", "np"])
@pytest.mark.parametrize("name", ["add", "multiply", "divide", "power", "maximum", "arctan2",
                                  "less", "floor_divide", "where_pair", "logaddexp"])
def test_python_scalars_are_weak_as_in_nep50(name, via):
    """A Python int or float next to an array takes the array's kind and precision (NEP 50)."""
    for d in DTYPES:
        (x,) = _arrays(d)
        for scalar in (2, 2.5, True):
            npt = _numpy_type(name, [x, scalar])
            stt = _stage_type(name, st if via == "st" else np, [x, scalar])
            if npt[0] == "error":
                assert stt[0] == "error", (name, d, scalar, stt)
            else:
                assert stt == _expected(npt), f"{via}.{name}({d}, {scalar!r}): NumPy {npt}, " \
                                              f"stage {stt}"
