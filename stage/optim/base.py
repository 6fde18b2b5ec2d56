"""The optimizer base: parameter groups with their own settings, state in NumPy arrays, and the
update staged inside the compiled training step.

An optimizer owns `state` (parameter name -> {slot: array shaped like the parameter}) and
`param_groups`, a list of dicts of settings (PyTorch's structure). Every call of the step turns the
settings into runtime float32 scalars (`hyper()`), so a learning-rate schedule (`lr_scheduler`) or
``opt.lr = ...`` changes a value, never the compiled code. A setting whose value makes part of the
update vanish (weight decay 0, momentum 0) is left out of `hyper()`, so switching it on later
selects another specialisation instead of running code that ignores it.
"""
from __future__ import annotations

import numbers
from typing import Any, Dict, List, Mapping, Optional, Tuple

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

PARAMS_DOC = """params : iterable, optional
        What to optimise, as PyTorch's first argument: arrays of the model
        (``model.parameters()``), their names, or parameter groups -- dicts with "params" (arrays
        or names) and settings of their own (``[{"params": decay, "weight_decay": 0.1},
        {"params": no_decay, "weight_decay": 0.0}]``); the other settings come from the keyword
        arguments. Default: every trainable parameter of the model `st.train_step` is given, in
        one group. A parameter in no group is not updated. A number here is the learning rate
        (``SGD(0.1)``)."""


def _groups(params) -> List[Dict[str, Any]]:
    if params is None:
        return [{"params": None}]
    if isinstance(params, np.ndarray) or isinstance(params, str):
        raise TypeError("optimizer params must be an iterable of arrays, names or dicts, not a "
                        f"single {type(params).__name__}")
    params = list(params)
    if params and all(isinstance(p, Mapping) for p in params):
        groups = [dict(p) for p in params]
        for g in groups:
            if "params" not in g:
                raise ValueError("a parameter group needs a 'params' entry")
            ps = g["params"]
            g["params"] = [ps] if isinstance(ps, (np.ndarray, str)) else list(ps)
        return groups
    if any(isinstance(p, Mapping) for p in params):
        raise TypeError("optimizer params: give either arrays/names or parameter-group dicts")
    return [{"params": params}]


