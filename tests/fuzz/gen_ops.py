"""Generators of straight-line statements, one per family of the op table: elementwise ones here,
whole-array ones in gen_arrays.py, and their mix `OPGENS`. Each takes the program generator `g` (its
scope, random source and input factory, see gen.py), picks well-typed arguments (creating inputs
when nothing in scope fits) and returns the statements it made, or None when it does not apply.
Result shapes come from NumPy itself (broadcast_shapes, or the op evaluated on empty stand-ins), so
the expected types follow NumPy semantics rather than stage's own rules."""
from __future__ import annotations

import numpy as np

from .features import enabled
from .gen_arrays import (argmax, concat, creation, getitem, inner_grad, matmul, nn, pad, reduction,
                         scatter_add, take, view)
from .gen_nn import activation, attention, conv, norm, pool
from .gen_numpy import elementwise, scan

FLOAT = "float64"


def unary(g):
    a = g.float_var()
    ops = ["neg", "tanh", "sigmoid", "sin", "cos", "exp", "square", "abs", "relu", "log", "sqrt",
           "clip"]
    if enabled("nondiff"):
        ops += ["floor", "sign", "stop_gradient"]
    return [g.op(g.choice(ops), [a], a.shape, g.fdt)]


def scalar_op(g):
    if not enabled("scalars"):
        return None
    a = g.float_var()
    c = float(g.choice([0.5, -1.5, 2.0, 3.0]))
    op = g.choice(["smul", "sadd", "rsub", "sdiv", "cmul", "cadd"])
    if op in ("cmul", "cadd"):
        shape = g.variant(a.shape)
        return [g.op(op, [a], np.broadcast_shapes(a.shape, shape), g.fdt, c=c, shape=shape)]
    return [g.op(op, [a], a.shape, g.fdt, c=c)]


def binary(g):
    a = g.float_var()
    b = g.var_of(g.variant(a.shape), g.fdt)
    if g.rng.random() < 0.5:
        a, b = b, a
    op = g.choice(["add", "sub", "mul", "div", "maximum", "minimum", "power"])
    return [g.op(op, [a, b], np.broadcast_shapes(a.shape, b.shape), g.fdt)]


def compare(g):
    if not enabled("nondiff"):
        return None
    a = g.float_var()
    if g.rng.random() < 0.4:
        return [g.op("gtc", [a], a.shape, "bool", c=float(g.choice([0.0, 0.5, -0.5])))]
    b = g.var_of(g.variant(a.shape), g.fdt)
    op = g.choice(["lt", "gt", "le", "ge", "eq", "ne"])
    return [g.op(op, [a, b], np.broadcast_shapes(a.shape, b.shape), "bool")]


def logic(g):
    if not enabled("nondiff"):
        return None
    a = g.pick(lambda v: v.dtype == "bool")
    if a is None:
        return compare(g)
    if g.rng.random() < 0.3:
        return [g.op("not", [a], a.shape, "bool")]
    b = g.var_of(g.variant(a.shape), "bool")
    return [g.op(g.choice(["and", "or"]), [a, b], np.broadcast_shapes(a.shape, b.shape), "bool")]


def where(g):
    a = g.float_var()
    c = g.pick(lambda v: v.dtype == "bool" and _bcasts(v.shape, a.shape)) or \
        g.var_of(g.variant(a.shape), "bool")
    bshape = g.variant(a.shape)
    b = g.var_of(bshape if _bcasts(bshape, c.shape) else a.shape, g.fdt)
    if g.rng.random() < 0.5:
        a, b = b, a
    return [g.op("where", [c, a, b], np.broadcast_shapes(c.shape, a.shape, b.shape), g.fdt)]


def _bcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def ints(g):
    if not enabled("ints"):
        return None
    r = g.rng.random()
    if r < 0.15:
        a = g.float_var()
        return [g.op("to_int", [a], a.shape, "int64")]
    if r < 0.3:
        a = g.pick(lambda v: v.dtype in ("int64", "bool")) or g.int_var()
        return [g.op("to_float", [a], a.shape, g.fdt)]
    a = g.int_var()
    op = g.choice(["iadd", "isub", "imulc", "ineg", "ifloordiv", "imod", "imax", "lt", "ge"])
    if op in ("iadd", "isub", "imax", "lt", "ge"):
        b = g.var_of(g.variant(a.shape), "int64")
        dt = "bool" if op in ("lt", "ge") else "int64"
        return [g.op(op, [a, b], np.broadcast_shapes(a.shape, b.shape), dt)]
    c = int(g.choice([2, 3, -2]))
    return [g.op(op, [a], a.shape, "int64", **({} if op == "ineg" else {"c": c}))]


# (weight, generator): the mix of straight-line statements
OPGENS = [(6, unary), (3, scalar_op), (6, binary), (2, compare), (1, logic), (2, where), (2, ints),
          (4, reduction), (1, argmax), (4, matmul), (5, view), (4, getitem), (2, take), (2, concat),
          (1, pad), (1, scatter_add), (2, nn), (1, creation), (1, inner_grad), (2, elementwise),
          (3, scan), (2, conv), (2, pool), (1, norm), (1, attention), (1, activation)]
