"""Compiled functions of a module's state: `st.train_step` and `st.eval_step`.

The staged function takes every array the step reads or writes as a runtime input -- trainable and
frozen parameters, buffers, optimizer state -- plus the hyper-parameters as runtime scalars and the
random key (seed, counter) for dropout; the module and optimizer own those arrays and the returned
Python callable passes them along on each call. Inside, the loss's value and gradient, the optimizer
update and the buffer updates are one program, and `st.assign` writes the new values into the very
arrays the module and optimizer hold: after `step(x, y)` returns, `model.weight` is updated, with no
copy. Changing a hyper-parameter (a learning-rate schedule) changes only a runtime scalar; the
modules' training flags are static, so `model.eval()` selects another specialisation.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Optional

import numpy as np

from .compile import compile as _compile
from .cps.api import value_and_grad
from .errors import filtered
from .ir import functions as F
from .ir.graph import StageError, current_scope, defining_node, reflect
from .ir.ops import OPS
from .ir.rep import Rep
from . import pytree
from .frontend import convert
from .nn.binding import bind
from .nn.module import STRUCTURE, Module
from .optim.optimizer import Optimizer

_SLOW = object()
_NO_DDP = contextlib.nullcontext()


class _ModuleFunction:
    """A compiled function of (module state, *args); subclasses say what runs inside."""

    def __init__(self, model: Module, backend=None, seed: int = 0, **options):
        self.model = model
        self.seed = int(seed)
        self.counter = 0                      # advances the dropout key on every call

        def staged(*a):
            return self._staged(*a)
        staged.__name__ = getattr(self, "__name__", type(self).__name__)
        staged.__stage_roots__ = self._roots      # errors name `x`, `params['0.weight']`, ...
        self.compiled = _compile(staged, backend=backend, **options)

    def __stage_compile__(self, backend=None, **options):
        """`st.compile(st.train_step(...))` is the step itself (it is compiled already); a backend or
        compiler options given there rebuild it with them."""
        if backend is not None or options:
            self.compiled = _compile(self.compiled.fn, backend=backend, **options)
        return self

    def _state(self):
        m = self.model
        trainable = dict(m.named_parameters(trainable_only=True))
        frozen = {k: v for k, v in m.named_parameters() if k not in trainable}
        return trainable, frozen, dict(m.named_buffers())

    ROOTS = ()

    def _roots(self, args):
        """How the staged function's arguments are named (see stage.names.roots_of): the state by
        what it is, the user's arguments (the last one) by the user's function's parameters."""
        from .names import arg_names
        user = getattr(self, "loss_fn", None) or self.fn
        return list(self.ROOTS), (len(self.ROOTS) - 1, arg_names(user, len(args[-1])))

    def _outside_staging(self):
        if current_scope() is not None:
            raise StageError(f"{type(self).__name__} is already a compiled function of NumPy arrays "
                             f"(the module's arrays are its runtime inputs): call it directly, "
                             f"without st.compile and outside staged code")

    def _key(self):
        key = (np.int64(self.seed), np.int64(self.counter))
        self.counter += 1
        return key

    def _forward(self, fn, values, buffers, key, args):
        """Run fn(*args) with the module bound to staged values; returns (result, buffer updates)."""
        with bind(self.model, values, rng=key) as b:
            res = convert(fn)(*args)
        return res, dict(b.updates)

    @staticmethod
    def _write_back(buffers, updates):
        for k, v in updates.items():
            F.assign(buffers[k], v)

    # what st.compile exposes, for reading the generated code
    @property
    def source(self):
        return self.compiled.source

    @property
    def ir(self):
        return self.compiled.ir

    @property
    def library_path(self):
        return self.compiled.library_path

    @property
    def num_specializations(self):
        return self.compiled.num_specializations

    @property
    def converted_source(self):
        from .frontend import converted_source
        return converted_source(self)


