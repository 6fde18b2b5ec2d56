"""Parameter initialisation as PyTorch documents it, drawn from a seeded NumPy generator.

`manual_seed(n)` reseeds the module-level generator every layer draws from by default; a layer's
`seed=` argument gives it a generator of its own. Arrays are float32 unless a dtype is given.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

_GEN = {"rng": np.random.default_rng(0)}


def manual_seed(seed: int):
    """Reseed the generator that layers created without `seed=` draw their initial weights from."""
    _GEN["rng"] = np.random.default_rng(seed)


def generator(seed: Optional[int] = None) -> np.random.Generator:
    return _GEN["rng"] if seed is None else np.random.default_rng(seed)


def uniform(rng, shape, bound, dtype="float32"):
    """U(-bound, bound)."""
    return rng.uniform(-bound, bound, shape).astype(dtype)


def normal(rng, shape, std=1.0, dtype="float32"):
    return (rng.standard_normal(shape) * std).astype(dtype)


def fan_in(shape) -> int:
    """Inputs per output unit: shape[1] times the receptive field (PyTorch's convention)."""
    return int(shape[1] * np.prod(shape[2:], dtype=np.int64)) if len(shape) > 1 else int(shape[0])


def kaiming_uniform(rng, shape, a=math.sqrt(5), dtype="float32"):
    """PyTorch's default for Linear and Conv weights: bound = sqrt(6 / ((1 + a^2) fan_in)), which
    with a = sqrt(5) is 1 / sqrt(fan_in)."""
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in(shape)))
    return uniform(rng, shape, bound, dtype)


def xavier_uniform(rng, shape, gain=1.0, dtype="float32"):
    fo = int(shape[0] * np.prod(shape[2:], dtype=np.int64))
    bound = gain * math.sqrt(6.0 / (fan_in(shape) + fo))
    return uniform(rng, shape, bound, dtype)
