"""numpy.einsum over staged values: general subscripts, implicit and explicit output, repeated
indices (diagonals), ellipsis broadcasting. Operands are folded left to right; each pairwise
contraction becomes transposes, reshapes and one (batched) matmul through BLAS, or a broadcast
multiply when nothing is summed (integers multiply and sum exactly)."""
from __future__ import annotations

import string

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep  # noqa: F401  (the docstring's return annotation resolves here)
from ..types import FLOATS
from .base import _common_dtype, as_value, astype
from .elementwise import multiply
from .nn import matmul
from .reduce import _dtype_name, sum
from .shape import broadcast_to, reshape, transpose
from .stats import diagonal


def _parse(subscripts, ndims):
    s = subscripts.replace(" ", "")
    lhs, rhs = s.split("->") if "->" in s else (s, None)
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise StageTypeError(f"einsum: {len(terms)} operand subscripts for {len(ndims)} operands")
    letters = set(c for c in s if c.isalpha())
    for c in s:
        if not (c.isalpha() or c in ".,->"):
            raise StageTypeError(f"einsum: invalid subscript character {c!r}")
    spare = [c for c in string.ascii_letters if c not in letters]
    n_ell = max([nd - (len(t) - 3) for t, nd in zip(terms, ndims) if "..." in t], default=0)
    ell = "".join(spare[:n_ell])
    out_terms = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            k = nd - (len(t) - 3)
            if k < 0:
                raise StageTypeError(f"einsum: subscripts {t!r} have too many dimensions for an "
                                     f"operand of {nd}")
            t = t.replace("...", ell[n_ell - k:])
        if len(t) != nd or "." in t:
            raise StageTypeError(f"einsum: subscripts {t!r} do not match an operand of {nd} "
                                 f"dimensions")
        out_terms.append(t)
    if rhs is None:
        counts = {c: "".join(out_terms).count(c) for c in letters}
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        rhs = rhs.replace("...", ell)
        if len(set(rhs)) != len(rhs):
            raise StageTypeError(f"einsum: output subscript {rhs!r} repeats a letter")
        missing = [c for c in rhs if c not in "".join(out_terms)]
        if missing:
            raise StageTypeError(f"einsum: output subscript {missing[0]!r} does not appear in "
                                 f"the operands")
    return out_terms, rhs


def _diagonals(x, term):
    """Repeated letters within one operand: their diagonal (``ii->i``)."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        if np.shape(x)[i] != np.shape(x)[j]:
            raise StageTypeError(f"einsum: repeated subscript {c!r} over dimensions of sizes "
                                 f"{np.shape(x)[i]} and {np.shape(x)[j]}")
        x = diagonal(x, 0, i, j)
        term = "".join(t for k, t in enumerate(term) if k not in (i, j)) + c
    return x, term


def _sum_out(x, term, keep):
    axes = tuple(k for k, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return sum(x, axes), "".join(c for c in term if c in keep)


def _pair(x, tx, y, ty, needed, sizes):
    batch = [c for c in tx if c in ty and c in needed]
    summed = [c for c in tx if c in ty and c not in needed]
    xo = [c for c in tx if c not in ty]
    yo = [c for c in ty if c not in tx]
    out_term = "".join(batch + xo + yo)
    if not summed or _dtype_name(x) not in FLOATS:
        # nothing summed (or integers): broadcast multiply, then sum the shared letters
        full = batch + xo + yo + summed
        xe = _arrange(x, tx, full)
        ye = _arrange(y, ty, full)
        r = multiply(xe, ye)
        if summed:
            r = sum(r, tuple(range(len(full) - len(summed), len(full))))
        return r, out_term
    B = int(np.prod([sizes[c] for c in batch]))
    M = int(np.prod([sizes[c] for c in xo]))
    K = int(np.prod([sizes[c] for c in summed]))
    N = int(np.prod([sizes[c] for c in yo]))
    xm = reshape(transpose(x, [tx.index(c) for c in batch + xo + summed]), (B, M, K))
    ym = reshape(transpose(y, [ty.index(c) for c in batch + summed + yo]), (B, K, N))
    r = matmul(xm[0], ym[0]) if B == 1 else matmul(xm, ym)
    return reshape(r, tuple(sizes[c] for c in out_term)), out_term


def _arrange(x, term, full):
    """x's dims put in the order of `full`, with size-1 dims for the letters it lacks."""
    present = [c for c in full if c in term]
    x = transpose(x, [term.index(c) for c in present])
    return reshape(x, tuple(np.shape(x)[present.index(c)] if c in term else 1 for c in full))


def einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe",
           optimize=False):
    if out is not None:
        raise StageTypeError("einsum: out= is not supported (staged values are immutable)")
    if not isinstance(subscripts, str):
        raise StageTypeError("einsum: only the subscripts-string form is supported")
    dt = _common_dtype(*operands) if dtype is None else dtype
    ops = [as_value(o, dt) for o in operands]
    terms, rhs = _parse(subscripts, [np.ndim(o) for o in ops])
    sizes = {}
    for o, t in zip(ops, terms):
        for c, n in zip(t, np.shape(o)):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise StageTypeError(f"einsum: subscript {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = max(sizes.get(c, 1), n)
    prepared = []
    for k, (o, t) in enumerate(zip(ops, terms)):
        o, t = _diagonals(o, t)
        target = tuple(sizes[c] for c in t)
        if np.shape(o) != target:                       # size-1 dims broadcast (ellipsis)
            o = broadcast_to(o, target)
        others = "".join(terms[:k] + terms[k + 1:]) + rhs
        o, t = _sum_out(o, t, others)
        prepared.append((o, t))
    x, tx = prepared[0]
    for k in range(1, len(prepared)):
        y, ty = prepared[k]
        needed = rhs + "".join(t for _, t in prepared[k + 1:])
        x, tx = _pair(x, tx, y, ty, needed, sizes)
    x, tx = _sum_out(x, tx, rhs)
    x = transpose(x, [tx.index(c) for c in rhs]) if len(rhs) > 1 else x
    return x if _dtype_name(x) == dt else astype(x, dt)         # (int32 sums in int64)


__all__ = ["einsum"]
