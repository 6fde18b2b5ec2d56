"""matmul (BLAS), softmax and the losses (the other products are in `linalg`)."""
from __future__ import annotations

import numpy as np

from ..rep import Rep
from ..types import FLOATS
from .base import _axis, _common_dtype, _staging, apply, as_rep, as_value
from ..graph import StageTypeError
from .elementwise import square
from .reduce import mean, sum


def matmul(a, b):
    dt = _common_dtype(a, b)
    if dt not in FLOATS:
        return _int_matmul(as_value(a, dt), as_value(b, dt))
    if not _staging(a, b):
        return np.matmul(np.asarray(a, dt), np.asarray(b, dt))
    return apply("matmul", as_rep(a, dt), as_rep(b, dt))


def _int_matmul(a, b):
    """Integer (and bool) products stay exact in their dtype, as NumPy's: multiply and sum."""
    from .shape import expand_dims, reshape
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise StageTypeError("matmul: arguments must have at least one dimension")
    A = reshape(a, (1,) + np.shape(a)) if np.ndim(a) == 1 else a
    B = reshape(b, np.shape(b) + (1,)) if np.ndim(b) == 1 else b
    if np.shape(A)[-1] != np.shape(B)[-2]:
        raise StageTypeError(f"matmul: inner dimensions differ ({np.shape(A)[-1]} vs "
                             f"{np.shape(B)[-2]})")
    out = sum(expand_dims(A, -1) * expand_dims(B, -3), -2)
    if np.ndim(a) == 1:
        out = reshape(out, np.shape(out)[:-2] + np.shape(out)[-1:])
    if np.ndim(b) == 1:
        out = reshape(out, np.shape(out)[:-1])
    dt = a.dtype if isinstance(a, Rep) else a.dtype.name
    return out != 0 if dt == "bool" else out.astype(dt)      # (int32 sums in int64)


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
