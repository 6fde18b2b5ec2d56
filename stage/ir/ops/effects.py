"""Effect forms: mutable memory, declared like every op.

Refs carry gradients across staged scopes (the `.d` of a value that a continuation, branch or loop
body accumulates into): `new_var` allocates one, `accum` adds into it, `read_var` reads it once every
write is done. `store` (`st.assign`) writes a value into an input array of the compiled program in
place (parameters and optimizer state updated by a training step). The rules on where a `store` may
stand are checked by `stage.ir.effects.check`, for every backend alike.
"""
import numpy as np

from ..types import RefType, TensorType
from . import NONDIFF, Effects, OpDef, shape_error


def _new_var_infer(ts):
    (init,) = ts
    return RefType(init)


def _accum_infer(ts):
    ref, x = ts
    if not isinstance(ref, RefType) or ref.elem.dtype != x.dtype or ref.elem.shape != x.shape:
        raise shape_error("accum", "value must match the ref's type", ref, x)
    return ()


def _read_infer(ts):
    (ref,) = ts
    if not isinstance(ref, RefType):
        raise shape_error("read_var", "needs a ref", ref)
    return ref.elem


def _accum_ref(ref, x):
    ref += x                # in place: the ref's buffer is the state (no outputs)
    return ()


def _store_infer(ts):
    x, v = ts
    if not isinstance(x, TensorType) or x.dtype != v.dtype or x.shape != v.shape:
        raise shape_error("assign", "the value must have the array's shape and dtype", x, v)
    return ()


def _store_ref(x, v):
    x[...] = v              # in place into the input array (no outputs)
    return ()


OpDef("new_var", _new_var_infer, lambda init: np.array(init, copy=True), "effect", NONDIFF,
      effects=Effects(allocates=True), nargs=1)
OpDef("accum", _accum_infer, _accum_ref, "effect", NONDIFF,
      effects=Effects(writes=(0,), value=1, combine="add", target="ref"), nargs=2)
OpDef("read_var", _read_infer, lambda ref: ref.copy(), "effect", NONDIFF,
      effects=Effects(reads=(0,)), nargs=1)
OpDef("store", _store_infer, _store_ref, "effect", NONDIFF,
      effects=Effects(writes=(0,), value=1, combine="replace", target="input"), nargs=2)