class TrainStep(_ModuleFunction):
    """`step(*args)`: one optimisation step of `loss_fn(*args)` over the model's trainable
    parameters; returns the loss (or `(loss, aux)` with has_aux). Made by `train_step` (see
    there for the parameters); `.ir`, `.source`, `.library_path` and `.num_specializations` read
    the compiled step."""

    ROOTS = ("params", "frozen", "buffers", "opt_state", "hyper", "key", "modes", "args")

    def __init__(self, loss_fn: Callable, model: Module, optimizer, has_aux: bool = False,
                 backend=None, seed: int = 0, distributed: bool = False, bucket_mb: float = 4.0,
                 overlap: bool = True, **options):
        self.loss_fn, self.optimizer, self.has_aux = loss_fn, optimizer, has_aux
        self.__name__ = f"train_step_{getattr(loss_fn, '__name__', 'loss')}".replace("<", "").replace(">", "")
        super().__init__(model, backend, seed, **options)
        optimizer.attach(dict(model.named_parameters(trainable_only=True)))
        self.ddp = None                       # the data-parallel half (stage.distributed.ddp)
        if distributed:
            from .distributed.ddp import DataParallel
            self.ddp = DataParallel(model, optimizer, bucket_mb, overlap)

    def __call__(self, *args):
        try:
            self._outside_staging()
            opt = self.optimizer
            hyper, key, modes = opt.hyper(), self._key(), self.model.modes()
            if self.ddp is not None:          # communicator handles etc. as runtime scalars
                hyper, key = {**hyper, **self.ddp.inputs()}, self.ddp.key(key)
            out = self._fast_call(hyper, key, modes, args)
            if out is _SLOW:
                state = self._state() + (opt.state,)
                if self.ddp is not None:      # every rank staged the same buckets
                    self.ddp.check_layout(self.compiled.lower(*state, hyper, key, modes, args))
                out = self.compiled(*state, hyper, key, modes, args)
                self._remember(state, hyper, key, modes, args)
            opt.steps += 1
            return out
        except Exception as e:
            if self.ddp is not None:          # a collective failed: name the rank that did
                e = self.ddp.failed(e)
            raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them

    # The arrays of the model and the optimizer are the same objects from call to call (updated in
    # place), so their flattened list is kept and only the scalars and the user's arguments are
    # flattened per call; the compiled function's own checks still run on every leaf.
    def _remember(self, state, hyper, key, modes, args):
        exe = self.compiled.last
        self._fast = None
        if getattr(exe, "key", None) is None:
            return
        fast = (STRUCTURE[0], id(self.optimizer.state), pytree.flatten(state)[0],
                tuple(hyper), modes, pytree.flatten(args)[1], exe)
        full = pytree.flatten((*state, hyper, key, modes, args))[0]
        if all(a is b for a, b in zip(self._leaves(fast, hyper, key, modes, args), full)):
            self._fast = fast                 # the cached order is the compiled function's order

    @staticmethod
    def _leaves(f, hyper, key, modes, args):
        return f[2] + [hyper[k] for k in sorted(hyper)] + list(key) + list(modes) + \
            pytree.flatten(args)[0]

    def _fast_call(self, hyper, key, modes, args):
        f = getattr(self, "_fast", None)
        if f is None or f[0] != STRUCTURE[0] or f[1] != id(self.optimizer.state) or \
                tuple(hyper) != f[3] or modes != f[4] or self.compiled.last is not f[6]:
            return _SLOW
        if pytree.flatten(args)[1] != f[5]:
            return _SLOW
        leaves = self._leaves(f, hyper, key, modes, args)
        exe = f[6]
        if exe.c_plan is not None:
            out = exe.c_plan.call_leaves(leaves)
            if out is not NotImplemented:
                return out
        if not exe.matches(leaves):
            return _SLOW
        return exe.call(leaves)

    def _staged(self, trainable, frozen, buffers, opt_state, hyper, key, modes, args):
        def loss_of(params, frozen, buffers, key, args):
            res, updates = self._forward(self.loss_fn, {**params, **frozen, **buffers}, buffers,
                                         key, args)
            loss, aux = res if self.has_aux else (res, None)
            return loss, (aux, updates)
        with (self.ddp.staging(trainable, hyper) if self.ddp is not None else _NO_DDP) as buckets:
            (loss, (aux, updates)), grads = value_and_grad(loss_of, has_aux=True)(
                trainable, frozen, buffers, key, args)
            if buckets is not None:           # all-reduces started as gradients finished
                grads = buckets.average(grads)
        if aux is not None:
            aux = _as_computed(aux, (trainable, opt_state, buffers))
        new_params, new_state = self.optimizer.update(trainable, grads, opt_state, hyper)
        for k, p in new_params.items():          # parameters in no optimizer group stay as they are
            F.assign(trainable[k], p)
        for k, s in opt_state.items():
            for name, arr in s.items():
                F.assign(arr, new_state[k][name])
        self._write_back(buffers, updates)
        return (loss, aux) if self.has_aux else loss


def _as_computed(aux, updated):
    """The aux outputs as the loss function computed them: a leaf that is an array the step updates
    in place (a parameter, optimizer state, a buffer) or a view of one is copied here, before the
    update -- returned as it is, it would be read after the update (which stage refuses)."""
    roots = {x.exp.id for x in pytree.flatten(updated)[0] if isinstance(x, Rep)}

    def root(e):
        n = defining_node(e)
        while n is not None and OPS[n.op].kind == "view" and n.args:
            e, n = n.args[0], defining_node(n.args[0])
        return getattr(e, "id", None)

    def snapshot(x):
        if isinstance(x, Rep) and root(x.exp) in roots:
            (ref,) = reflect("new_var", x.exp)
            return Rep(reflect("read_var", ref)[0])
        return x
    return pytree.tree_map(snapshot, aux)


