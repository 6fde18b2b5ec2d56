"""Staged loops: `while` with a staged test, `for` over a staged range or a staged array's rows.

The loop body is a function of the carried variables (those live at the loop's head). Their staged
leaves and Python numbers go through `st.while_loop` / `st.fori_loop` (a Python number carried by a
staged loop is a weakly typed staged scalar: `loss = 0.0` takes the dtype the body gives it); other
Python values must not change from one iteration to the next. A `break` or converted `return` makes
the loop a `while_loop` whose test also reads the flag.
"""
from __future__ import annotations

import operator
from typing import Callable, List, Tuple

from .. import pytree
from ..control import _as_pred, fori_loop, while_loop
from ..ir import functions as F
from ..ir.graph import StageError, reify
from ..ir.rep import Rep
from .values import (RETVAL, Undefined, copy_containers, kind, placeholder, same_static, template,
                     type_of)


# ------------------------------------------------------------------------------------------ ranges

def _bound(x, what):
    if isinstance(x, Rep):
        if x.shape != () or x.dtype not in ("int32", "int64"):
            raise StageError(f"range() {what} must be an integer scalar, not a staged {x.type}")
        return F.astype(x, "int64")
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"range() {what} must be an integer, not {type(x).__name__}") from None


class StagedRange:
    """`range(start, stop, step)` with a staged bound: only a `for` loop of converted code uses it."""

    def __init__(self, *args):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range expected 1 to 3 arguments, got {len(args)}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else \
            (args[0], args[1], 1) if len(args) == 2 else args
        self.start, self.stop = _bound(start, "start"), _bound(stop, "stop")
        self.step = _bound(step, "step")
        if not isinstance(self.step, Rep) and self.step == 0:
            raise ValueError("range() arg 3 must not be zero")

    @property
    def unit(self) -> bool:
        return not isinstance(self.step, Rep) and self.step == 1

    def count(self):
        """The number of items, `max(0, ceil((stop - start) / step))`, as a staged int64."""
        if self.unit:
            return F.maximum(F.as_rep(self.stop) - self.start, 0)
        return F.maximum(-((F.as_rep(self.start) - self.stop) // self.step), 0)

    def item(self, k):
        return self.start + k if self.unit else self.start + k * self.step

    def __reversed__(self):
        last = self.item(self.count() - 1)
        return StagedRange(last, self.start - self.step, -self.step)

    def __iter__(self):
        raise StageError("a range with staged bounds drives a `for` loop of converted code only "
                         "(it has no Python items)")

    def __len__(self):
        raise StageError("the length of a range with staged bounds is staged: use its bounds")

    def __repr__(self):
        return f"range({self.start!r}, {self.stop!r}, {self.step!r})"


class StagedRows:
    """`enumerate(xs)` / `zip(xs, ys, ...)` over staged arrays, staged ranges or these (nested): a
    staged loop whose item k is `(start + k, xs[k])` / `(xs[k], ys[k], ...)`."""

    def __init__(self, sources, enumerate_start=None, single=False):
        for s in sources:
            if isinstance(s, Rep) and s.ndim == 0:
                raise StageError("iteration over a 0-d staged value")
        self.sources, self.start, self.single = sources, enumerate_start, single
        counts = [s.shape[0] if isinstance(s, Rep) else s.range.stop if isinstance(s, StagedRows)
                  else s.count() for s in sources]
        static = [c for c in counts if not isinstance(c, Rep)]
        staged = [c for c in counts if isinstance(c, Rep)]
        n = min(static) if static else None
        for c in staged:
            n = c if n is None else F.minimum(c, n)
        self.range = StagedRange(0, n)

    def item(self, k):
        rows = tuple(s[k] if isinstance(s, Rep) else s.item(k) for s in self.sources)
        if self.single:
            return rows[0]
        return (self.start + k, rows[0]) if self.start is not None else rows

    def __iter__(self):
        raise StageError("enumerate/zip over staged values drives a `for` loop of converted code "
                         "only")


# ------------------------------------------------------------------------------------------ carries

def _describe_type(shape, dtype):
    return f"a staged {dtype} array of shape {shape}" if shape else f"a staged {dtype} scalar"


class Carry:
    """The carried variables of one staged loop: staged leaves through the loop, static ones fixed."""

    def __init__(self, values, names, site, what):
        self.names, self.site, self.what = names, site, what
        self.tds, self.leaves, self.dyn, self.types = [], [], [], []
        for i, v in enumerate(values):
            leaves, td = pytree.flatten(v)
            flags = []
            for leaf in leaves:
                k = kind(leaf)
                if k == "undefined":
                    raise self._no_value(i)
                flags.append(k in ("staged", "number"))
                if k == "staged":
                    self.types.append(type_of(leaf) + (False,))
                elif k == "number":
                    self.types.append(((), None, True))
            self.tds.append(td)
            self.leaves.append(leaves)
            self.dyn.append(flags)

    def _no_value(self, i):
        return StageError(
            f"{self.names[i]!r} has no value before the staged `{self.what}` loop at {self.site}, "
            f"but the loop reads it (in a later iteration, or after the loop): give it a value "
            f"before the loop")

    def _changed(self, i, before, after, why):
        return StageError(f"{self.names[i]!r} is {before} before the staged `{self.what}` loop at "
                          f"{self.site} and {after} after an iteration: {why}")

    def init(self) -> tuple:
        return tuple(x for leaves, flags in zip(self.leaves, self.dyn)
                     for x, d in zip(leaves, flags) if d)

    def unpack(self, dyn) -> tuple:
        it = iter(dyn)
        return tuple(pytree.unflatten(td, [next(it) if d else x for x, d in zip(leaves, flags)])
                     for td, leaves, flags in zip(self.tds, self.leaves, self.dyn))

    def pack(self, values) -> tuple:
        """Check one iteration's results against the carry; return their staged leaves."""
        out: List = []
        types = iter(self.types)
        for i, v in enumerate(values):
            leaves, td = pytree.flatten(v)
            if td != self.tds[i]:
                if td is pytree.LEAF and isinstance(leaves[0], Undefined):
                    raise self._no_value(i)
                raise self._changed(i, f"structured {self.tds[i]}", f"{td}",
                                    "a staged loop keeps the structure of its variables")
            for new, old, d in zip(leaves, self.leaves[i], self.dyn[i]):
                if not d:
                    if not same_static(new, old):
                        raise self._changed(i, repr(old), repr(new), "only arrays and numbers can "
                                            "change in a staged loop")
                    continue
                shape, dtype, weak = next(types)
                k = kind(new)
                if k == "staged":
                    s2, d2 = type_of(new)
                    if s2 != shape or (d2 != dtype and not weak):
                        before = "a Python number" if weak else _describe_type(shape, dtype)
                        raise self._changed(i, before, _describe_type(s2, d2), "a staged loop's "
                                            "variables keep their shape and dtype")
                elif k != "number":
                    raise self._changed(i, "an array or number", repr(new),
                                        "a staged loop's variables keep their kind")
                out.append(new)
        return tuple(out)


def _return_placeholders(values, names, site, what, run_once: Callable):
    """A value for a `retval__` not assigned before the loop: trace one iteration aside (the block
    is dropped) to learn the type a `return` inside the loop gives it, and start from zeros."""
    missing = [i for i, v in enumerate(values) if isinstance(v, Undefined) and names[i] == RETVAL]
    if not missing:
        return values
    found = {}

    def probe():
        outs = run_once(copy_containers(values))
        for i in missing:
            if not isinstance(outs[i], Undefined):
                found[i] = template(outs[i])
        return []
    reify(probe, [])
    if len(found) < len(missing):
        raise StageError(f"the type of the value returned inside the staged `{what}` loop at "
                         f"{site} cannot be inferred")
    values = list(values)
    for i in missing:
        values[i] = placeholder(found[i])
    return tuple(values)


# ------------------------------------------------------------------------------------------ loops

def staged_while(test, body, values, names, site) -> Tuple:
    values = _return_placeholders(values, names, site, "while", lambda v: body(*v))
    carry = Carry(values, names, site, "while")
    if not carry.init():
        raise StageError(f"the `while` loop at {site} has a staged test but changes no array or "
                         f"number the test reads: it would never end")
    out = while_loop(lambda c: test(*carry.unpack(c)),
                     lambda c: carry.pack(body(*carry.unpack(c))), carry.init())
    return carry.unpack(out)


def staged_for(iterable, body, values, names, site, extra=None) -> Tuple:
    """`for` over a `StagedRange`, the rows of a staged array (`xs[k]` for a staged k), or
    `enumerate`/`zip` of those (`StagedRows`)."""
    if isinstance(iterable, Rep):
        if iterable.ndim == 0:
            raise StageError(f"iteration over a 0-d staged value (at {site})")
        iterable = StagedRows([iterable], single=True)
    if isinstance(iterable, StagedRows):
        rng, item = iterable.range, iterable.item
        direct = item
    else:
        rng = iterable
        item, direct = rng.item, (lambda i: i)
    values = _return_placeholders(values, names, site, "for", lambda v: body(item(0), *v))
    carry = Carry(values, names, site, "for")

    def step(x, c):
        return carry.pack(body(x, *carry.unpack(c)))
    if extra is None and rng.unit:          # the loop index is the item (or the row's index)
        out = fori_loop(rng.start, rng.stop, lambda i, c: step(direct(i), c), carry.init())
    elif extra is None:
        out = fori_loop(0, rng.count(), lambda k, c: step(item(k), c), carry.init())
    else:                                    # may stop early: a while loop over (k, carry...)
        n = rng.count()

        def test(c):
            return F.logical_and(c[0] < n, _as_pred(extra(*carry.unpack(c[1:]))))
        out = while_loop(test, lambda c: (c[0] + 1,) + step(item(c[0]), c[1:]),
                         (0,) + carry.init())[1:]
    return carry.unpack(out)