class Optimizer:
    __doc__ = """Base class of optimizers whose update runs inside the compiled training step.

    Settings live in `param_groups` (PyTorch's structure: a list of dicts; each also lists its
    "params"). They are turned into runtime scalars on every call (`hyper()`), so
    ``opt.param_groups[i]["lr"] = ...`` or a scheduler changes them without recompiling;
    ``opt.lr = x`` sets the learning rate of every group. Subclasses name their `slots` and
    define `update_one` (staged code over one parameter) and `group_hyper`.

    Parameters
    ----------
    """ + PARAMS_DOC + """
    defaults : dict
        The settings of every group that does not give its own (e.g. {"lr": 0.1}).
    clip_norm : float, optional
        Scale the gradients so their global norm is at most this (`clip_grad_norm`).
    clip_value : float, optional
        Clamp every gradient element to [-clip_value, clip_value] first.

    Attributes
    ----------
    param_groups : list of dict
        The groups' settings (and "params", as given).
    state : dict of str to dict of str to numpy.ndarray
        Per parameter, the slot arrays (e.g. "momentum_buffer"), updated in place by the step.
    steps : int
        Updates done so far (PyTorch's `step` is steps + 1 during an update).
    """
    slots: Tuple[str, ...] = ()     # names of the per-parameter state arrays

    def __init__(self, params: Any = None, defaults: Optional[Dict[str, Any]] = None,
                 clip_norm: Optional[float] = None, clip_value: Optional[float] = None):
        d = self.__dict__
        d["defaults"] = dict(defaults or {})
        d["param_groups"] = [{**self.defaults, **g} for g in _groups(params)]
        for g in self.param_groups:
            self.check_group(g)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.state: Dict[str, Dict[str, np.ndarray]] = {}
        self.steps = 0              # updates done (PyTorch's `step` is steps + 1 during one)
        self.group_of: Dict[str, int] = {}       # parameter name -> group index (`attach`)
        self.params: Dict[str, np.ndarray] = {}
        self._slots_made: List[Tuple[str, ...]] = []

    # `opt.lr` reads the first group's setting; `opt.lr = x` sets it in every group
    def __getattr__(self, name):
        d = self.__dict__
        if "defaults" in d and name in d["defaults"]:
            return d["param_groups"][0][name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        d = self.__dict__
        if "defaults" in d and name in d["defaults"]:
            for g in d["param_groups"]:
                g[name] = value
        else:
            object.__setattr__(self, name, value)

    def check_group(self, group: Dict[str, Any]) -> None:
        """Validate one group's settings (subclasses raise ValueError)."""

    def attach(self, params: Dict[str, np.ndarray]) -> None:
        """Assign the model's parameters to the groups and create their state arrays (kept if
        already there, e.g. loaded).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
            The trainable parameters by name (`st.train_step` passes the model's).

        Raises
        ------
        ValueError
            A group names a parameter the model does not train, or a parameter is in two groups.
        """
        by_id = {id(a): k for k, a in params.items()}
        owner: Dict[str, int] = {}
        for i, g in enumerate(self.param_groups):
            names = list(params) if g["params"] is None else \
                [self._resolve(p, params, by_id) for p in g["params"]]
            for k in names:
                if k in owner:
                    raise ValueError(f"optimizer: parameter {k!r} is in more than one group")
                owner[k] = i
        self.group_of, self.params = owner, params
        self._add_slots()

    def _add_slots(self):
        """State arrays for every slot the groups' settings need now (a schedule may switch
        SGD's momentum on after the step was made)."""
        self._slots_made = [self.slots_of(g) for g in self.param_groups]
        for k, i in self.group_of.items():
            g = self.param_groups[i]
            slots = self.state.setdefault(k, {})
            for s in self.slots_of(g):
                if s not in slots:
                    slots[s] = self.init_slot(s, self.params[k], g)

    @staticmethod
    def _resolve(p, params, by_id):
        if isinstance(p, str):
            if p not in params:
                raise ValueError(f"optimizer: no trainable parameter named {p!r} (names: "
                                 f"{', '.join(params)})")
            return p
        k = by_id.get(id(p))
        if k is None:
            raise ValueError(f"optimizer: an array of shape {np.shape(p)} in the parameter groups "
                             f"is not a trainable parameter of the model")
        return k

    def slots_of(self, group: Dict[str, Any]) -> Tuple[str, ...]:
        """The state slots of the parameters of `group` (the class's `slots` unless overridden)."""
        return self.slots

    def init_slot(self, slot: str, p: np.ndarray, group: Optional[Dict[str, Any]] = None
                  ) -> np.ndarray:
        """The initial value of state `slot` for parameter `p` of `group` (zeros unless
        overridden)."""
        return np.zeros_like(p)

    def hyper(self) -> Dict[str, np.float32]:
        """The settings of this step as runtime float32 scalars: the first group's by name
        ("lr"), group i's as "g{i}.lr"."""
        need = [self.slots_of(g) for g in self.param_groups]
        if self.group_of and need != self._slots_made:
            self._add_slots()
        h = {}
        if self.clip_norm is not None:
            h["clip_norm"] = self.clip_norm
        if self.clip_value is not None:
            h["clip_value"] = self.clip_value
        for i, g in enumerate(self.param_groups):
            pre = f"g{i}." if i else ""
            for k, v in self.group_hyper(g).items():
                h[pre + k] = v
        return {k: np.float32(v) for k, v in h.items()}

    def group_hyper(self, group: Dict[str, Any]) -> Dict[str, float]:
        """One group's runtime scalars for the coming step (e.g. Adam's bias corrections);
        settings left out are absent from the compiled update."""
        h = {"lr": group["lr"]}
        if group.get("weight_decay"):
            h["weight_decay"] = group["weight_decay"]
        return h

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
            The staged scalars of `hyper()`.

        Returns
        -------
        (dict, dict)
            New values of the parameters in a group, and their new state.
        """
        grads = {k: grads[k] for k in params if k in self.group_of}
        if "clip_value" in hyper:
            grads = clip_grad_value(grads, hyper["clip_value"])
        if "clip_norm" in hyper:
            grads = clip_grad_norm(grads, hyper["clip_norm"])
        new_p, new_s = {}, {}
        for k, g in grads.items():
            p, i = params[k], self.group_of[k]
            pre = f"g{i}." if i else ""
            h = {n[len(pre):]: F.astype(v, p.dtype) for n, v in hyper.items()
                 if (n.startswith(pre) if pre else "." not in n)}
            new_p[k], new_s[k] = self.update_one(p, g, state[k], h)
        return new_p, new_s

    def update_one(self, p: Any, g: Any, s: Dict[str, Any], h: Dict[str, Any]) -> Tuple[Any, Dict[str, Any]]:
        """Staged update of one parameter `p` with gradient `g`, slots `s` and its group's scalars
        `h` (cast to p's dtype); returns (new p, new slots)."""
        raise NotImplementedError

    @staticmethod
    def _decayed(p, g, h):
        return g + h["weight_decay"] * p if "weight_decay" in h else g

    def state_dict(self) -> Dict[str, Any]:
        """``{"steps": steps, "state": state, "param_groups": settings}`` (the arrays
        themselves; each group's settings without its "params")."""
        return {"steps": self.steps, "state": self.state,
                "param_groups": [{k: v for k, v in g.items() if k != "params"}
                                 for g in self.param_groups]}

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore `steps`, the groups' settings (when present) and copy the slot arrays of `d`
        (as from `state_dict`) in place.

        Parameters
        ----------
        d : mapping
            As returned by `state_dict`.
        """
        self.steps = d["steps"]
        for g, saved in zip(self.param_groups, d.get("param_groups", ())):
            g.update({k: v for k, v in saved.items() if k != "params"})
        for k, slots in d["state"].items():
            for s, v in slots.items():
                np.copyto(self.state[k][s], v)


def lr_or_params(params, lr):
    """PyTorch's (params, lr) with stage's older form: a number as the first argument is lr."""
    if isinstance(params, numbers.Number):
        return None, params
    return params, lr
