"""`Module`: a tree of layers owning NumPy arrays (parameters and buffers), PyTorch-style.

A module's arrays are plain float32 NumPy arrays, updated in place by a compiled training step, so
`model.weight` always shows the current values without a copy. While a step is staged, `bind`
swaps each array for the staged value (`Rep`) that the compiled function receives for it, so the
same `forward` code runs on NumPy values eagerly and on staged values when compiled; buffer updates
made during a staged forward (batch-norm running statistics) are collected and written back by the
step with `st.assign`.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import filtered
from ..frontend import convert
from ..ir.graph import StageError, current_scope
from .binding import STRUCTURE, current_binding
from .checks import _calls, _name_module


def _contiguous(a) -> np.ndarray:
    """The array itself when C-contiguous, else a contiguous copy (unlike np.ascontiguousarray,
    a 0-d array stays 0-d)."""
    a = np.asarray(a)
    return a if a.flags.c_contiguous else a.copy(order="C")


class Parameter:
    """Marks an array assigned to a module attribute as a parameter.

    ``self.weight = Parameter(array)`` stores the array (C-contiguous; copied only if it was not)
    in the module's parameters; reading ``self.weight`` gives the NumPy array back (or, while a
    step is staged, its staged value).

    Parameters
    ----------
    data : array_like
        The initial value.
    requires_grad : bool, default True
        False freezes it (e.g. pretrained embeddings): passed to the step, never differentiated
        or updated by the optimizer, and saved in `state_dict` like any parameter.
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        self.data = _contiguous(data)
        self.requires_grad = requires_grad


