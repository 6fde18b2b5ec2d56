"""The 1cycle learning-rate policy, as `torch.optim.lr_scheduler.OneCycleLR` (its own module to
keep `lr_scheduler` small; it is importable from there as in PyTorch)."""
from __future__ import annotations

import math
from typing import Optional

from .base import Optimizer
from .lr_scheduler import LRScheduler

__all__ = ["OneCycleLR"]


class OneCycleLR(LRScheduler):
    """The 1cycle policy, as `torch.optim.lr_scheduler.OneCycleLR`: the learning rate rises from
    max_lr / div_factor to `max_lr` over the first `pct_start` of the steps, then falls to
    max_lr / (div_factor final_div_factor); the momentum (SGD's, or Adam's beta1) moves the
    other way between `max_momentum` and `base_momentum`. Step it after every batch.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    max_lr : float or list of float
        The peak learning rate (per group).
    total_steps : int, optional
        The length of the cycle; or give `epochs` and `steps_per_epoch`.
    epochs : int, optional
        With `steps_per_epoch`: total_steps = epochs * steps_per_epoch.
    steps_per_epoch : int, optional
        See `epochs`.
    pct_start : float, default 0.3
        The fraction of the cycle spent increasing the learning rate.
    anneal_strategy : {"cos", "linear"}, default "cos"
        The shape of the ramps.
    cycle_momentum : bool, default True
        Cycle the momentum (or beta1) inversely to the learning rate.
    base_momentum : float or list of float, default 0.85
        The momentum at the peak learning rate.
    max_momentum : float or list of float, default 0.95
        The momentum at the start and end.
    div_factor : float, default 25.0
        initial_lr = max_lr / div_factor.
    final_div_factor : float, default 1e4
        min_lr = initial_lr / final_div_factor.
    three_phase : bool, default False
        A third phase annihilates the learning rate after a symmetric rise and fall.
    last_epoch : int, default -1
        The index of the last step.

    Raises
    ------
    ValueError
        No valid length, a `pct_start` outside [0, 1], an unknown strategy, a step past the end,
        or momentum cycling with an optimizer without momentum or betas.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        if total_steps is None:
            if not epochs or not steps_per_epoch or epochs <= 0 or steps_per_epoch <= 0:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be positive, got {total_steps}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, cycle_momentum
        p = pct_start * total_steps
        if three_phase:
            self.phases = [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * p - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                            "max_momentum")]
        else:
            self.phases = [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        per = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * len(groups)  # noqa: E731
        if last_epoch == -1:
            for g, lr in zip(groups, per(max_lr)):
                g["initial_lr"] = lr / div_factor
                g["max_lr"] = lr
                g["min_lr"] = g["initial_lr"] / final_div_factor
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            if not self.use_beta1 and "momentum" not in optimizer.defaults:
                raise ValueError("OneCycleLR: the optimizer must have a momentum or betas to "
                                 "cycle (cycle_momentum=True)")
            for g, lo, hi in zip(groups, per(base_momentum), per(max_momentum)):
                if last_epoch == -1:
                    self._set_momentum(g, hi)
                g["max_momentum"], g["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, g, m):
        if self.use_beta1:
            g["betas"] = (m, *g["betas"][1:])
        else:
            g["momentum"] = m

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times; total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if t <= end or i == len(self.phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(g[lr0], g[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(g, self._anneal(g[m0], g[m1], pct))
                    break
                start = end
        return lrs
