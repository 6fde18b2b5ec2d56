"""Activation modules, as `torch.nn`'s: the same names, arguments and defaults (their functional
forms are in `activations.py`, re-exported by `stage.nn.functional`).

`inplace` is accepted for PyTorch's signatures and has no effect: staged values are not mutated,
and the generated code reuses buffers by itself.
"""
from __future__ import annotations

from . import activations as A
from .module import Module


class GELU(Module):
    """Gaussian error linear unit, as `torch.nn.GELU`: x Phi(x) (exact, with erf) or its tanh
    approximation.

    Parameters
    ----------
    approximate : {"none", "tanh"}, default "none"
        "tanh": 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x) (swish), as `torch.nn.SiLU`.

    Parameters
    ----------
    inplace : bool, default False
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, x):
        return A.silu(x)


class Mish(SiLU):
    """x tanh(softplus(x)), as `torch.nn.Mish`.

    Parameters
    ----------
    inplace : bool, default False
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def forward(self, x):
        return A.mish(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope x, as `torch.nn.LeakyReLU`.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope for negative inputs.
    inplace : bool, default False
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return A.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha (exp(x) - 1), as `torch.nn.ELU`.

    Parameters
    ----------
    alpha : float, default 1.0
        The negative saturation value is -alpha.
    inplace : bool, default False
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return A.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above `threshold`, as `torch.nn.Softplus`.

    Parameters
    ----------
    beta : float, default 1.0
        The sharpness.
    threshold : float, default 20.0
        Where beta x exceeds it, the output is x.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val], as `torch.nn.Hardtanh`.

    Parameters
    ----------
    min_val : float, default -1.0
        The lower bound.
    max_val : float, default 1.0
        The upper bound.
    inplace : bool, default False
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if max_val < min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must not be below min_val ({min_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return A.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Identity(Module):
    """Returns its input, as `torch.nn.Identity` (a placeholder, e.g. for a removed layer).

    Parameters
    ----------
    *args, **kwargs
        Accepted and ignored, as PyTorch does.

    Shape
    -----
    - Input: any. Output: the input itself.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
