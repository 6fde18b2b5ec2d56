"""Control forms, declared in the table like every op: their type rules check their blocks.

- `cond(pred, *operands)` with blocks (then, else), each taking the operands;
- `fori_loop(lower, upper, *init)` with block body(i, *carry) -> carry;
- `while_loop(*init)` with blocks cond(*carry) -> (bool,) and body(*carry) -> carry;
  both take a static `checkpoints` (None, or k >= 1: under grad, reverse mode stores at most k
  carries and recomputes the rest, `stage.cps.checkpoint`); it changes nothing else;
- `remat(*args)` with block body(*args) -> results: runs its body (`st.checkpoint`); under grad the
  body's forward is recomputed during the backward instead of being kept;
- `fun()` with block body: binds a staged function (a closure; it may be recursive) without running
  it; its type is `FunType(body inputs, body results)`;
- `call(f, *args)` calls a staged function.

Their meaning is given by the rules each interpretation registers under these names: the
interpreter's (`stage.ir.interp`), the CPS transformation's (`stage.cps.control`) and each backend's
lowering. `CONTROL` marks them in the gradient column: they are differentiated by those CPS rules.
"""
from ..types import FunType, TensorType
from . import Effects, OpDef, shape_error

CONTROL = "control"
INDEX = TensorType("int64", ())


def _check_inputs(op, block, expect):
    got = tuple(s.type for s in block.inputs)
    if got != tuple(expect):
        raise shape_error(op, f"block takes ({', '.join(map(str, got))}), expected "
                              f"({', '.join(map(str, expect))})")


def _scalar_pred(op, t):
    if not isinstance(t, TensorType) or t.shape != () or t.dtype != "bool":
        raise shape_error(op, "the predicate must be a bool scalar", t)


def _cond_infer(ts, blocks):
    pred, *ops = ts
    _scalar_pred("cond", pred)
    then, other = blocks
    for b in blocks:
        _check_inputs("cond", b, ops)
    if then.result_types != other.result_types:
        raise shape_error("cond", "the branches return different types",
                          *then.result_types, *other.result_types)
    return then.result_types


def _check_checkpoints(op, k):
    if k is not None and (type(k) is not int or k < 1):
        raise shape_error(op, f"checkpoints must be None or an int >= 1, not {k!r}")


def _fori_infer(ts, blocks, checkpoints=None):
    _check_checkpoints("fori_loop", checkpoints)
    lo, hi, *init = ts
    for b in (lo, hi):
        if b != INDEX:
            raise shape_error("fori_loop", "bounds must be int64 scalars", lo, hi)
    (body,) = blocks
    _check_inputs("fori_loop", body, [INDEX] + init)
    if list(body.result_types) != init:
        raise shape_error("fori_loop", "the body must return the carry's types",
                          *init, *body.result_types)
    return tuple(init)


def _while_infer(ts, blocks, checkpoints=None):
    _check_checkpoints("while_loop", checkpoints)
    cond, body = blocks
    _check_inputs("while_loop", cond, ts)
    _check_inputs("while_loop", body, ts)
    if len(cond.result) != 1:
        raise shape_error("while_loop", "the condition must return one value")
    _scalar_pred("while_loop", cond.result_types[0])
    if list(body.result_types) != list(ts):
        raise shape_error("while_loop", "the body must return the carry's types",
                          *ts, *body.result_types)
    return tuple(ts)


def _remat_infer(ts, blocks):
    (body,) = blocks
    _check_inputs("remat", body, ts)
    return body.result_types


def _fun_infer(ts, blocks, name=None):
    (body,) = blocks
    return FunType(tuple(s.type for s in body.inputs), body.result_types)


def _call_infer(ts):
    f, *args = ts
    if not isinstance(f, FunType) or tuple(args) != f.inputs:
        raise shape_error("call", f"arguments do not match the function type {f}", *args)
    return f.outputs


OpDef("cond", _cond_infer, None, "control", CONTROL, blocks=("then", "else"))
OpDef("fori_loop", _fori_infer, None, "control", CONTROL, blocks=("body",), loop_carries=(2, 1))
OpDef("while_loop", _while_infer, None, "control", CONTROL, blocks=("cond", "body"),
      loop_carries=(0, 0))
OpDef("remat", _remat_infer, None, "control", CONTROL, blocks=("body",))
OpDef("fun", _fun_infer, None, "closure", CONTROL, blocks=("body",), nargs=0)
OpDef("call", _call_infer, None, "call", CONTROL, effects=Effects(unknown=True))
