"""Gradient clipping, staged: applied to a dict of gradients inside the compiled step."""
from __future__ import annotations

from ..ir import functions as F


def global_norm(grads: dict):
    """sqrt of the sum of squares of every gradient (float32 or float64 scalar)."""
    return F.sqrt(sum(F.sum(F.square(g)) for g in grads.values()))


def clip_grad_norm(grads: dict, max_norm):
    """Scale all gradients by min(1, max_norm / (norm + 1e-6)), as torch's clip_grad_norm_."""
    norm = global_norm(grads)
    coef = F.minimum(max_norm / (norm + 1e-6), 1.0)
    return {k: g * F.astype(coef, g.dtype) for k, g in grads.items()}


def clip_grad_value(grads: dict, clip_value):
    """Clamp every element to [-clip_value, clip_value]."""
    return {k: F.clip(g, -clip_value, clip_value) for k, g in grads.items()}
