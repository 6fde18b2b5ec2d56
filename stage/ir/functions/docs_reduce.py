"""Docstrings of logsumexp, the products, softmax and losses (see `docs.py`; the reductions with
NumPy's signatures are in `docs_stats.py`)."""
from __future__ import annotations

from typing import Dict


DOCS: Dict[str, str] = {}

DOCS["logsumexp"] = """log(sum(exp(x))) over `axis`, computed stably (the maximum subtracted
first), as `scipy.special.logsumexp`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int or tuple of int, optional
    The axes to reduce; default: all.
keepdims : bool, default False
    Keep the reduced axes with size 1.

Returns
-------
Rep
    Floating point. The gradient is `softmax(x)`.
"""

DOCS["softmax"] = """exp(x) / sum(exp(x)) along `axis`, computed stably, as
`torch.softmax` / `scipy.special.softmax`.

Parameters
----------
x : Rep or array_like
    The logits.
axis : int, default -1
    The axis normalised.

Returns
-------
Rep
    x's shape, floating point.
"""

DOCS["log_softmax"] = """log(softmax(x)) along `axis`, computed stably, as `torch.log_softmax`.

Parameters
----------
x : Rep or array_like
    The logits.
axis : int, default -1
    The axis normalised.

Returns
-------
Rep
    x's shape, floating point.
"""

DOCS["nll_loss"] = """Negative log-likelihood of integer class targets, as
`torch.nn.functional.nll_loss`.

Parameters
----------
log_probs : Rep or array_like
    (N, C) log-probabilities (e.g. from `log_softmax`).
target : Rep or array_like
    (N,) integer classes in [0, C).
reduction : {"mean", "sum", "none"}, default "mean"
    "mean" averages over the targets that are not ignored; "none" returns the (N,) losses.
ignore_index : int, default -100
    Targets with this value contribute nothing (and do not count in the mean).

Returns
-------
Rep
    A scalar, or (N,) with reduction="none".

Raises
------
IndexError
    At run time, a target outside [0, C) that is not `ignore_index`.
"""

DOCS["cross_entropy"] = """Softmax cross-entropy of logits and targets, as
`torch.nn.functional.cross_entropy`.

Parameters
----------
logits : Rep or array_like
    (N, C) unnormalised scores.
target : Rep or array_like
    (N,) integer classes in [0, C), or class probabilities of the logits' shape (floating).
reduction : {"mean", "sum", "none"}, default "mean"
    As in `nll_loss`.
ignore_index : int, default -100
    For integer targets: targets with this value contribute nothing.

Returns
-------
Rep
    A scalar, or (N,) with reduction="none". One fused op for integer targets (its gradient is
    ``softmax(logits) - one_hot(target)``).

Raises
------
StageTypeError
    Probability targets whose shape differs from the logits'.
IndexError
    At run time, an integer target outside [0, C) that is not `ignore_index`.

Examples
--------
>>> import numpy as np, stage as st
>>> float(st.cross_entropy(np.zeros((2, 4), np.float32), np.array([1, 3])))  # log(4)
1.3862943649291992
"""

DOCS["mse_loss"] = """Mean squared error, as `torch.nn.functional.mse_loss`.

Parameters
----------
input, target : Rep or array_like
    Broadcast together.
reduction : {"mean", "sum", "none"}, default "mean"
    How the squared differences are reduced.

Returns
-------
Rep
    A scalar, or the squared differences with reduction="none".
"""