class EvalStep(_ModuleFunction):
    """`f(*args)`: fn(*args) over the model's current parameters (runtime inputs, never baked in),
    in the model's current mode; buffer updates (batch norm in training mode) are written back.
    Made by `eval_step` (see there for the parameters)."""

    ROOTS = ("params", "buffers", "key", "modes", "args")

    def __init__(self, fn: Callable, model: Module, backend=None, seed: int = 0, **options):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "eval_step").replace("<", "").replace(">", "")
        super().__init__(model, backend, seed, **options)

    def __call__(self, *args):
        try:
            self._outside_staging()
            trainable, frozen, buffers = self._state()
            return self.compiled({**trainable, **frozen}, buffers, self._key(), self.model.modes(),
                                 args)
        except Exception as e:
            raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them

    def _staged(self, params, buffers, key, modes, args):
        res, updates = self._forward(self.fn, {**params, **buffers}, buffers, key, args)
        self._write_back(buffers, updates)
        return res


def train_step(loss_fn: Callable, model: Module, optimizer: Optimizer, has_aux: bool = False,
               backend: Optional[str] = None, seed: int = 0, distributed: bool = False,
               bucket_mb: float = 4.0, overlap: bool = True, **options: Any) -> TrainStep:
    """A compiled training step: forward, backward and the optimizer update in one native call.

    ``step = st.train_step(loss_fn, model, st.optim.Adam(lr=1e-3))``, then ``loss = step(x, y)``
    updates the model's parameters, the optimizer's state and batch-norm statistics in place (the
    step `st.assign`s into the very NumPy arrays the module and optimizer hold: no copies).
    Hyper-parameters are runtime scalars read on every call (``opt.lr = 0.01`` needs no
    recompilation); the modules' training flags are static (``model.eval()`` selects another
    specialisation). The step is itself compiled: call it directly (``st.compile(step)`` is the
    step), and pass it to `st.export` to deploy it.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(*args)`` computes a scalar loss using `model` (closed over), e.g.
        ``lambda x, y: st.nn.cross_entropy(model(x), y)``.
    model : Module
        The module whose trainable parameters are updated.
    optimizer : Optimizer
        An `st.optim` optimizer; its state is created for the model's parameters.
    has_aux : bool, default False
        `loss_fn` returns ``(loss, aux)``; the step then returns both.
    backend : {"native", "interp"}, optional
        As `st.compile`.
    seed : int, default 0
        Seeds dropout: call k draws its masks from the key (seed, k), so a run is reproducible.
    distributed : bool, default False
        Data-parallel training over MPI (`stage.distributed`; launch with ``mpiexec -n N``):
        rank 0's parameters, buffers and optimizer state are broadcast now, and every step
        averages the gradients across the ranks inside the native step before the update
        (buffers such as BatchNorm statistics stay per rank).
    bucket_mb : float, default 4.0
        With `distributed`: gradients are all-reduced in buckets of about this many MB, each
        started as soon as the backward has finished its gradients.
    overlap : bool, default True
        With `distributed`: start buckets during the backward (False: all after it, to measure
        what overlapping saves).
    **options
        `st.compile`'s compiler options (``cxxflags``, ``profile``).

    Returns
    -------
    TrainStep
        ``step(*args)`` returns the loss (a NumPy scalar) or ``(loss, aux)``.

    Raises
    ------
    StageError
        The step is called inside staged code (it is a compiled function of arrays already).
    stage.distributed.DistributedError
        With `distributed`: the ranks' models differ, or another rank failed (named).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> model = st.nn.Sequential(st.nn.Linear(4, 8), st.nn.Tanh(), st.nn.Linear(8, 3))
    >>> step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
    ...                      st.optim.Adam(lr=1e-2), backend="interp")
    >>> x, y = np.random.default_rng(0).random((16, 4), np.float32), np.arange(16) % 3
    >>> first = step(x, y)
    >>> for _ in range(20):
    ...     loss = step(x, y)
    >>> bool(loss < first)
    True
    """
    return TrainStep(loss_fn, model, optimizer, has_aux, backend, seed, distributed, bucket_mb,
                     overlap, **options)


def eval_step(fn: Callable, model: Module, backend: Optional[str] = None, seed: int = 0,
              **options: Any) -> EvalStep:
    """A compiled function of the model's current parameters (inference, metrics).

    The parameters are runtime inputs, never baked in: after more training the same library
    computes with the new values. Runs in the model's current mode (call ``model.eval()`` first
    for inference); in training mode, batch-norm statistics are updated.

    Parameters
    ----------
    fn : callable
        ``fn(*args)`` using `model` (closed over), e.g. ``lambda x: st.argmax(model(x), 1)``.
    model : Module
        The module whose parameters and buffers `fn` reads.
    backend : {"native", "interp"}, optional
        As `st.compile`.
    seed : int, default 0
        Seeds dropout in training mode.
    **options
        `st.compile`'s compiler options.

    Returns
    -------
    EvalStep
        ``f(*args)`` returns fn's result as NumPy arrays.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> model = st.nn.Linear(4, 3).eval()
    >>> predict = st.eval_step(lambda x: st.argmax(model(x), 1), model, backend="interp")
    >>> predict(np.ones((2, 4), np.float32)).shape
    (2,)
    """
    return EvalStep(fn, model, backend, seed, **options)
