"""`Module`: a tree of layers owning NumPy arrays (parameters and buffers), PyTorch-style.

A module's arrays are plain float32 NumPy arrays, updated in place by a compiled training step, so
`model.weight` always shows the current values without a copy. While a step is staged, `bind`
swaps each array for the staged value (`Rep`) that the compiled function receives for it, so the
same `forward` code runs on NumPy values eagerly and on staged values when compiled; buffer updates
made during a staged forward (batch-norm running statistics) are collected and written back by the
step with `st.assign`.
"""
from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import filtered
from ..frontend import convert
from ..ir.graph import StageError, StageTypeError, current_scope, user_location
from ..ir.rep import Rep


def _contiguous(a) -> np.ndarray:
    """The array itself when C-contiguous, else a contiguous copy (unlike np.ascontiguousarray,
    a 0-d array stays 0-d)."""
    a = np.asarray(a)
    return a if a.flags.c_contiguous else a.copy(order="C")


class Parameter:
    """Marks an array assigned to a module attribute as a parameter (`requires_grad=False`: frozen,
    e.g. pretrained embeddings: passed to the step, never differentiated or updated)."""

    def __init__(self, data, requires_grad: bool = True):
        self.data = _contiguous(data)
        self.requires_grad = requires_grad


class Binding:
    """What a staged forward sees: the random key for dropout, and the buffer updates it makes."""

    def __init__(self, rng=None):
        self.rng = rng                       # (seed, counter) staged int64 scalars, or None
        self.streams = 0                     # one random stream per dropout call site
        self.updates: Dict[str, Rep] = {}    # full buffer name -> new value

    def next_stream(self) -> int:
        self.streams += 1
        return self.streams


_BINDINGS: List[Binding] = []

# Bumped whenever any module's parameters, buffers or submodules change: compiled steps cache the
# flattened list of a model's arrays and rebuild it only when this moves.
STRUCTURE = [0]


def current_binding() -> Optional[Binding]:
    return _BINDINGS[-1] if _BINDINGS else None


