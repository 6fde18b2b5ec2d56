"""Refs: mutable buffers that carry gradients across staged scopes (the `.d` of a value that a
continuation, branch or loop body accumulates into). `new_var` allocates one, `accum` adds into it
(a write effect), `read_var` reads it once every write is done."""
from ..types import RefType, TensorType
from . import NONDIFF, OpDef, shape_error


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


def _new_var_cpp(lw, node):
    return lw.new_ref(node.sym, node.args[0])


def _accum_cpp(lw, node):
    if id(node) in lw.effect_group:
        return lw.group_into(node)
    return lw.accumulate_into(node.args[0], node.args[1])


OpDef("new_var", _new_var_infer, lambda init: init.copy(), "effect", _new_var_cpp, NONDIFF,
      pure=False, nargs=1)
OpDef("accum", _accum_infer, _accum_ref, "effect", _accum_cpp, NONDIFF, pure=False, nargs=2)
OpDef("read_var", _read_infer, lambda ref: ref.copy(), "effect",
      lambda lw, node: lw.alias(node.sym, node.args[0]), NONDIFF, pure=False, nargs=1)


def _store_infer(ts):
    x, v = ts
    if not isinstance(x, TensorType) or x.dtype != v.dtype or x.shape != v.shape:
        raise shape_error("assign", "the value must have the array's shape and dtype", x, v)
    return ()


def _store_ref(x, v):
    x[...] = v              # in place into the input array (no outputs)
    return ()


def _store_cpp(lw, node):
    if id(node) in lw.effect_group:
        return lw.group_into(node)
    return lw.store_into(node.args[0], node.args[1])


# Write a value into an input array of the compiled function, in place (parameters and optimizer
# state updated by a training step). It must be the input's last use.
OpDef("store", _store_infer, _store_ref, "effect", _store_cpp, NONDIFF, pure=False, nargs=2)
