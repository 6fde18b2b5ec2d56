"""GELU as one elementwise op, and its derivative as another.

Written as a composite (0.5 x (1 + tanh(c (x + a x^3))) or 0.5 x (1 + erf(x / sqrt 2))), GELU's
backward pass keeps half a dozen intermediates of the activation's size for every layer (a GPT
block's MLP: six arrays of batch x context x 4 width) and reads them back from memory; as ops, the
backward keeps only x and computes `gelu_grad(x, g) = g gelu'(x)` in one fused loop. Second
derivatives are the composite formulas below. `approximate` is "none" (x Phi(x)) or "tanh" (GPT-2's
form), PyTorch's names.
"""
import math

import numpy as np

from . import OpDef, _ew_infer
from .ufuncs import _vectorized
from .. import functions as F

_C = math.sqrt(2.0 / math.pi)       # the tanh form: 0.5 x (1 + tanh(_C (x + _A x^3)))
_A = 0.044715
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf = _vectorized(math.erf)
MODES = ("none", "tanh")


def _infer(name):
    base = _ew_infer(name, True)

    def infer(ts, approximate):
        if approximate not in MODES:
            raise ValueError(f"{name}: approximate must be 'none' or 'tanh', got {approximate!r}")
        return base(ts)
    return infer


def _ref(x, approximate):
    x64 = np.asarray(x, np.float64)
    if approximate == "tanh":
        y = 0.5 * x64 * (1 + np.tanh(_C * (x64 + _A * x64 ** 3)))
    else:
        y = 0.5 * x64 * (1 + _erf(x64 * _INV_SQRT2))
    return y.astype(x.dtype)


def _slope_ref(x64, approximate):
    if approximate == "tanh":
        t = np.tanh(_C * (x64 + _A * x64 ** 3))
        return 0.5 * (1 + t) + 0.5 * x64 * (1 - t * t) * _C * (1 + 3 * _A * x64 * x64)
    return 0.5 * (1 + _erf(x64 * _INV_SQRT2)) + x64 * np.exp(-0.5 * x64 * x64) * _INV_SQRT_2PI


def _grad_ref(x, g, approximate):
    return (np.asarray(g, np.float64) * _slope_ref(np.asarray(x, np.float64), approximate)
            ).astype(x.dtype)


# -- gradient rules (staged code) ---------------------------------------------------------------------

def _slope(x, approximate):
    """gelu'(x) as staged code (the second-order rules need it apart from g)."""
    if approximate == "tanh":
        t = F.tanh(_C * (x + _A * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_C * (1 + 3 * _A * x * x))
    return 0.5 * (1 + F.erf(x * _INV_SQRT2)) + x * F.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _curvature(x, approximate):
    """gelu''(x): exact phi(x) (2 - x^2); tanh form (1 - t^2) (u' - x t u'^2 + 3 a c x^2) with
    u = c (x + a x^3), t = tanh(u)."""
    if approximate == "tanh":
        t = F.tanh(_C * (x + _A * x * x * x))
        du = _C * (1 + 3 * _A * x * x)
        return (1 - t * t) * (du - x * t * du * du + 3 * _A * _C * x * x)
    return F.exp(-0.5 * x * x) * _INV_SQRT_2PI * (2 - x * x)


def _grad(g, out, x, approximate):
    return (F.apply("gelu_grad", x, g, approximate=approximate),)


def _grad_grad(G, out, x, g, approximate):
    return G * g * _curvature(x, approximate), G * _slope(x, approximate)


OpDef("gelu", _infer("gelu"), _ref, "elementwise", _grad, nargs=1,
      domain={"params": {"approximate": "tanh"}})
OpDef("gelu_grad", _infer("gelu_grad"), _grad_ref, "elementwise", _grad_grad, nargs=2,
      domain={"params": {"approximate": "tanh"}})
