"""Learning-rate schedules, as `torch.optim.lr_scheduler`: the same classes, arguments and
sequences (the same recurrences, so the values agree to the last bit with PyTorch's).

A scheduler writes ``group["lr"]`` of its optimizer's parameter groups (and, for `OneCycleLR`, the
momentum or Adam's beta1); the compiled training step reads them as runtime scalars on every
call, so a schedule never recompiles anything. Call ``scheduler.step()`` after each optimizer step
(or epoch), as in PyTorch.

Examples
--------
>>> import stage as st
>>> opt = st.optim.SGD(lr=0.1)
>>> sched = st.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for _ in range(5):
...     lrs.append(sched.get_last_lr()[0])
...     sched.step()
>>> lrs
[0.1, 0.1, 0.05, 0.05, 0.025]
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable, List, Sequence, Union

from .base import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "OneCycleLR", "LambdaLR"]


class LRScheduler:
    """Base class of the schedules: keeps `last_epoch` and the groups' initial learning rates, and
    sets each group's "lr" from `get_lr()` on every `step()`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose `param_groups` are scheduled.
    last_epoch : int, default -1
        The index of the last epoch (-1: start; the constructor takes the first step, so
        the learning rate of epoch 0 is set when it returns, as in PyTorch).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            f"st.optim optimizer")
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            if last_epoch == -1:
                g.setdefault("initial_lr", g["lr"])
            elif "initial_lr" not in g:
                raise KeyError("param 'initial_lr' is not specified in param_groups when "
                               "resuming a schedule (last_epoch != -1)")
        self.base_lrs: List[float] = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> List[float]:
        """The learning rate of each group for epoch `last_epoch` (subclasses define it)."""
        raise NotImplementedError

    def get_last_lr(self) -> List[float]:
        """The learning rates the last `step()` set, one per group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch (or step) and set every group's learning rate."""
        self._step_count += 1
        self.last_epoch += 1
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """The scheduler's state (everything but the optimizer and callables)."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("optimizer", "lr_lambdas") and not callable(v)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from `state_dict`.

        Parameters
        ----------
        state : dict
            As returned by `state_dict`.
        """
        self.__dict__.update(state)

    def _lrs(self):
        return [g["lr"] for g in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs, as
    `torch.optim.lr_scheduler.StepLR`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    step_size : int
        The period of the decay.
    gamma : float, default 0.1
        The factor.
    last_epoch : int, default -1
        The index of the last epoch.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by `gamma` at each milestone epoch, as
    `torch.optim.lr_scheduler.MultiStepLR`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    milestones : sequence of int
        The epochs (increasing; a repeated one applies gamma as often).
    gamma : float, default 0.1
        The factor.
    last_epoch : int, default -1
        The index of the last epoch.
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by `gamma` every epoch, as
    `torch.optim.lr_scheduler.ExponentialLR`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    gamma : float
        The factor.
    last_epoch : int, default -1
        The index of the last epoch.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial learning rate to `eta_min` over `T_max` epochs (then
    back up, periodically), as `torch.optim.lr_scheduler.CosineAnnealingLR`:
    eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    T_max : int
        The number of epochs of the half period.
    eta_min : float, default 0.0
        The smallest learning rate.
    last_epoch : int, default -1
        The index of the last epoch.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if self._step_count == 1 and t > 0:
            return [lo + (b - lo) * (1 + math.cos(t * math.pi / T)) / 2 for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, b in zip(self._lrs(), self.base_lrs)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) *
                (lr - lo) + lo for lr in self._lrs()]


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from `start_factor` to `end_factor` over `total_iters`
    epochs (a warm-up), as `torch.optim.lr_scheduler.LinearLR`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    start_factor : float, default 1/3
        The factor of the first epoch, in (0, 1].
    end_factor : float, default 1.0
        The factor from `total_iters` on, in [0, 1].
    total_iters : int, default 5
        The length of the ramp.
    last_epoch : int, default -1
        The index of the last epoch.

    Raises
    ------
    ValueError
        A factor outside its range.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, s, e = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * s for lr in self._lrs()]
        if t > self.total_iters:
            return self._lrs()
        return [lr * (1.0 + (e - s) / (self.total_iters * s + (t - 1) * (e - s)))
                for lr in self._lrs()]


class LambdaLR(LRScheduler):
    """The initial learning rate times a function of the epoch, as
    `torch.optim.lr_scheduler.LambdaLR`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    lr_lambda : callable or list of callable
        ``f(epoch) -> factor``, or one per parameter group.
    last_epoch : int, default -1
        The index of the last epoch.

    Raises
    ------
    ValueError
        A list of functions whose length is not the number of groups.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Union[Callable[[int], float],
                                                              List[Callable[[int], float]]],
                 last_epoch: int = -1):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas, got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [b * f(self.last_epoch) for f, b in zip(self.lr_lambdas, self.base_lrs)]


from .one_cycle import OneCycleLR  # noqa: E402  (its own module; re-exported here as PyTorch)
