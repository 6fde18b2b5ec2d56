"""Products (matmul, dot, outer), softmax and the losses."""
from __future__ import annotations

import numpy as np

from ..rep import Rep
from ..types import FLOATS
from .base import _axis, _common_dtype, _staging, apply, as_rep
from ..graph import StageTypeError
from .elementwise import square
from .reduce import mean, sum


def matmul(a, b):
    dt = _common_dtype(a, b, float_only=True)
    if not _staging(a, b):
        return np.matmul(np.asarray(a, dt), np.asarray(b, dt))
    return apply("matmul", as_rep(a, dt), as_rep(b, dt))



dot = matmul


def outer(a, b):
    """The outer product of two vectors (NumPy's np.outer for 1-d arguments)."""
    dt = _common_dtype(a, b, float_only=True)
    if not _staging(a, b):
        return np.outer(np.asarray(a, dt), np.asarray(b, dt))
    return apply("outer", as_rep(a, dt), as_rep(b, dt))


def softmax(x, axis=-1):
    x = as_rep(x, _common_dtype(x, float_only=True))
    return apply("softmax", x, axis=_axis(axis, x.ndim))


def log_softmax(x, axis=-1):
    x = as_rep(x, _common_dtype(x, float_only=True))
    return apply("log_softmax", x, axis=_axis(axis, x.ndim))


def nll_loss(log_probs, target, reduction="mean", ignore_index=-100):
    """Negative log-likelihood of integer class targets, as torch.nn.functional.nll_loss."""
    return apply("nll_loss", as_rep(log_probs), as_rep(target), reduction=reduction,
                 ignore_index=int(ignore_index))


def cross_entropy(logits, target, reduction="mean", ignore_index=-100):
    """Softmax cross-entropy, as torch.nn.functional.cross_entropy: integer class targets (N,), or
    class probabilities of the logits' shape."""
    target = as_rep(target) if _staging(logits, target) else np.asarray(target)
    if (target.dtype if isinstance(target, Rep) else target.dtype.name) in FLOATS:
        logp = log_softmax(logits, axis=-1)
        if target.shape != logp.shape:
            raise StageTypeError(f"cross_entropy: probability targets must have the logits' shape "
                                 f"({target.type} vs {logp.type})")
        per = -sum(target * logp, axis=-1)
        if reduction == "none":
            return per
        return sum(per) if reduction == "sum" else mean(per)
    logits = as_rep(logits, _common_dtype(logits, float_only=True)) if _staging(logits) else \
        np.asarray(logits)
    return apply("softmax_cross_entropy", logits, target, reduction=reduction,
                 ignore_index=int(ignore_index))


def mse_loss(input, target, reduction="mean"):
    d = square(input - target)
    return d if reduction == "none" else (sum(d) if reduction == "sum" else mean(d))
