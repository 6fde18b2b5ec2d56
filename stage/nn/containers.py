"""Containers of modules, as PyTorch's `Sequential`, `ModuleList` and `ModuleDict`: submodules registered under
their index or key, so their parameters appear in `named_parameters` and `state_dict` with
PyTorch's names (`"layers.0.weight"`, `"heads.q.weight"`)."""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, Mapping, Optional, Tuple, Union

from .module import STRUCTURE, Module


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    Children are named "0", "1", ... (PyTorch's state-dict names: `"0.weight"`); index with
    ``seq[i]``.

    Parameters
    ----------
    *layers : Module
        The modules, in order.

    Examples
    --------
    >>> import stage as st
    >>> net = st.nn.Sequential(st.nn.Linear(4, 8), st.nn.ReLU(), st.nn.Linear(8, 2))
    >>> len(net), type(net[2]).__name__
    (3, 'Linear')
    """

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


class ModuleList(Module):
    """Submodules in a list, as `torch.nn.ModuleList`: indexed, iterated, appended; each is
    registered under its index ("0", "1", ...). It has no `forward`: a model loops over it.

    Parameters
    ----------
    modules : iterable of Module, optional
        The initial modules.

    Examples
    --------
    >>> import stage as st
    >>> layers = st.nn.ModuleList([st.nn.Linear(4, 4) for _ in range(3)])
    >>> _ = layers.append(st.nn.Linear(4, 2))
    >>> len(layers), list(layers.state_dict())[-1]
    (4, '3.bias')
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, mods):
        self._modules.clear()
        for i, m in enumerate(mods):
            if not isinstance(m, Module):
                raise TypeError(f"ModuleList: {type(m).__name__} is not a Module")
            self._modules[str(i)] = m
        STRUCTURE[0] += 1

    def __getitem__(self, i: Union[int, slice]):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __setitem__(self, i: int, module: Module):
        mods = list(self._modules.values())
        mods[i] = module
        self._renumber(mods)

    def __delitem__(self, i: Union[int, slice]):
        mods = list(self._modules.values())
        del mods[i]
        self._renumber(mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> "ModuleList":
        """Add a module at the end.

        Parameters
        ----------
        module : Module
            The module.

        Returns
        -------
        ModuleList
            self.
        """
        self._renumber(list(self._modules.values()) + [module])
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Add modules at the end.

        Parameters
        ----------
        modules : iterable of Module
            The modules, in order.

        Returns
        -------
        ModuleList
            self.
        """
        self._renumber(list(self._modules.values()) + list(modules))
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before `index`.

        Parameters
        ----------
        index : int
            The position.
        module : Module
            The module.
        """
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it in your model's "
                                  "forward (for layer in self.layers: x = layer(x))")

    def __repr__(self):
        return super().__repr__() if self._modules else "ModuleList()"


class ModuleDict(Module):
    """Submodules in an ordered dictionary, as `torch.nn.ModuleDict`: each registered under its
    key (the `state_dict` prefix).

    Parameters
    ----------
    modules : mapping of str to Module, or iterable of (str, Module), optional
        The initial entries.

    Examples
    --------
    >>> import stage as st
    >>> heads = st.nn.ModuleDict({"cls": st.nn.Linear(8, 3), "reg": st.nn.Linear(8, 1)})
    >>> list(heads.keys()), list(heads.state_dict())[:2]
    (['cls', 'reg'], ['cls.weight', 'cls.bias'])
    """

    def __init__(self, modules: Optional[Union[Mapping[str, Module],
                                               Iterable[Tuple[str, Module]]]] = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {type(module).__name__} is not a Module")
        setattr(self, key, module)

    def __delitem__(self, key: str):
        del self._modules[key]
        STRUCTURE[0] += 1

    def __len__(self):
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        """The keys, in insertion order."""
        return list(self._modules.keys())

    def values(self):
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self):
        """(key, module) pairs, in insertion order."""
        return list(self._modules.items())

    def update(self, modules: Union[Mapping[str, Module], Iterable[Tuple[str, Module]]]) -> None:
        """Add or replace entries.

        Parameters
        ----------
        modules : mapping of str to Module, or iterable of (str, Module)
            The entries.
        """
        pairs = modules.items() if isinstance(modules, (Mapping, Dict)) else modules
        for k, m in pairs:
            self[k] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: look up its modules in your "
                                  "model's forward")
