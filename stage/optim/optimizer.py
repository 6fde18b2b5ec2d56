"""Optimizers whose state lives in NumPy arrays and whose update runs inside the compiled step.

An optimizer owns `state` (parameter name -> {slot: array shaped like the parameter}) and turns its
hyper-parameters into runtime scalars (`hyper()`, evaluated on every call, so a learning-rate
schedule is just `opt.lr = ...`, with no recompilation). `update` is staged code: per parameter one
elementwise chain, which codegen fuses into one loop with the writes back into the parameter and
state arrays. Formulas follow PyTorch's implementations, so the two agree step by step.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from ..ir import functions as F
from .clip import clip_grad_norm, clip_grad_value


class Optimizer:
    slots = ()                      # names of the per-parameter state arrays

    def __init__(self, lr, weight_decay=0.0, clip_norm=None, clip_value=None):
        self.lr, self.weight_decay = lr, weight_decay
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.state: Dict[str, Dict[str, np.ndarray]] = {}
        self.steps = 0              # updates done (PyTorch's `step` is steps + 1 during one)

    def attach(self, params: Dict[str, np.ndarray]):
        """Create the state arrays for these parameters (kept if already there, e.g. loaded)."""
        for k, p in params.items():
            if k not in self.state:
                self.state[k] = {s: self.init_slot(s, p) for s in self.slots}

    def init_slot(self, slot, p):
        return np.zeros_like(p)

    def hyper(self) -> Dict[str, np.float32]:
        """Runtime scalars for this step."""
        h = {"lr": self.lr, "weight_decay": self.weight_decay, **self.step_hyper()}
        if self.clip_norm is not None:
            h["clip_norm"] = self.clip_norm
        if self.clip_value is not None:
            h["clip_value"] = self.clip_value
        return {k: np.float32(v) for k, v in h.items()}

    def step_hyper(self) -> dict:
        return {}

    def update(self, params, grads, state, hyper):
        """Staged: (new params, new state) from params, gradients, state and hyper-parameters."""
        if "clip_value" in hyper:
            grads = clip_grad_value(grads, hyper["clip_value"])
        if "clip_norm" in hyper:
            grads = clip_grad_norm(grads, hyper["clip_norm"])
        new_p, new_s = {}, {}
        for k, p in params.items():
            h = {n: F.astype(v, p.dtype) for n, v in hyper.items()}
            new_p[k], new_s[k] = self.update_one(p, grads[k], state[k], h)
        return new_p, new_s

    def update_one(self, p, g, s, h):
        raise NotImplementedError

    def _decayed(self, p, g, h):
        return g + h["weight_decay"] * p if self.weight_decay else g

    def state_dict(self):
        return {"steps": self.steps, "state": self.state}

    def load_state_dict(self, d):
        self.steps = d["steps"]
        for k, slots in d["state"].items():
            for s, v in slots.items():
                np.copyto(self.state[k][s], v)


class SGD(Optimizer):
    """p -= lr * d, with d = g (+ weight decay), or with momentum: buf = momentum * buf +
    (1 - dampening) * d (buf = d on the first step), d = buf (Nesterov: d + momentum * buf)."""

    def __init__(self, lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 clip_norm=None, clip_value=None):
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
    """sum += d^2; p -= clr * d / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lr_decay).
    `clip` clamps each gradient element to [-clip, clip] first (the paper's char-RNN setting)."""
    slots = ("sum",)

    def __init__(self, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, clip=None, clip_norm=None, clip_value=None):
        super().__init__(lr, weight_decay, clip_norm, clip_value if clip is None else clip)
        self.lr_decay, self.eps, self.initial = lr_decay, eps, initial_accumulator_value

    def init_slot(self, slot, p):
        return np.full_like(p, self.initial)

    def step_hyper(self):
        return {"clr": self.lr / (1 + self.steps * self.lr_decay), "eps": self.eps}

    def update_one(self, p, g, s, h):
        d = self._decayed(p, g, h)
        acc = s["sum"] + d * d
        return p - h["clr"] * d / (F.sqrt(acc) + h["eps"]), {"sum": acc}


class Adam(Optimizer):
    """m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). Weight decay is added to the
    gradient (L2), or, in AdamW, applied to the parameter: p *= 1 - lr * weight_decay."""
    slots = ("exp_avg", "exp_avg_sq")
    decoupled = False

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 clip_norm=None, clip_value=None):
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
    decoupled = True

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                 clip_norm=None, clip_value=None):
        super().__init__(lr, betas, eps, weight_decay, clip_norm, clip_value)