class Module:
    """Base class of layers and models: a tree of modules owning NumPy parameters and buffers.

    As in PyTorch, subclasses call ``super().__init__()``, assign `Parameter`s, submodules and
    buffers (`register_buffer`) as attributes, and define `forward`. The arrays are plain NumPy
    arrays (float32 unless a dtype is given), updated in place by `st.train_step`, so
    ``model.weight`` always shows the current values. Names and `state_dict` keys are
    PyTorch's, so weights move both ways (`load_state_dict`, `save`, `load`).

    Calling a module while staging runs `forward` on staged values. Calling it on NumPy arrays
    outside staging runs `forward` with the interpreter (the module's arrays passed as runtime
    inputs; use `st.eval_step` for compiled inference). A staging error inside a module's
    forward names the module and its path (`Linear(4, 8, bias=True) at model.layers[0]: ...`).

    Attributes
    ----------
    training : bool
        The mode (`train()` / `eval()`); static for compiled steps: switching selects another
        specialisation.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> class MLP(st.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.fc2 = st.nn.Linear(4, 8, seed=0), st.nn.Linear(8, 2, seed=1)
    ...     def forward(self, x):
    ...         return self.fc2(st.tanh(self.fc1(x)))
    >>> model = MLP()
    >>> list(model.state_dict())
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> model(np.zeros((3, 4), np.float32)).shape
    (3, 2)
    """

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
        was_parameter = name in d["_parameters"]
        for table in ("_parameters", "_buffers", "_modules"):
            d[table].pop(name, None)
        d["_frozen"].discard(name)
        STRUCTURE[0] += 1
        if isinstance(value, np.ndarray) and was_parameter:
            value = Parameter(value)          # `a.weight = b.weight`: one array, tied (PyTorch's idiom)
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

    def register_buffer(self, name: str, array: Any) -> None:
        """Add a buffer: state that is saved and updated but not trained (batch norm's running
        statistics).

        Parameters
        ----------
        name : str
            The attribute name (and `state_dict` key suffix).
        array : array_like
            The initial value (stored C-contiguous).
        """
        self.__dict__["_buffers"][name] = _contiguous(array)
        STRUCTURE[0] += 1

    def update_buffer(self, name: str, value: Any) -> None:
        """Set a buffer from `forward`: recorded for the step to write back when staged (with
        `st.assign`), copied in place when eager.

        Parameters
        ----------
        name : str
            A buffer registered with `register_buffer`.
        value : Rep or array_like
            The new value, of the buffer's shape.
        """
        b = current_binding()
        if self._bound is not None and b is not None:
            b.updates[self._prefix + name] = value
        else:
            np.copyto(self._buffers[name], np.asarray(value))

    # -- the tree ------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        """Every module of the tree, this one first, with its name prefix (`"layers.2."`).

        Parameters
        ----------
        prefix : str, default ""
            Prepended to every name.

        Yields
        ------
        (str, Module)
            The prefix (ending in "." except for this module's) and the module.
        """
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}{name}.")

    def modules(self) -> List["Module"]:
        """Every module of the tree, this one first."""
        return [m for _, m in self.named_modules()]

    def children(self) -> List["Module"]:
        """The direct submodules, in assignment order."""
        return list(self._modules.values())

    def named_parameters(self, trainable_only: bool = False, remove_duplicate: bool = True
                         ) -> List[Tuple[str, np.ndarray]]:
        """Parameters of the tree by full name (`"fc1.weight"`), as PyTorch orders them.

        A parameter shared by several modules (weight tying: ``head.weight = emb.weight``) is one
        array: listed once, under its first name, unless `remove_duplicate` is False. Training
        sees it once and sums the gradients of all its uses.

        Parameters
        ----------
        trainable_only : bool, default False
            Leave out frozen parameters (``requires_grad=False``).
        remove_duplicate : bool, default True
            List a shared array once (PyTorch's default).

        Returns
        -------
        list of (str, numpy.ndarray)
            The arrays themselves, not copies.
        """
        seen, out = set(), []
        for p, m in self.named_modules():
            for n, a in m._parameters.items():
                if a is None or (trainable_only and n in m._frozen):
                    continue
                if remove_duplicate and id(a) in seen:
                    continue
                seen.add(id(a))
                out.append((p + n, a))
        return out

    def parameters(self, trainable_only: bool = False) -> List[np.ndarray]:
        """The arrays of `named_parameters` (the same `trainable_only`), each shared array once."""
        return [a for _, a in self.named_parameters(trainable_only)]

    def named_buffers(self) -> List[Tuple[str, np.ndarray]]:
        """Buffers of the tree by full name (`"bn.running_mean"`); the arrays themselves."""
        return [(p + n, a) for p, m in self.named_modules() for n, a in m._buffers.items()]

    def num_parameters(self) -> int:
        """The number of parameter elements (trainable and frozen)."""
        return int(sum(a.size for a in self.parameters()))

    # -- modes ---------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch norm on batch statistics) on the whole tree.

        Parameters
        ----------
        mode : bool, default True
            False is `eval()`.

        Returns
        -------
        Module
            self.
        """
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> "Module":
        """Set evaluation mode on the whole tree (`train(False)`); returns self."""
        return self.train(False)

    def modes(self) -> Tuple[bool, ...]:
        """The training flags of every submodule: static values a compiled step is specialised on."""
        return tuple(m.training for m in self.modules())

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameters and buffers by full name, with PyTorch's names and order.

        Returns
        -------
        OrderedDict of str to numpy.ndarray
            The arrays themselves, not copies (copy them to keep a snapshot).
        """
        return OrderedDict(self.named_parameters(remove_duplicate=False) + self.named_buffers())

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> "Module":
        """Copy values into the module's arrays, in place.

        Parameters
        ----------
        state : mapping of str to array
            NumPy arrays, PyTorch tensors (``torch_model.state_dict()``) or anything
            `numpy.asarray` takes; converted to each array's dtype.
        strict : bool, default True
            Require exactly the module's names (batch norm's `num_batches_tracked` may be
            missing, as PyTorch allows for older checkpoints).

        Returns
        -------
        Module
            self.

        Raises
        ------
        KeyError
            With `strict`, missing or unexpected names (all of them listed).
        ValueError
            A value's shape differs from the module's array.
        """
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
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The module's computation on staged values; subclasses define it."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        if current_scope() is None:
            try:
                return self._eager()(args, kwargs)
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

            def forward(args, kwargs):     # through __call__, so errors name this module
                return self(*args, **kwargs)
            f = self.__dict__["_eager_fn"] = EvalStep(forward, self, backend="interp")
        return f

    def describe(self) -> str:
        """The module on one line as its constructor call, e.g. `BatchNorm1d(10, eps=1e-05, ...)`."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        """The constructor arguments shown in `repr` and in errors (`"10, 5, bias=True"`)."""
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}" + (")" if not self._modules else "")]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        if self._modules:
            lines.append(")")
        return "\n".join(lines)
