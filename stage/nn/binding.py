"""Binding a module tree to staged values: while a step is staged, `bind` makes each module's
arrays read as the staged values the compiled function receives, and a `Binding` collects what the
staged forward produces besides its result (dropout's random streams, buffer updates)."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

from ..ir.rep import Rep

if TYPE_CHECKING:
    from .module import Module


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


@contextlib.contextmanager
def bind(model: "Module", values: Dict[str, Rep], rng: Optional[Tuple[Rep, Rep]] = None
         ) -> Iterator[Binding]:
    """Inside the block, the model's arrays read as the given staged values.

    This is how `st.train_step` runs the user's code on staged parameters; use it to write your
    own step over a module.

    Parameters
    ----------
    model : Module
        The root module.
    values : dict of str to Rep
        Staged values by full name (`state_dict` names); arrays not named keep their NumPy value.
    rng : (Rep, Rep), optional
        The (seed, counter) int64 key dropout draws from.

    Yields
    ------
    Binding
        Collects the buffer updates the forward makes (``binding.updates``: name -> value).
    """
    binding = Binding(rng)
    mods = list(model.named_modules())
    # a shared array (tied weights) is bound under every name it has: one staged value, so its
    # uses' gradients are summed
    shared = {id(a): values[k] for k, a in model.state_dict().items() if k in values}
    for prefix, m in mods:
        bound = {}
        for n, a in list(m._parameters.items()) + list(m._buffers.items()):
            v = values.get(prefix + n, shared.get(id(a)) if a is not None else None)
            if v is not None:
                bound[n] = v
        m.__dict__["_bound"] = bound
        m.__dict__["_prefix"] = prefix
    _BINDINGS.append(binding)
    try:
        yield binding
    finally:
        _BINDINGS.pop()
        for _, m in mods:
            m.__dict__["_bound"] = None
            m.__dict__["_prefix"] = ""
