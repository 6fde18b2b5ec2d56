"""Optimizers whose state lives in NumPy arrays and whose update runs inside the compiled step.

An optimizer owns `state` (parameter name -> {slot: array shaped like the parameter}) and turns its
hyper-parameters into runtime scalars (`hyper()`, evaluated on every call, so a learning-rate
schedule is just `opt.lr = ...`, with no recompilation). `update` is staged code: per parameter one
elementwise chain, which codegen fuses into one loop with the writes back into the parameter and
state arrays. Formulas follow PyTorch's implementations, so the two agree step by step.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..ir import functions as F
from .clip import clip_grad_norm, clip_grad_value


_COMMON = """weight_decay : float, default {wd}
        {wd_doc}
    clip_norm : float, optional
        Scale the gradients so their global norm is at most this (`clip_grad_norm`), inside the
        step.
    clip_value : float, optional
        Clamp every gradient element to [-clip_value, clip_value] first."""


class Optimizer:
    __doc__ = """Base class of optimizers whose update runs inside the compiled training step.

    An optimizer owns `state` (parameter name -> {slot: array shaped like the parameter}) and
    turns its hyper-parameters into runtime scalars on every call (`hyper()`), so a learning-rate
    schedule is just ``opt.lr = ...`` between steps, with no recompilation. Subclasses name their
    `slots` and define `update_one` (staged code over one parameter).

    Parameters
    ----------
    lr : float
        The learning rate.
    """ + _COMMON.format(wd="0.0", wd_doc="L2 penalty added to the gradient.") + """

    Attributes
    ----------
    state : dict of str to dict of str to numpy.ndarray
        Per parameter, the slot arrays (e.g. "momentum_buffer"), updated in place by the step.
    steps : int
        Updates done so far (PyTorch's `step` is steps + 1 during an update).
    """
    slots: Tuple[str, ...] = ()     # names of the per-parameter state arrays

    def __init__(self, lr: float, weight_decay: float = 0.0, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        self.lr, self.weight_decay = lr, weight_decay
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.state: Dict[str, Dict[str, np.ndarray]] = {}
        self.steps = 0              # updates done (PyTorch's `step` is steps + 1 during one)

    def attach(self, params: Dict[str, np.ndarray]) -> None:
        """Create the state arrays for these parameters (kept if already there, e.g. loaded).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
            The trainable parameters by name (`st.train_step` passes the model's).
        """
        for k, p in params.items():
            if k not in self.state:
                self.state[k] = {s: self.init_slot(s, p) for s in self.slots}

    def init_slot(self, slot: str, p: np.ndarray) -> np.ndarray:
        """The initial value of state `slot` for parameter `p` (zeros unless overridden)."""
        return np.zeros_like(p)

    def hyper(self) -> Dict[str, np.float32]:
        """The hyper-parameters of this step as runtime float32 scalars (by name)."""
        h = {"lr": self.lr, "weight_decay": self.weight_decay, **self.step_hyper()}
        if self.clip_norm is not None:
            h["clip_norm"] = self.clip_norm
        if self.clip_value is not None:
            h["clip_value"] = self.clip_value
        return {k: np.float32(v) for k, v in h.items()}

    def step_hyper(self) -> Dict[str, float]:
        """Subclasses' hyper-parameters for the coming step (e.g. Adam's bias corrections)."""
        return {}

    def update(self, params: Dict[str, Any], grads: Dict[str, Any], state: Dict[str, Dict[str, Any]],
               hyper: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Dict[str, Any]]]:
        """Staged: the new parameters and state from the gradients (clipping first, if set).

        Parameters
        ----------
        params, grads : dict of str to Rep
            Staged parameters and their gradients, by name.
        state : dict of str to dict of str to Rep
            Staged slots, by parameter name and slot.
        hyper : dict of str to Rep
            The staged hyper-parameters of `hyper()`.

        Returns
        -------
        (dict, dict)
            New parameters and new state, of the same structure.
        """
        if "clip_value" in hyper:
            grads = clip_grad_value(grads, hyper["clip_value"])
        if "clip_norm" in hyper:
            grads = clip_grad_norm(grads, hyper["clip_norm"])
        new_p, new_s = {}, {}
        for k, p in params.items():
            h = {n: F.astype(v, p.dtype) for n, v in hyper.items()}
            new_p[k], new_s[k] = self.update_one(p, grads[k], state[k], h)
        return new_p, new_s

    def update_one(self, p: Any, g: Any, s: Dict[str, Any], h: Dict[str, Any]) -> Tuple[Any, Dict[str, Any]]:
        """Staged update of one parameter `p` with gradient `g`, slots `s` and hyper-parameters
        `h` (cast to p's dtype); returns (new p, new slots)."""
        raise NotImplementedError

    def _decayed(self, p, g, h):
        return g + h["weight_decay"] * p if self.weight_decay else g

    def state_dict(self) -> Dict[str, Any]:
        """``{"steps": steps, "state": state}`` (the arrays themselves)."""
        return {"steps": self.steps, "state": self.state}

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore `steps` and copy the slot arrays of `d` (as from `state_dict`) in place."""
        self.steps = d["steps"]
        for k, slots in d["state"].items():
            for s, v in slots.items():
                np.copyto(self.state[k][s], v)


class SGD(Optimizer):
    __doc__ = """Stochastic gradient descent with optional momentum, as `torch.optim.SGD`.

    p -= lr * d, with d = g (+ weight_decay * p), or with momentum: buf = momentum * buf +
    (1 - dampening) * d (buf = d on the first step), d = buf (Nesterov: d + momentum * buf).

    Parameters
    ----------
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

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 clip_norm: Optional[float] = None, clip_value: Optional[float] = None):
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        self.slots = ("momentum_buffer",) if momentum else ()

    def step_hyper(self):
        # buf starts at zero, so "buf = d on the first step" is dampening 0 on that step
        return {"momentum": self.momentum, "dampening": self.dampening if self.steps else 0.0}

    def update_one(self, p, g, s, h):
        d = self._decayed(p, g, h)
        if not self.momentum:
            return p - h["lr"] * d, {}
        buf = h["momentum"] * s["momentum_buffer"] + (1 - h["dampening"]) * d
        d = d + h["momentum"] * buf if self.nesterov else buf
        return p - h["lr"] * d, {"momentum_buffer": buf}


class Adagrad(Optimizer):
    __doc__ = """Adagrad, as `torch.optim.Adagrad`.

    sum += d^2; p -= clr * d / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lr_decay).

    Parameters
    ----------
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

    def __init__(self, lr: float = 0.01, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 clip: Optional[float] = None, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        super().__init__(lr, weight_decay, clip_norm, clip_value if clip is None else clip)
        self.lr_decay, self.eps, self.initial = lr_decay, eps, initial_accumulator_value

    def init_slot(self, slot: str, p: np.ndarray) -> np.ndarray:
        """The initial value of state `slot` for parameter `p` (zeros unless overridden)."""
        return np.full_like(p, self.initial)

    def step_hyper(self):
        return {"clr": self.lr / (1 + self.steps * self.lr_decay), "eps": self.eps}

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
    lr : float, default 0.001
        The learning rate.
    betas : (float, float), default (0.9, 0.999)
        b1 and b2, the decay rates of the moment estimates.
    eps : float, default 1e-8
        Added to the denominator.
    """


class Adam(Optimizer):
    __doc__ = _ADAM.format(name="Adam", decay="Weight decay is added to the gradient (L2).") + \
        _COMMON.format(wd="0.0", wd_doc="L2 penalty added to the gradient.") + "\n"
    slots = ("exp_avg", "exp_avg_sq")
    decoupled = False

    def __init__(self, lr: float = 0.001, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        self.betas, self.eps = tuple(betas), eps

    def step_hyper(self):
        b1, b2 = self.betas
        t = self.steps + 1
        return {"b1": b1, "b2": b2, "eps": self.eps, "step_size": self.lr / (1 - b1 ** t),
                "bc2_sqrt": np.sqrt(1 - b2 ** t), "decay": 1 - self.lr * self.weight_decay}

    def update_one(self, p, g, s, h):
        if self.decoupled:
            d = g
            if self.weight_decay:
                p = p * h["decay"]
        else:
            d = self._decayed(p, g, h)
        m = h["b1"] * s["exp_avg"] + (1 - h["b1"]) * d
        v = h["b2"] * s["exp_avg_sq"] + (1 - h["b2"]) * (d * d)
        denom = F.sqrt(v) / h["bc2_sqrt"] + h["eps"]
        return p - h["step_size"] * m / denom, {"exp_avg": m, "exp_avg_sq": v}


class AdamW(Adam):
    __doc__ = _ADAM.format(name="AdamW", decay="Weight decay is decoupled: applied to the "
                           "parameter, p *= 1 - lr * weight_decay.") + \
        _COMMON.format(wd="0.01", wd_doc="Decoupled weight decay.") + "\n"
    decoupled = True

    def __init__(self, lr: float = 0.001, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None):
        super().__init__(lr, betas, eps, weight_decay, clip_norm, clip_value)
