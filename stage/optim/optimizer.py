"""Optimizers whose update runs inside the compiled step, with PyTorch's formulas (so the two
agree step by step): SGD (momentum, Nesterov), Adagrad, Adam, AdamW. The base class, parameter
groups and the runtime hyper-parameters are in `base.py`.

`update_one` is staged code: per parameter one elementwise chain, which codegen fuses into one loop
with the writes back into the parameter and state arrays.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..ir import functions as F
from .base import _COMMON, PARAMS_DOC, Optimizer, lr_or_params

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "AdamW"]


class SGD(Optimizer):
    __doc__ = """Stochastic gradient descent with optional momentum, as `torch.optim.SGD`.

    p -= lr * d, with d = g (+ weight_decay * p), or with momentum: buf = momentum * buf +
    (1 - dampening) * d (buf = d on the first step), d = buf (Nesterov: d + momentum * buf).

    Parameters
    ----------
    """ + PARAMS_DOC + """
    lr : float, default 0.01
        The learning rate (a runtime scalar: change it between steps freely).
    momentum : float, default 0.0
        The momentum factor (0: plain SGD, no state).
    dampening : float, default 0.0
        Dampening of the momentum.
    """ + _COMMON.format(wd="0.0", wd_doc="L2 penalty added to the gradient.") + """
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening 0).

    Raises
    ------
    ValueError
        Nesterov without momentum or with dampening.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> model = st.nn.Linear(3, 1, seed=0)
    >>> step = st.train_step(lambda x, y: st.nn.mse_loss(model(x), y), model,
    ...                      st.optim.SGD(lr=0.1, momentum=0.9), backend="interp")
    >>> x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    >>> float(step(x, y)) > float(step(x, y))
    True
    """

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 clip_norm: Optional[float] = None, clip_value: Optional[float] = None):
        params, lr = lr_or_params(params, lr)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov),
                         clip_norm, clip_value)

    def check_group(self, group):
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def slots_of(self, group):
        return ("momentum_buffer",) if group["momentum"] else ()

    def group_hyper(self, group):
        h = super().group_hyper(group)
        if group["momentum"]:
            # buf starts at zero, so "buf = d on the first step" is dampening 0 on that step
            h.update(momentum=group["momentum"],
                     dampening=group["dampening"] if self.steps else 0.0)
            if group["nesterov"]:
                h["nesterov"] = 1.0
        return h

    def update_one(self, p, g, s, h):
        d = self._decayed(p, g, h)
        if "momentum" not in h:
            return p - h["lr"] * d, {}
        buf = h["momentum"] * s["momentum_buffer"] + (1 - h["dampening"]) * d
        d = d + h["momentum"] * buf if "nesterov" in h else buf
        return p - h["lr"] * d, {"momentum_buffer": buf}


class Adagrad(Optimizer):
    __doc__ = """Adagrad, as `torch.optim.Adagrad`.

    sum += d^2; p -= clr * d / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lr_decay).

    Parameters
    ----------
    """ + PARAMS_DOC + """
    lr : float, default 0.01
        The learning rate.
    lr_decay : float, default 0.0
        Learning-rate decay per step.
    """ + _COMMON.format(wd="0.0", wd_doc="L2 penalty added to the gradient.") + """
    initial_accumulator_value : float, default 0.0
        The initial value of `sum`.
    eps : float, default 1e-10
        Added to the denominator.
    clip : float, optional
        The same as `clip_value`: clamp each gradient element to [-clip, clip] first (the
        paper's char-RNN setting, min-char-rnn's `np.clip(d, -5, 5)`).
    """
    slots = ("sum",)

    def __init__(self, params: Any = None, lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, clip: Optional[float] = None,
                 clip_norm: Optional[float] = None, clip_value: Optional[float] = None):
        params, lr = lr_or_params(params, lr)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps),
                         clip_norm, clip_value if clip is None else clip)

    def init_slot(self, slot, p, group=None):
        return np.full_like(p, (group or self.defaults)["initial_accumulator_value"])

    def group_hyper(self, group):
        h = super().group_hyper(group)
        h.update(clr=group["lr"] / (1 + self.steps * group["lr_decay"]), eps=group["eps"])
        return h

    def update_one(self, p, g, s, h):
        d = self._decayed(p, g, h)
        acc = s["sum"] + d * d
        return p - h["clr"] * d / (F.sqrt(acc) + h["eps"]), {"sum": acc}


_ADAM = """{name}, as `torch.optim.{name}`.

    m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). {decay}
    The bias corrections are computed in Python each step and passed as runtime scalars.

    Parameters
    ----------
    {params}
    lr : float, default 0.001
        The learning rate.
    betas : (float, float), default (0.9, 0.999)
        b1 and b2, the decay rates of the moment estimates (runtime values: `OneCycleLR` cycles
        b1).
    eps : float, default 1e-8
        Added to the denominator.
    """


class Adam(Optimizer):
    __doc__ = _ADAM.format(name="Adam", params=PARAMS_DOC, decay="Weight decay is added to the gradient (L2).") + \
        _COMMON.format(wd="0.0", wd_doc="L2 penalty added to the gradient.") + "\n"
    slots = ("exp_avg", "exp_avg_sq")
    decoupled = False

    def __init__(self, params: Any = None, lr: float = 0.001,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        params, lr = lr_or_params(params, lr)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay), clip_norm, clip_value)

    def group_hyper(self, group):
        b1, b2 = group["betas"]
        t = self.steps + 1
        h = {"lr": group["lr"], "b1": b1, "b2": b2, "eps": group["eps"],
             "step_size": group["lr"] / (1 - b1 ** t), "bc2_sqrt": np.sqrt(1 - b2 ** t)}
        if group["weight_decay"] and self.decoupled:
            h["decay"] = 1 - group["lr"] * group["weight_decay"]
        elif group["weight_decay"]:
            h["weight_decay"] = group["weight_decay"]
        return h

    def update_one(self, p, g, s, h):
        if self.decoupled:
            d = g
            if "decay" in h:
                p = p * h["decay"]
        else:
            d = self._decayed(p, g, h)
        m = h["b1"] * s["exp_avg"] + (1 - h["b1"]) * d
        v = h["b2"] * s["exp_avg_sq"] + (1 - h["b2"]) * (d * d)
        denom = F.sqrt(v) / h["bc2_sqrt"] + h["eps"]
        return p - h["step_size"] * m / denom, {"exp_avg": m, "exp_avg_sq": v}


class AdamW(Adam):
    __doc__ = _ADAM.format(name="AdamW", params=PARAMS_DOC, decay="Weight decay is decoupled: applied to the "
                           "parameter, p *= 1 - lr * weight_decay.") + \
        _COMMON.format(wd="0.01", wd_doc="Decoupled weight decay.") + "\n"
    decoupled = True

    def __init__(self, params: Any = None, lr: float = 0.001,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        super().__init__(params, lr, betas, eps, weight_decay, clip_norm, clip_value)