class Module:
    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()     # name -> array
        d["_frozen"] = set()                 # names of parameters with requires_grad=False
        d["_buffers"] = OrderedDict()        # name -> array (state that is not trained)
        d["_modules"] = OrderedDict()        # name -> Module
        d["_bound"] = None                   # name -> Rep while a step is staged
        d["_prefix"] = ""                    # full name of this module inside the bound root
        d["training"] = True

    # -- attributes ----------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("call Module.__init__() before assigning attributes")
        for table in ("_parameters", "_buffers", "_modules"):
            d[table].pop(name, None)
        d["_frozen"].discard(name)
        STRUCTURE[0] += 1
        if isinstance(value, Parameter):
            d["_parameters"][name] = value.data
            if not value.requires_grad:
                d["_frozen"].add(name)
        elif isinstance(value, Module):
            d["_modules"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):             # only called when normal lookup fails
        d = self.__dict__
        bound = d.get("_bound")
        if bound is not None and name in bound:
            return bound[name]
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def register_buffer(self, name: str, array):
        self.__dict__["_buffers"][name] = _contiguous(array)
        STRUCTURE[0] += 1

    def update_buffer(self, name: str, value):
        """Set a buffer: recorded for the step to write back when staged, in place when eager."""
        b = current_binding()
        if self._bound is not None and b is not None:
            b.updates[self._prefix + name] = value
        else:
            np.copyto(self._buffers[name], np.asarray(value))

    # -- the tree ------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}{name}.")

    def modules(self):
        return [m for _, m in self.named_modules()]

    def children(self):
        return list(self._modules.values())

    def named_parameters(self, trainable_only: bool = False) -> List[Tuple[str, np.ndarray]]:
        return [(p + n, a) for p, m in self.named_modules() for n, a in m._parameters.items()
                if not (trainable_only and n in m._frozen)]

    def parameters(self, trainable_only: bool = False) -> List[np.ndarray]:
        return [a for _, a in self.named_parameters(trainable_only)]

    def named_buffers(self) -> List[Tuple[str, np.ndarray]]:
        return [(p + n, a) for p, m in self.named_modules() for n, a in m._buffers.items()]

    def num_parameters(self) -> int:
        return int(sum(a.size for a in self.parameters()))

    # -- modes ---------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def modes(self) -> tuple:
        """The training flags of every submodule: static values a compiled step is specialised on."""
        return tuple(m.training for m in self.modules())

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameters and buffers by full name (PyTorch's names); the arrays themselves, not copies."""
        return OrderedDict(self.named_parameters() + self.named_buffers())

    def load_state_dict(self, state: dict, strict: bool = True):
        """Copy values into the module's arrays in place (NumPy arrays or PyTorch tensors)."""
        own = self.state_dict()
        # batch norm's step counter may be absent (as PyTorch accepts for older checkpoints)
        extra = [k for k in state if k not in own]
        missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
        if strict and (extra or missing):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {extra}")
        for k, a in own.items():
            if k not in state:
                continue
            v = state[k]
            if hasattr(v, "detach"):                 # a torch tensor
                v = v.detach().cpu().numpy()
            v = np.asarray(v)
            if v.shape != a.shape:
                raise ValueError(f"load_state_dict: {k} has shape {v.shape}, the module's is {a.shape}")
            np.copyto(a, v.astype(a.dtype, copy=False))
        return self

    def save(self, path, metadata: Optional[Dict[str, str]] = None) -> None:
        """Write the module's parameters and buffers to a safetensors file.

        Names are `state_dict()`'s (PyTorch's), so `torch.nn.Module.load_state_dict(
        safetensors.torch.load_file(path))` reads the file into the matching PyTorch model and
        `load` reads PyTorch's. The file is written beside `path` and renamed over it.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write, conventionally `*.safetensors`.
        metadata : dict of str to str, optional
            Stored in the file's `__metadata__` (e.g. `{"format": "pt"}`, which some Hugging Face
            loaders expect).
        """
        from .. import safetensors
        safetensors.save_file(self.state_dict(), path, metadata)

    def load(self, path, strict: bool = True) -> "Module":
        """Read parameters and buffers from a safetensors file (written by `save`, by PyTorch with
        `safetensors.torch.save_file(model.state_dict(), path)`, or a Hugging Face checkpoint whose
        names match this module's) into the module's arrays, in place.

        Parameters
        ----------
        path : str or os.PathLike
            A `.safetensors` file. float16 and bfloat16 tensors are converted to the module's dtype.
        strict : bool, default True
            Require the file's names to be exactly the module's (batch norm's
            `num_batches_tracked` may be missing); with False, load the names both have.

        Returns
        -------
        Module
            self.

        Raises
        ------
        KeyError
            With `strict`, names missing from the file or not in the module.
        ValueError
            A tensor's shape differs from the module's, or the file is not valid safetensors.
        """
        from .. import safetensors
        return self.load_state_dict(safetensors.load_file(path), strict)

    # -- calling -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        if current_scope() is None and not kwargs:
            try:
                return self._eager()(*args)
            except Exception as e:
                raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them
        calls = _calls()
        calls.append(self)
        try:
            return convert(self.forward)(*args, **kwargs)   # user forwards: control flow staged
        except StageError as e:
            _name_module(e, self, calls)
            raise
        finally:
            calls.pop()

    def _eager(self):
        """Called on NumPy arrays outside staging: run forward with the interpreter, the module's
        arrays passed as runtime inputs (never baked in), buffer updates written back."""
        f = self.__dict__.get("_eager_fn")
        if f is None:
            from ..train import EvalStep

            def forward(*args):            # through __call__, so errors name this module
                return self(*args)
            f = self.__dict__["_eager_fn"] = EvalStep(forward, self, backend="interp")
        return f

    def describe(self) -> str:
        """The module on one line as its constructor call, e.g. `BatchNorm1d(10, eps=1e-05, ...)`."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}" + (")" if not self._modules else "")]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        if self._modules:
            lines.append(")")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- errors name modules

_LOCAL = threading.local()


def _calls() -> List[Module]:
    """The modules whose forward is running while staging, outermost first (this thread's)."""
    c = getattr(_LOCAL, "calls", None)
    if c is None:
        c = _LOCAL.calls = []
    return c


def module_path(module: Module, calls: List[Module]) -> Optional[str]:
    """Where `module` sits in the outermost running module, as Python would reach it:
    `model.layers[2]` (`model` is the outermost; Sequential's numbered children are indexed)."""
    for root in calls:
        for prefix, m in root.named_modules():
            if m is module:
                path = "model"
                for part in prefix.split(".")[:-1]:
                    path += f"[{part}]" if part.isdigit() else f".{part}"
                return path
    return None


def input_type(x) -> str:
    """A staged value's type as printed in errors (`f32[4,12]`), or a NumPy array's shape."""
    t = getattr(x, "type", None)
    return str(t) if t is not None else f"an array of shape {tuple(np.shape(x))}"


def check_input(ok: bool, message: str):
    """Raise StageTypeError("expects " + message) at the user's line unless `ok`; the running module
    prefixes its own name and path (`Linear(10, 5, bias=True) at model[0]: expects ...`)."""
    if ok:
        return
    loc = user_location()
    raise StageTypeError("expects " + message + (f" (at {loc})" if loc else ""))


def _name_module(e: StageError, module: Module, calls: List[Module]):
    """Prefix the error's message with the module and its path, once: the innermost module that
    was running when the error was raised is the one whose input was wrong."""
    if getattr(e, "_stage_module", None) is not None:
        return
    path = module_path(module, calls)
    where = module.describe() + (f" at {path}" if path else "")
    e._stage_module = where
    msg = str(e.args[0]) if e.args else ""
    e.args = (f"{where}: {msg}",) + tuple(e.args[1:])


class Sequential(Module):
    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __getitem__(self, i) -> Module:
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


@contextlib.contextmanager
def bind(model: Module, values: Dict[str, Rep], rng=None):
    """Inside the block, the model's arrays named in `values` (full names) read as those staged
    values; yields the `Binding` that collects buffer updates."""
    binding = Binding(rng)
    mods = list(model.named_modules())
    for prefix, m in mods:
        names = list(m._parameters) + list(m._buffers)
        m.__dict__["_bound"] = {n: values[prefix + n] for n in names if prefix + n in values}
        m.__dict__["_prefix"] = prefix
    _BINDINGS.append(binding)
    try:
        yield binding
    finally:
        _BINDINGS.pop()
        for _, m in mods:
            m.__dict__["_bound"] = None
            m.__dict__["_prefix"] = ""
