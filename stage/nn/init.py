"""Parameter initialisation as PyTorch documents it, drawn from a seeded NumPy generator.

`manual_seed(n)` reseeds the module-level generator every layer draws from by default; a layer's
`seed=` argument gives it a generator of its own. Arrays are float32 unless a dtype is given.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

_GEN = {"rng": np.random.default_rng(0)}


def manual_seed(seed: int) -> None:
    """Reseed the generator that layers created without `seed=` draw their initial weights from
    (as `torch.manual_seed` for initialisation; dropout has its own key, see `st.train_step`).

    Parameters
    ----------
    seed : int
        The seed of NumPy's default generator (PCG64). stage starts from seed 0.
    """
    _GEN["rng"] = np.random.default_rng(seed)


def generator(seed: Optional[int] = None) -> np.random.Generator:
    """The shared generator (`seed` None) or a new one seeded with `seed`."""
    return _GEN["rng"] if seed is None else np.random.default_rng(seed)


def uniform(rng: np.random.Generator, shape: Tuple[int, ...], bound: float,
            dtype: str = "float32") -> np.ndarray:
    """An array of `shape` drawn from U(-bound, bound) with `rng`, in `dtype`."""
    return rng.uniform(-bound, bound, shape).astype(dtype)


def normal(rng: np.random.Generator, shape: Tuple[int, ...], std: float = 1.0,
           dtype: str = "float32") -> np.ndarray:
    """An array of `shape` drawn from N(0, std^2) with `rng`, in `dtype`."""
    return (rng.standard_normal(shape) * std).astype(dtype)


def fan_in(shape: Tuple[int, ...]) -> int:
    """Inputs per output unit: shape[1] times the receptive field (PyTorch's convention)."""
    return int(shape[1] * np.prod(shape[2:], dtype=np.int64)) if len(shape) > 1 else int(shape[0])


def kaiming_uniform(rng: np.random.Generator, shape: Tuple[int, ...], a: float = math.sqrt(5),
                    dtype: str = "float32") -> np.ndarray:
    """PyTorch's default for Linear and Conv weights: bound = sqrt(6 / ((1 + a^2) fan_in)), which
    with a = sqrt(5) is 1 / sqrt(fan_in)."""
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in(shape)))
    return uniform(rng, shape, bound, dtype)


def xavier_uniform(rng: np.random.Generator, shape: Tuple[int, ...], gain: float = 1.0,
                   dtype: str = "float32") -> np.ndarray:
    """Glorot's U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)), as `torch.nn.init.xavier_uniform_`
    (returning a new array)."""
    fo = int(shape[0] * np.prod(shape[2:], dtype=np.int64))
    bound = gain * math.sqrt(6.0 / (fan_in(shape) + fo))
    return uniform(rng, shape, bound, dtype)


def xavier_normal(rng: np.random.Generator, shape: Tuple[int, ...], gain: float = 1.0,
                  dtype: str = "float32") -> np.ndarray:
    """Glorot's N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)), as
    `torch.nn.init.xavier_normal_` (returning a new array)."""
    fo = int(shape[0] * np.prod(shape[2:], dtype=np.int64))
    return normal(rng, shape, gain * math.sqrt(2.0 / (fan_in(shape) + fo)), dtype)
