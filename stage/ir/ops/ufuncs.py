"""More of NumPy's elementwise functions: each one a function of the standard math library (so a
backend computes it exactly as libm does, fused into loops like every elementwise op). Functions
NumPy defines from these (logaddexp, degrees, heaviside, nan_to_num, round, ...) are composites in
`stage.ir.functions.ufuncs`."""
import math

import numpy as np

from . import NONDIFF, defbinary, defcompare, defunary
from .. import functions as F

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _vectorized(fn):
    """A NumPy reference from a scalar function of Python's math module (erf has no NumPy ufunc);
    glibc's, as the generated code's std::erf."""
    vec = np.vectorize(fn, otypes=[np.float64])

    def ref(x):
        x = np.asarray(x)
        return vec(x).astype(x.dtype) if x.size else np.empty(x.shape, x.dtype)
    return ref


# -- exponentials and logarithms ----------------------------------------------------------------------
defunary("log2", np.log2, lambda g, out, a: (g / (a * _LN2),), domain={"positive": True})
defunary("log10", np.log10, lambda g, out, a: (g / (a * _LN10),), domain={"positive": True})
defunary("exp2", np.exp2, lambda g, out, a: (g * out * _LN2,))
defunary("cbrt", np.cbrt, lambda g, out, a: (g / (3 * out * out),), domain={"away_from": 0.0})

# -- hyperbolic and inverse trigonometric functions ---------------------------------------------------
defunary("sinh", np.sinh, lambda g, out, a: (g * F.cosh(a),))
defunary("cosh", np.cosh, lambda g, out, a: (g * F.sinh(a),))
defunary("arcsin", np.arcsin, lambda g, out, a: (g / F.sqrt(1 - a * a),),
         domain={"uniform": (-0.9, 0.9)})
defunary("arccos", np.arccos, lambda g, out, a: (-g / F.sqrt(1 - a * a),),
         domain={"uniform": (-0.9, 0.9)})
defunary("arctan", np.arctan, lambda g, out, a: (g / (1 + a * a),))
defunary("arcsinh", np.arcsinh, lambda g, out, a: (g / F.sqrt(a * a + 1),))
defunary("arccosh", np.arccosh, lambda g, out, a: (g / F.sqrt(a * a - 1),),
         domain={"uniform": (1.2, 3.0)})
defunary("arctanh", np.arctanh, lambda g, out, a: (g / (1 - a * a),),
         domain={"uniform": (-0.9, 0.9)})


def _atan2_grad(g, out, y, x):
    r2 = x * x + y * y
    return g * x / r2, -g * y / r2


def _hypot_grad(g, out, a, b):
    # the subgradient 0 at the origin (where the norm has a kink), as PyTorch's
    nz = out > 0
    return F.where(nz, g * a / out, 0), F.where(nz, g * b / out, 0)


defbinary("arctan2", np.arctan2, _atan2_grad, float_only=True)
defbinary("hypot", np.hypot, _hypot_grad, float_only=True)

# -- error function (exact GELU) ----------------------------------------------------------------------
defunary("erf", _vectorized(math.erf), lambda g, out, a: (g * _TWO_OVER_SQRT_PI * F.exp(-a * a),))
defunary("erfc", _vectorized(math.erfc),
         lambda g, out, a: (-g * _TWO_OVER_SQRT_PI * F.exp(-a * a),))

# -- rounding (piecewise constant: no gradient) -------------------------------------------------------
defunary("ceil", np.ceil, NONDIFF)
defunary("trunc", np.trunc, NONDIFF)
defunary("rint", np.rint, NONDIFF)          # to nearest, ties to even (NumPy's round)

# -- sign manipulation, NaN-ignoring extrema ----------------------------------------------------------
defbinary("copysign", np.copysign,
          lambda g, out, a, b: (g * F.sign(a) * F.sign(out), None), float_only=True,
          domain={"away_from": 0.0})


def _nan_ignoring_grad(better):
    """fmax/fmin: the chosen operand takes the gradient (the other one when one is NaN); ties share
    it equally, as maximum's."""
    def grad(g, out, a, b):
        wins = F.logical_or(better(a, b), F.isnan(b))
        ga = F.where(wins, g, F.where(F.equal(a, b), g * 0.5, 0))
        return ga, g - ga
    return grad


defbinary("fmax", np.fmax, _nan_ignoring_grad(F.greater))
defbinary("fmin", np.fmin, _nan_ignoring_grad(F.less))

# -- classification (bool results, any dtype) ---------------------------------------------------------
defunary("isnan", np.isnan, NONDIFF, float_only=False, out_dtype="bool")
defunary("isinf", np.isinf, NONDIFF, float_only=False, out_dtype="bool")
defunary("isfinite", np.isfinite, NONDIFF, float_only=False, out_dtype="bool")
defunary("signbit", np.signbit, NONDIFF, float_only=False, out_dtype="bool")
defcompare("logical_xor", np.logical_xor)
